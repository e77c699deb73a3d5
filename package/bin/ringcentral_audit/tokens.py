"""The access token's life: restored from the TokenStore, refreshed or renewed with the JWT before
it expires, saved after each change.

The token requests are sent here, not through the SDK's login/refresh, because those trust the
answer: an HTML page (a captive portal, a TLS-inspecting proxy) ends in a bare "Response is not
JSON" and a wrong-typed ``expires_in`` in a TypeError. Answers are checked, and searches carry the
token themselves (the SDK never refreshes behind this class's back).
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, Optional

from ringcentral.http.api_exception import ApiException
from ringcentral.platform import Platform

from .answers import decode
from .errors import SECRETS, AuthError, ServiceError
from .httperrors import Retryable, not_json
from .policy import RequestPolicy
from .ports import TokenStore
from .settings import Account

TOKEN_PATH = "/restapi/oauth/token"  # noqa: S105 - a URL path
REVOKE_PATH = "/restapi/oauth/revoke"
TOKEN_MARGIN = 300.0  # refresh or log in again this long before the access token expires
TOKEN_CACHE_VERSION = 1
ACCESS_TTL = 3600
REFRESH_TTL = 604800
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenKeeper:
    def __init__(
        self,
        account: Account,
        platform: Platform,
        policy: RequestPolicy,
        store: Optional[TokenStore],
    ) -> None:
        self.account = account
        self.policy = policy
        self._platform = platform
        self._store = store
        self._expires_at = 0.0
        self._refresh_expires_at = 0.0
        self._restored = store is None

    def ensure(self) -> None:
        """A usable access token: restored, refreshed or obtained with the JWT, in that order."""
        if not self._restored:
            self._restored = True
            self._restore()
        now = self.policy.clock.now()
        if self._auth().access_token() and self._expires_at - now > TOKEN_MARGIN:
            return
        if self._auth().refresh_token() and self._refresh_expires_at - now > 60:
            try:
                self.policy.run(self._refresh, "token refresh", self.policy.auth_gate)
                return
            except AuthError as error:
                self.policy.log.info(
                    "action=token_refresh_failed %s reason=%r: logging in with the JWT",
                    self.policy.context,
                    # the token answer's message speaks of the JWT; this was the refresh token
                    f"RingCentral refused the refresh token (HTTP {error.status})"
                    if error.status
                    else error.message,
                )
        self.login()

    def login(self) -> None:
        self.policy.run(self._login, "login", self.policy.auth_gate)

    def header(self) -> str:
        """The Authorization header for the current access token."""
        return f"{self._auth().token_type() or 'Bearer'} {self._auth().access_token()}"

    def scope(self) -> str:
        return str(self._auth().data().get("scope") or "")

    def forget_access_token(self) -> None:
        self._expires_at = 0.0

    def revoke(self) -> None:
        """Best effort: end the session this client holds (used after a save-time validation)."""
        token = self._auth().access_token()
        if not token:
            return
        try:
            self._platform._request_token(REVOKE_PATH, body={"token": token})
        except ApiException:
            self.policy.log.info("action=token_revoke_failed %s", self.policy.context)
        self._auth().reset()

    # ----- the two token requests ---------------------------------------------------------

    def _login(self) -> None:
        answer = self._platform._request_token(
            TOKEN_PATH, body={"grant_type": JWT_GRANT, "assertion": self.account.jwt}
        )
        self._received(self._read(answer, "login"))
        self.policy.stats.logins += 1

    def _refresh(self) -> None:
        if not self._auth().refresh_token_valid():
            # by the SDK's own clock; ensure() logs in with the JWT instead
            raise AuthError("The refresh token has expired.")
        answer = self._platform._request_token(
            TOKEN_PATH,
            body={
                "grant_type": "refresh_token",
                "refresh_token": self._auth().refresh_token(),
                "access_token_ttl": ACCESS_TTL,
                "refresh_token_ttl": REFRESH_TTL,
            },
        )
        self._received(self._read(answer, "token refresh"))
        self.policy.stats.refreshes += 1

    def _read(self, answer: Any, what: str) -> Dict[str, Any]:
        """The token answer's fields, checked; Retryable with what to do when unusable."""
        response = answer.response()
        try:
            data = json.loads(decode(response.content))
        except (ValueError, RecursionError):
            raise not_json(response, what, self.account, self.policy.connection) from None
        auth = usable_auth(data) if isinstance(data, dict) else None
        if auth is None:
            raise Retryable(
                ServiceError(
                    f"The token endpoint of {self.account.server_url} answered the {what} "
                    "without a usable access token and lifetime: check that the server URL is "
                    "RingCentral's and that no proxy rewrites its answers."
                )
            )
        return auth

    def _received(self, data: Dict[str, Any]) -> None:
        SECRETS.add(data.get("access_token"))
        SECRETS.add(data.get("refresh_token"))
        self._auth().set_data(data)
        now = self.policy.clock.now()
        self._expires_at = now + float(data["expires_in"])
        refresh_ttl = float(data.get("refresh_token_expires_in") or 0)
        self._refresh_expires_at = now + refresh_ttl if data.get("refresh_token") else 0.0
        if self._store is None:
            return
        try:
            self._store.save(
                {
                    "version": TOKEN_CACHE_VERSION,
                    "fingerprint": self.account.fingerprint(),
                    "expires_at": self._expires_at,
                    "refresh_expires_at": self._refresh_expires_at,
                    "auth": self._auth().data(),
                }
            )
        except Exception as error:  # noqa: BLE001 - an unsaved token costs a login, not the run
            self.policy.log.warning(
                "action=token_cache_unwritable %s error=%s: the next run logs in again",
                self.policy.context,
                type(error).__name__,
            )

    def _restore(self) -> None:
        assert self._store is not None
        try:
            cached = self._store.load()
        except Exception as error:  # noqa: BLE001 - a broken cache costs one login, not the run
            self.policy.log.warning(
                "action=token_cache_unreadable %s error=%r",
                self.policy.context,
                SECRETS.redact(type(error).__name__),
            )
            return
        if not isinstance(cached, dict) or cached.get("version") != TOKEN_CACHE_VERSION:
            return
        if cached.get("fingerprint") != self.account.fingerprint():
            return  # the account's credentials changed since: start afresh
        raw = cached.get("auth")
        auth = usable_auth(raw) if isinstance(raw, dict) else None
        expires_at = _number(cached.get("expires_at"))
        refresh_expires_at = _number(cached.get("refresh_expires_at"))
        if auth is None or expires_at is None:
            return  # a cache of the wrong shape costs one login
        SECRETS.add(auth.get("access_token"))
        SECRETS.add(auth.get("refresh_token"))
        self._auth().set_data(auth)
        self._expires_at = expires_at
        self._refresh_expires_at = refresh_expires_at or 0.0

    def _auth(self) -> Any:
        return self._platform.auth()


def usable_auth(data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The token fields the SDK may be given (right types only), or None without a token."""
    token = data.get("access_token")
    expires_in = _number(data.get("expires_in"))
    if not isinstance(token, str) or not token or expires_in is None or expires_in <= 0:
        return None
    auth: Dict[str, Any] = {"access_token": token, "expires_in": expires_in}
    for key in ("token_type", "scope", "owner_id", "refresh_token"):
        if isinstance(data.get(key), str):
            auth[key] = data[key]
    for key in ("refresh_token_expires_in", "expire_time", "refresh_token_expire_time"):
        value = _number(data.get(key))
        if value is not None:
            auth[key] = value
    return auth


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
