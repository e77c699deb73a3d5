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
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import quote, urlsplit

from .errors import SECRETS, ConfigError
from .timeutil import format_time

SERVERS = {
    "production": "https://platform.ringcentral.com",
    "sandbox": "https://platform.devtest.ringcentral.com",
}
RETENTION_DAYS = 180
MIN_INTERVAL = 60
MAX_INTERVAL = 86400
MAX_LAG = 3600
MAX_OVERLAP = 86400
DEFAULT_RECONCILE_DAYS = 7
DEFAULT_RECONCILE_PERCENT = 10.0


# The setup page's rules (globalConfig.json), written so that Python's re and the browser's
# RegExp read them alike: ASCII classes only ([0-9], not \d, which is Unicode in Python), and
# matched against the whole value: "$(?!\n)", since Python's $ also matches before a final
# newline (JavaScript's does not; the lookahead changes nothing there).
def whole(core: str) -> str:
    """A page pattern that matches ``core`` against the whole value, in Python and JavaScript."""
    return "^(?:" + core + r")$(?!\n)"


START_DATE_CORE = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(?:[Zz]|[+-]00:?00)?)?"
)
ACTION_IDS_CORE = r"[ ,;]*[A-Za-z0-9_.:-]{1,128}([ ,;]+[A-Za-z0-9_.:-]{1,128})*[ ,;]*"
PROXY_HOST_CORE = r"[A-Za-z0-9._:\[\]-]+"
NAME_CORE = r"[A-Za-z][A-Za-z0-9_]{0,99}"
CUSTOM_URL_CORE = (
    r"(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?|http://(localhost|127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
    r"|\[::1\])(:[0-9]{1,5})?)/?"
)
CUSTOM_URL_PATTERN = whole(CUSTOM_URL_CORE)
START_DATE_PATTERN = whole(START_DATE_CORE)
ACTION_IDS_PATTERN = whole(ACTION_IDS_CORE)
PROXY_HOST_PATTERN = whole(PROXY_HOST_CORE)
NAME_PATTERN = whole(NAME_CORE)
_START_DATE = re.compile(START_DATE_CORE)
_ACTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_ACTION_SEPARATORS = re.compile(r"[ ,;]+")
_PROXY_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]{1,4096}")
_NAME = re.compile(NAME_CORE)
_CUSTOM_URL = re.compile(CUSTOM_URL_CORE)
_INDEX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Control characters (C0, DEL, C1, line and paragraph separators): a newline in a conf value
# starts a new line of the file, or a new stanza.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
BOOLEANS = {"1": True, "true": True, "0": False, "false": False}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PROXY_TYPES = ("http", "socks4", "socks5")
SERVER_CHOICES = ("production", "sandbox", "custom")


@dataclass(frozen=True)
class Account:
    server_url: str
    client_id: str
    client_secret: str = field(repr=False)
    jwt: str = field(repr=False)

    def __post_init__(self) -> None:
        SECRETS.add_pair(self.client_id, self.client_secret)  # the SDK's Basic header
        SECRETS.add(self.jwt)
        # The client ID is where a client secret is most often pasted by mistake, and a server
        # that refuses it may echo it: messages name it masked (errors.mask), logs never in full.
        SECRETS.add(self.client_id)

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
        SECRETS.add_pair(self.username, self.password)  # the Proxy-Authorization header

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
    # Reconciliation of the past (issue 15): finished days counted again once a day, for this
    # many days back (0 = off), spending at most this share (percent) of the Heavy budget.
    reconcile_days: int = DEFAULT_RECONCILE_DAYS
    reconcile_budget_percent: float = DEFAULT_RECONCILE_PERCENT


def server_url(server: str, custom_url: str = "") -> str:
    """The base URL for a server choice: production, sandbox, or a custom https URL."""
    choice = (server or "production").strip(" ").lower()
    if choice in SERVERS:
        return SERVERS[choice]
    if choice != "custom" and not custom_url:
        custom_url = server
    return check_base_url(custom_url)


def check_base_url(url: str) -> str:
    url = (url or "").strip(" ").rstrip("/")
    if "@" in url:
        _refuse_userinfo(url, "Server URL", "the account's Client ID, Client secret and JWT fields")
    shown = _shown(url)
    if not _CUSTOM_URL.fullmatch(url):
        raise ConfigError(
            f"Custom server URL (custom_server_url) {shown!r} must be an https URL of a server "
            "without a path (letters, digits, . and - in its name), e.g. "
            "https://platform.ringcentral.com."
        )
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port
    except ValueError:
        hostname = None
    if not parts.scheme or not hostname:
        raise ConfigError(
            f"Custom server URL (custom_server_url) {shown!r} is not a URL: enter e.g. https://platform.ringcentral.com"
        )
    if parts.scheme == "http" and _is_loopback(hostname):
        return url  # plain HTTP only for a local test server
    if parts.scheme != "https":
        raise ConfigError(
            f"Custom server URL (custom_server_url) {shown!r} must start with https://"
        )
    if parts.path or parts.query or parts.fragment:
        raise ConfigError(
            f"Custom server URL (custom_server_url) {shown!r} must be the server only, without a path "
            "(e.g. https://platform.ringcentral.com)"
        )
    return url


def _shown(text: str, limit: int = 200) -> str:
    """A value as a message may quote it: redacted, then cut (in that order)."""
    return SECRETS.redact(text, limit=limit)


def text_field(raw: Mapping[str, Any], key: str, label: str, limit: int = 4096) -> str:
    """A non-secret text value, surrounding spaces removed; ConfigError naming the field if it
    holds a control character (a newline would start a new line or stanza of the conf file)
    or is longer than ``limit``."""
    value = raw.get(key)
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        raise ConfigError(
            f"{label} ({key}) contains a control character such as a line break: enter it on "
            "one line."
        )
    if len(text) > limit:
        raise ConfigError(f"{label} ({key}) is longer than {limit} characters.")
    return text.strip(" ")


def parse_bool(raw: Mapping[str, Any], key: str, label: str, default: bool) -> bool:
    """A checkbox: 1, 0, true or false (as Splunk writes them, any case); absent or empty is
    ``default``; anything else is refused, never read as off."""
    value = raw.get(key)
    if isinstance(value, bool):
        return value
    text = text_field(raw, key, label, limit=5).lower()
    if not text:
        return default
    if text not in BOOLEANS:
        raise ConfigError(f"{label} ({key}) must be 1 or 0 (true or false): tick or clear it.")
    return BOOLEANS[text]


def parse_name(value: Any, what: str) -> str:
    """An account or input name as the page accepts it: a letter, then letters, digits and _."""
    text = "" if value is None else str(value)
    if not _NAME.fullmatch(text):
        raise ConfigError(
            f"{what} name must begin with a letter and contain only letters, digits and "
            "underscores (at most 100 characters)."
        )
    return text


def parse_log_level(raw: Optional[Mapping[str, Any]]) -> str:
    """The Logging tab's level; absent or empty is INFO, anything not a level is refused."""
    text = text_field(raw or {}, "loglevel", "Log level", limit=10)
    if not text:
        return "INFO"
    if text not in LOG_LEVELS:
        raise ConfigError(f"Log level (loglevel) must be one of {', '.join(LOG_LEVELS)}.")
    return text


def parse_collection_events(raw: Mapping[str, Any]) -> bool:
    """The input's "Collection events" box: on unless it says 0 or false."""
    return parse_bool(raw, "collection_events", "Collection events", default=True)


def _refuse_userinfo(value: str, what: str, where: str) -> None:
    """Refuse ``user:password@`` inside a URL or host: the password is registered as a secret
    first (so no message or log shows it), and the message says where credentials belong."""
    head = value.rsplit("@", 1)[0]
    userinfo = head.split("://", 1)[-1]
    SECRETS.add(userinfo)
    for piece in userinfo.split(":"):
        SECRETS.add(piece)
    raise ConfigError(
        f"{what} must not contain a user name or password (user:password@): remove it; "
        f"credentials belong in {where}."
    )


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
    client_id = text_field(raw, "client_id", "Client ID", limit=200)
    secret = str(raw.get("client_secret") or "").strip()
    jwt = str(raw.get("jwt") or "").strip()
    # Registered before any check, so that no refusal below can carry them.
    SECRETS.add_pair(client_id, secret)
    SECRETS.add(jwt)
    SECRETS.add(client_id)  # see Account
    if not client_id:
        raise ConfigError(
            "Client ID is empty: copy it from the RingCentral app's Credentials page."
        )
    if not secret:
        raise ConfigError(
            "Client secret is empty: copy it from the RingCentral app's Credentials page."
        )
    check_jwt(jwt, now)
    server = text_field(raw, "server", "Server", limit=20)
    if server and server not in SERVER_CHOICES:
        raise ConfigError("Server (server) must be production, sandbox or custom.")
    url = server_url(server, text_field(raw, "custom_server_url", "Custom server URL", 2048))
    return Account(server_url=url, client_id=client_id, client_secret=secret, jwt=jwt)


def parse_proxy(raw: Optional[Mapping[str, Any]]) -> Optional[Proxy]:
    """A Proxy from the proxy tab's stanza, or None when it is disabled or has no host.

    Every field is checked whether or not the proxy is enabled, so a damaged value (a newline,
    a word where a box belongs) stops the input with its name instead of silently turning the
    proxy off: a configured proxy is never bypassed.
    """
    if not raw:
        return None
    enabled = parse_bool(raw, "proxy_enabled", "Proxy Enable", default=True)
    remote_dns = parse_bool(raw, "proxy_rdns", "Proxy DNS resolution", default=True)
    username = text_field(raw, "proxy_username", "Proxy Username", limit=50) or None
    password = str(raw.get("proxy_password") or "") or None
    SECRETS.add_pair(username, password)
    host = text_field(raw, "proxy_url", "Proxy Host")
    if "@" in host:
        _refuse_userinfo(
            host, "Proxy host", "the Proxy tab's Username and Password fields (stored encrypted)"
        )
    if host and not _PROXY_HOST.fullmatch(host):
        raise ConfigError(
            "Proxy host (proxy_url) must be a host name or IP address only, without scheme, port or path "
            "(letters, digits and . - : [ ] only): correct it on the Proxy tab."
        )
    kind = text_field(raw, "proxy_type", "Proxy Type", limit=10) or "http"
    if kind not in PROXY_TYPES:
        raise ConfigError("Proxy Type (proxy_type) must be http, socks4 or socks5.")
    port_text = text_field(raw, "proxy_port", "Proxy Port", limit=10)
    port = int(port_text) if _DIGITS.fullmatch(port_text) and len(port_text) <= 5 else 0
    if port_text and not 1 <= port <= 65535:
        raise ConfigError("Proxy port (proxy_port) must be a whole number from 1 to 65535.")
    if not enabled or not host:
        return None
    if not port:
        raise ConfigError("Proxy port (proxy_port) must be a whole number from 1 to 65535.")
    return Proxy(
        host=host,
        port=port,
        type=kind,
        username=username,
        password=password,
        remote_dns=remote_dns,
    )


def parse_connection(
    account: Mapping[str, Any], proxy: Optional[Mapping[str, Any]] = None
) -> Connection:
    """How to reach RingCentral for an account stanza (its optional ca_bundle_path) and the
    proxy tab's stanza."""
    path = text_field(account, "ca_bundle_path", "CA bundle path", limit=1024)
    verify: Union[bool, str] = True
    if path:
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConfigError(
                f"CA bundle path {_shown(path)!r} is not a readable file on this Splunk instance: give "
                "the full path of a PEM file, or leave it empty to trust the usual public CAs."
            )
        verify = path
    return Connection(proxy=parse_proxy(proxy), verify=verify)


def _seconds(raw: Mapping[str, Any], key: str, low: int, high: int, whole: bool) -> Optional[float]:
    """A number of seconds from ``low`` to ``high``, spelled as the setup page accepts it:
    ASCII digits (and, unless ``whole``, one decimal point); never nan, inf or an exponent."""
    text = text_field(raw, key, key, limit=64)
    if not text:
        return None
    pattern = _DIGITS if whole else _DECIMAL
    # whole numbers: at most 5 digits, as the page's pattern ([0-9]{1,5}) spells them
    longest = 5 if whole else 32
    value = float(text) if pattern.fullmatch(text) and len(text) <= longest else math.nan
    if not (math.isfinite(value) and low <= value <= high):
        kind = "a whole number of seconds" if whole else "a number of seconds"
        raise ConfigError(
            f"{key} must be between {low} and {high} seconds, written as {kind} "
            f"(digits only), not {_shown(text, 40)!r}."
        )
    return value


def _number(raw: Mapping[str, Any], key: str, default: float, low: int, high: int) -> float:
    value = _seconds(raw, key, low, high, whole=True)
    return default if value is None else value


def _action_ids(raw: Mapping[str, Any], key: str) -> Tuple[str, ...]:
    """The actionIds of ``key``, as the page's ACTION_IDS_PATTERN (and 4096-character limit)
    accept them: ids of letters, digits and _ . : -, separated by commas, semicolons or spaces."""
    text = text_field(raw, key, key, limit=4096)
    items = [part for part in _ACTION_SEPARATORS.split(text) if part]
    for item in items:
        if not _ACTION_ID.fullmatch(item):
            raise ConfigError(
                f"{key}: {_shown(item, 60)!r} is not an actionId (letters, digits and _ . : - "
                "only, e.g. CHANGE_USER_ROLE); separate several with commas."
            )
    if text.strip() and not items:
        raise ConfigError(
            f"{key} holds separators but no actionId: enter actionIds such as CHANGE_USER_ROLE, "
            "or leave it empty."
        )
    return tuple(dict.fromkeys(items))


def parse_start_date(text: str, now: float) -> Optional[float]:
    """The input's start date: empty for all the history the API holds, else a date or time in UTC.

    Exactly the forms the setup page accepts (``START_DATE_PATTERN``), parsed field by field:
    ``datetime.fromisoformat`` accepts different forms on Python 3.9 and 3.11+.
    A date older than the API's retention is accepted here (a run clamps it and warns); saving
    one is refused by :func:`validate_input_settings`.
    """
    text = (text or "").strip(" ")
    if not text:
        return None
    match = _START_DATE.fullmatch(text)
    start: Optional[float] = None
    if match:
        year, month, day, hour, minute, second, fraction = match.group(1, 2, 3, 4, 5, 6, 7)
        try:
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=timezone.utc,
            )
            start = round(moment.timestamp() + float("0." + (fraction or "0")), 3)
        except (ValueError, OverflowError):
            start = None
    if start is None:
        raise ConfigError(
            f"start_date {_shown(text, 60)!r} is not a date: use YYYY-MM-DD or an ISO 8601 UTC "
            "time such as 2026-01-31T00:00:00Z, or leave it empty for all history RingCentral "
            "still holds."
        )
    if start > now:
        raise ConfigError(f"start_date {format_time(start)} is in the future.")
    return start


def parse_input_settings(name: str, raw: Mapping[str, Any], now: float) -> InputSettings:
    """InputSettings from an input stanza; ConfigError names the field and the fix."""
    parse_name(name, "Input")
    for key, label in (("account", "Account"), ("index", "Index")):
        value = text_field(raw, key, label, limit=100)
        if key == "account" and value:
            parse_name(value, "Account")
        if key == "index" and value and not _INDEX.fullmatch(value):
            raise ConfigError(
                "Index (index) must be an index name: letters, digits, _ and -, not starting "
                "with _ or -."
            )
    parse_collection_events(raw)
    interval = text_field(raw, "interval", "Interval", limit=64)
    if interval and _DECIMAL.fullmatch(interval) and float(interval) < MIN_INTERVAL:
        raise ConfigError(
            f"interval must be at least {MIN_INTERVAL} seconds: the Audit Trail API allows "
            "10 requests a minute and is not meant to be polled more often."
        )
    _seconds(raw, "interval", MIN_INTERVAL, MAX_INTERVAL, whole=False)
    include = _action_ids(raw, "action_ids")
    exclude = _action_ids(raw, "exclude_action_ids")
    both = sorted(set(include) & set(exclude))
    if both:
        raise ConfigError(
            f"actionIds {', '.join(both)} are both included and excluded: remove them from one list."
        )
    return InputSettings(
        name=name,
        start=parse_start_date(text_field(raw, "start_date", "start_date", limit=64), now),
        lag=_number(raw, "lag_seconds", 60.0, 0, MAX_LAG),
        overlap=_number(raw, "overlap_seconds", 600.0, 0, MAX_OVERLAP),
        action_ids=include,
        exclude_action_ids=exclude,
        **_reconcile(raw),
    )


def _reconcile(raw: Mapping[str, Any]) -> Dict[str, Any]:
    """The reconciliation settings (absent or empty: the defaults)."""
    return {
        "reconcile_days": int(
            _whole(raw, "reconcile_days", DEFAULT_RECONCILE_DAYS, 0, RETENTION_DAYS - 1, "days")
        ),
        "reconcile_budget_percent": _whole(
            raw, "reconcile_budget_percent", DEFAULT_RECONCILE_PERCENT, 1, 50, "percent"
        ),
    }


def _whole(
    raw: Mapping[str, Any], key: str, default: float, low: int, high: int, unit: str
) -> float:
    text = text_field(raw, key, key, limit=64)
    if not text:
        return default
    if not (_DIGITS.fullmatch(text) and len(text) <= 3 and low <= int(text) <= high):
        raise ConfigError(
            f"{key} must be a whole number of {unit} from {low} to {high} (digits only), "
            f"not {_shown(text, 40)!r}."
        )
    return float(text)


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
