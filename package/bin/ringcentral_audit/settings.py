"""Account, connection and input settings: parsed once, validated with messages that say what to fix.

The same checks run when an admin saves a setup page and when a run starts, so a bad value is
refused before it can cost an API call or move a checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import quote, urlsplit

from .errors import SECRETS, ConfigError
from .timeutil import format_time, parse_time

SERVERS = {
    "production": "https://platform.ringcentral.com",
    "sandbox": "https://platform.devtest.ringcentral.com",
}
RETENTION_DAYS = 180
MIN_INTERVAL = 60
_ACTION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


@dataclass(frozen=True)
class Account:
    server_url: str
    client_id: str
    client_secret: str = field(repr=False)
    jwt: str = field(repr=False)

    def __post_init__(self) -> None:
        SECRETS.add(self.client_secret)
        SECRETS.add(self.jwt)

    def fingerprint(self) -> str:
        """A one-way digest of the credentials: a cached token is reused only for the same ones."""
        digest = hashlib.sha256(
            "\n".join((self.server_url, self.client_id, self.client_secret, self.jwt)).encode()
        )
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    type: str = "http"
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    remote_dns: bool = True

    def __post_init__(self) -> None:
        SECRETS.add(self.password)

    def url(self) -> str:
        scheme = {
            "http": "http",
            "socks4": "socks4a" if self.remote_dns else "socks4",
            "socks5": "socks5h" if self.remote_dns else "socks5",
        }[self.type]
        auth = ""
        if self.username:  # always "user:password@": requests drops a user without a colon
            auth = quote(self.username, safe="") + ":" + quote(self.password or "", safe="") + "@"
        return f"{scheme}://{auth}{self.host}:{self.port}"

    def where(self) -> str:
        """The proxy as an admin entered it, without credentials: for messages."""
        return f"{self.type} proxy {self.host}:{self.port}"

    def for_requests(self) -> Dict[str, str]:
        url = self.url()
        SECRETS.add(url)
        return {"http": url, "https": url}


@dataclass(frozen=True)
class Connection:
    """How to reach RingCentral: proxy, TLS verification (True or a CA bundle path), timeouts."""

    proxy: Optional[Proxy] = None
    verify: Union[bool, str] = True
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


@dataclass(frozen=True)
class InputSettings:
    name: str
    start: Optional[float] = None  # epoch seconds; None = the oldest record the API still holds
    lag: float = 60.0
    overlap: float = 600.0
    action_ids: Tuple[str, ...] = ()
    exclude_action_ids: Tuple[str, ...] = ()
    max_run_seconds: float = 3300.0


def server_url(server: str, custom_url: str = "") -> str:
    """The base URL for a server choice: production, sandbox, or a custom https URL."""
    choice = (server or "production").strip().lower()
    if choice in SERVERS:
        return SERVERS[choice]
    if choice != "custom" and not custom_url:
        custom_url = server
    return check_base_url(custom_url)


def check_base_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise ConfigError(
            f"Server URL {url!r} is not a URL: enter e.g. https://platform.ringcentral.com"
        )
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return url  # plain HTTP only for a local test server
    if parts.scheme != "https":
        raise ConfigError(f"Server URL {url!r} must start with https://")
    if parts.path or parts.query or parts.fragment:
        raise ConfigError(
            f"Server URL {url!r} must be the server only, without a path "
            "(e.g. https://platform.ringcentral.com)"
        )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwt(jwt: str, now: float) -> None:
    """Refuse what cannot be a RingCentral JWT credential, or one that has already expired."""
    token = (jwt or "").strip()
    if not token:
        raise ConfigError("The JWT credential is empty: paste the JWT generated in RingCentral.")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise ConfigError(
            "The JWT credential is malformed (expected three dot-separated parts): copy the whole "
            "JWT from the RingCentral developer console, Credentials page."
        )
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        raise ConfigError(
            "The JWT credential is malformed (its payload is not base64url JSON): copy the whole "
            "JWT from the RingCentral developer console."
        ) from None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, (int, float)) and exp <= now:
        raise ConfigError(
            f"The JWT credential expired on {format_time(exp)}: generate a new JWT in the "
            "RingCentral developer console and update the account."
        )


def parse_account(raw: Mapping[str, Any], now: float) -> Account:
    """An Account from a setup-page stanza (server, custom_server_url, client_id, client_secret, jwt)."""
    client_id = str(raw.get("client_id") or "").strip()
    secret = str(raw.get("client_secret") or "").strip()
    jwt = str(raw.get("jwt") or "").strip()
    if not client_id:
        raise ConfigError(
            "Client ID is empty: copy it from the RingCentral app's Credentials page."
        )
    if not secret:
        raise ConfigError(
            "Client secret is empty: copy it from the RingCentral app's Credentials page."
        )
    check_jwt(jwt, now)
    url = server_url(str(raw.get("server") or ""), str(raw.get("custom_server_url") or ""))
    return Account(server_url=url, client_id=client_id, client_secret=secret, jwt=jwt)


def parse_proxy(raw: Optional[Mapping[str, Any]]) -> Optional[Proxy]:
    """A Proxy from the proxy tab's stanza, or None when it is disabled or empty."""
    if not raw or not _truthy(raw.get("proxy_enabled", "1")) or not raw.get("proxy_url"):
        return None
    kind = str(raw.get("proxy_type") or "http").lower()
    if kind not in ("http", "socks4", "socks5"):
        raise ConfigError(f"Proxy type {kind!r} is not supported: choose http, socks4 or socks5.")
    try:
        port = int(str(raw.get("proxy_port") or ""))
    except ValueError:
        raise ConfigError("Proxy port must be a number from 1 to 65535.") from None
    if not 1 <= port <= 65535:
        raise ConfigError("Proxy port must be a number from 1 to 65535.")
    return Proxy(
        host=str(raw["proxy_url"]).strip(),
        port=port,
        type=kind,
        username=str(raw.get("proxy_username") or "") or None,
        password=str(raw.get("proxy_password") or "") or None,
        remote_dns=_truthy(raw.get("proxy_rdns", "1")),
    )


def parse_connection(
    account: Mapping[str, Any], proxy: Optional[Mapping[str, Any]] = None
) -> Connection:
    """How to reach RingCentral for an account stanza (its optional ca_bundle_path) and the
    proxy tab's stanza."""
    path = str(account.get("ca_bundle_path") or "").strip()
    verify: Union[bool, str] = True
    if path:
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConfigError(
                f"CA bundle path {path!r} is not a readable file on this Splunk instance: give "
                "the full path of a PEM file, or leave it empty to trust the usual public CAs."
            )
        verify = path
    return Connection(proxy=parse_proxy(proxy), verify=verify)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "t", "y", "on")


def _number(raw: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    text = str(raw.get(key) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{key} must be a number of seconds, not {text!r}.") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g} seconds, not {text}.")
    return value


def _action_ids(raw: Mapping[str, Any], key: str) -> Tuple[str, ...]:
    items = [part for part in re.split(r"[\s,;]+", str(raw.get(key) or "")) if part]
    for item in items:
        if not _ACTION_ID.match(item):
            raise ConfigError(
                f"{key}: {item!r} is not an actionId (letters, digits and _ only, "
                "e.g. CHANGE_USER_ROLE); separate several with commas."
            )
    return tuple(dict.fromkeys(items))


def parse_start_date(text: str, now: float) -> Optional[float]:
    """The input's start date: empty for all the history the API holds, else a date or time in UTC.

    A date older than the API's retention is accepted here (a run clamps it and warns); saving
    one is refused by :func:`validate_input_settings`.
    """
    text = (text or "").strip()
    if not text:
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        text += "T00:00:00Z"
    start = parse_time(text)
    if start is None:
        raise ConfigError(
            f"start_date {text!r} is not a date: use YYYY-MM-DD or an ISO 8601 UTC time such as "
            "2026-01-31T00:00:00Z, or leave it empty for all history RingCentral still holds."
        )
    if start > now:
        raise ConfigError(f"start_date {format_time(start)} is in the future.")
    return start


def parse_input_settings(name: str, raw: Mapping[str, Any], now: float) -> InputSettings:
    """InputSettings from an input stanza; ConfigError names the field and the fix."""
    interval = str(raw.get("interval") or "").strip()
    if interval:
        try:
            seconds = float(interval)
        except ValueError:
            raise ConfigError(
                f"interval must be a number of seconds (at least {MIN_INTERVAL}), not {interval!r}."
            ) from None
        if seconds < MIN_INTERVAL:
            raise ConfigError(
                f"interval must be at least {MIN_INTERVAL} seconds: the Audit Trail API allows "
                "10 requests a minute and is not meant to be polled more often."
            )
    include = _action_ids(raw, "action_ids")
    exclude = _action_ids(raw, "exclude_action_ids")
    both = sorted(set(include) & set(exclude))
    if both:
        raise ConfigError(
            f"actionIds {', '.join(both)} are both included and excluded: remove them from one list."
        )
    return InputSettings(
        name=name,
        start=parse_start_date(str(raw.get("start_date") or ""), now),
        lag=_number(raw, "lag_seconds", 60.0, 0, 3600),
        overlap=_number(raw, "overlap_seconds", 600.0, 0, 86400),
        action_ids=include,
        exclude_action_ids=exclude,
    )


def validate_input_settings(name: str, raw: Mapping[str, Any], now: float) -> InputSettings:
    """What saving an input checks: everything a run checks, and a start date the API still holds."""
    settings = parse_input_settings(name, raw, now)
    oldest = now - RETENTION_DAYS * 86400
    if settings.start is not None and settings.start < oldest:
        raise ConfigError(
            f"start_date {format_time(settings.start)} is older than RingCentral keeps audit "
            f"records ({RETENTION_DAYS} days, so not before {format_time(oldest)[:10]}): leave "
            "it empty to collect all the history RingCentral still holds."
        )
    return settings


def utc_now() -> float:
    return datetime.now(timezone.utc).timestamp()
