"""The Audit Trail API client: JWT login with a reusable token, pacing, retries and clear errors.

Built on the ``ringcentral`` SDK (its Platform and request building) with its HTTP client
replaced (see transport). What the SDK lacks is added here: tokens restored from and saved to a
TokenStore, refresh or re-login before expiry and once on a 401, the Heavy group's budget, bounded
jittered retries, and error messages that name the fix and never carry a secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, TypeVar

import requests
from ringcentral.http.api_exception import ApiException
from ringcentral.platform import Platform
from ringcentral.platform.events import Events

from . import __version__
from .clock import Clock, SystemClock
from .errors import (
    SECRETS,
    AuditTrailError,
    AuthError,
    ConnectionFailed,
    PermissionDenied,
    RateLimitExceeded,
    RequestRejected,
    ServiceError,
    TlsFailed,
    mask,
)
from .ports import JsonDict, TokenStore
from .ratelimit import RateGate, retry_after
from .retry import Backoff
from .settings import Account, Connection
from .transport import SessionClient

SEARCH_PATH = "/restapi/v1.0/account/~/audit-trail/search"
TOKEN_MARGIN = 300.0  # refresh or log in again this long before the access token expires
TOKEN_CACHE_VERSION = 1
T = TypeVar("T")


class Stopped(Exception):
    """A stop was requested (SIGTERM) or the run's time is up while waiting: end cleanly."""


class SearchPage(NamedTuple):
    records: List[Dict[str, Any]]
    paging: Optional[Dict[str, Any]]


@dataclass
class ClientStats:
    requests: int = 0  # search requests sent
    logins: int = 0
    refreshes: int = 0
    rate_limited: int = 0
    retries: int = 0


class _Retryable(Exception):
    def __init__(self, error: AuditTrailError) -> None:
        super().__init__(error.message)
        self.error = error


class _Unauthorized(Exception):
    def __init__(self, error: AuditTrailError) -> None:
        super().__init__(error.message)
        self.error = error


class _RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds:g} s")
        self.seconds = seconds


class AuditTrailClient:
    def __init__(
        self,
        account: Account,
        connection: Optional[Connection] = None,
        *,
        tokens: Optional[TokenStore] = None,
        clock: Optional[Clock] = None,
        logger: Optional[logging.Logger] = None,
        backoff: Optional[Backoff] = None,
        max_rate_limited: int = 5,
    ) -> None:
        self.account = account
        self.connection = connection or Connection()
        self.clock = clock or SystemClock()
        self.log = logger or logging.getLogger("ringcentral_audit")
        self.backoff = backoff or Backoff()
        self.max_rate_limited = max_rate_limited
        self.stats = ClientStats()
        self.heavy = RateGate(limit=10, window=60.0)
        self.auth_gate = RateGate(limit=5, window=60.0)
        self.deadline: Optional[float] = None  # waits that would end after this raise Stopped
        self.context = ""  # prefix for log lines, e.g. "input=name"
        self._tokens = tokens
        self._http = SessionClient(self.connection)
        self._platform = Platform(
            self._http,
            account.client_id,
            account.client_secret,
            account.server_url,
            "TA-ringcentral-audit",
            __version__,
        )
        # The SDK refreshes lazily on its own; keep whatever it gets (refresh tokens are single-use).
        self._platform.on(Events.refreshSuccess, lambda *_: self._token_received(refreshed=True))
        self._expires_at = 0.0
        self._refresh_expires_at = 0.0
        self._restored = tokens is None

    # ----- tokens -------------------------------------------------------------------------

    def ensure_token(self) -> None:
        """A usable access token: restored, refreshed or obtained with the JWT, in that order."""
        if not self._restored:
            self._restored = True
            self._restore()
        now = self.clock.now()
        if self._platform.auth().access_token() and self._expires_at - now > TOKEN_MARGIN:
            return
        if self._platform.auth().refresh_token() and self._refresh_expires_at - now > 60:
            try:
                self._with_retries(self._refresh, "token refresh", self.auth_gate)
                return
            except AuthError as error:
                self.log.info(
                    "action=token_refresh_failed %s reason=%r: logging in with the JWT",
                    self.context,
                    error.message,
                )
        self.login()

    def login(self) -> None:
        self._with_retries(self._login, "login", self.auth_gate)

    def token_scope(self) -> str:
        return str(self._platform.auth().data().get("scope") or "")

    def revoke(self) -> None:
        """Best effort: end the session this client holds (used after a save-time validation)."""
        token = self._platform.auth().access_token()
        if not token:
            return
        try:
            self._platform._request_token("/restapi/oauth/revoke", body={"token": token})
        except ApiException:
            self.log.info("action=token_revoke_failed %s", self.context)
        self._platform.auth().reset()

    def close(self) -> None:
        self._http.close()

    def _login(self) -> None:
        self._platform.login(jwt=self.account.jwt)
        self.stats.logins += 1
        self._token_received()

    def _refresh(self) -> None:
        if not self._platform.auth().refresh_token_valid():
            # the SDK would raise a bare Exception; ensure_token logs in with the JWT instead
            raise AuthError("The refresh token has expired.")
        self._platform.refresh()  # triggers refreshSuccess -> _token_received

    def _token_received(self, refreshed: bool = False) -> None:
        data = self._platform.auth().data()
        SECRETS.add(data.get("access_token"))
        SECRETS.add(data.get("refresh_token"))
        now = self.clock.now()
        self._expires_at = now + float(data.get("expires_in") or 0)
        refresh_ttl = float(data.get("refresh_token_expires_in") or 0)
        self._refresh_expires_at = now + refresh_ttl if data.get("refresh_token") else 0.0
        if refreshed:
            self.stats.refreshes += 1
        if self._tokens is None:
            return
        try:
            self._tokens.save(
                {
                    "version": TOKEN_CACHE_VERSION,
                    "fingerprint": self.account.fingerprint(),
                    "expires_at": self._expires_at,
                    "refresh_expires_at": self._refresh_expires_at,
                    "auth": data,
                }
            )
        except Exception as error:  # noqa: BLE001 - an unsaved token costs a login, not the run
            self.log.warning(
                "action=token_cache_unwritable %s error=%s: the next run logs in again",
                self.context,
                type(error).__name__,
            )

    def _restore(self) -> None:
        assert self._tokens is not None
        try:
            cached = self._tokens.load()
        except Exception as error:  # noqa: BLE001 - a broken cache costs one login, not the run
            self.log.warning(
                "action=token_cache_unreadable %s error=%r",
                self.context,
                SECRETS.redact(type(error).__name__),
            )
            return
        if not isinstance(cached, dict) or cached.get("version") != TOKEN_CACHE_VERSION:
            return
        if cached.get("fingerprint") != self.account.fingerprint():
            return  # the account's credentials changed since: start afresh
        auth = cached.get("auth")
        if not isinstance(auth, dict):
            return
        SECRETS.add(auth.get("access_token"))
        SECRETS.add(auth.get("refresh_token"))
        self._platform.auth().set_data(auth)
        self._expires_at = float(cached.get("expires_at") or 0)
        self._refresh_expires_at = float(cached.get("refresh_expires_at") or 0)

    def _forget_access_token(self) -> None:
        self._expires_at = 0.0

    # ----- search -------------------------------------------------------------------------

    def search(self, body: JsonDict) -> SearchPage:
        """One page of audit records; retries what may pass, raises AuditTrailError otherwise."""
        reauthenticated = False
        while True:
            self.ensure_token()
            try:
                return self._with_retries(lambda: self._search_once(body), "search", self.heavy)
            except _Unauthorized as unauthorized:
                if reauthenticated:
                    raise unauthorized.error from None
                reauthenticated = True
                self.log.info(
                    "action=reauthenticate %s reason=%r", self.context, unauthorized.error.message
                )
                self._forget_access_token()

    def _search_once(self, body: JsonDict) -> SearchPage:
        self.stats.requests += 1
        response = self._platform.post(SEARCH_PATH, body).response()
        try:
            payload = response.json()
        except ValueError:
            raise _Retryable(
                ServiceError(
                    f"RingCentral answered the audit trail search with a malformed or truncated "
                    f"body (HTTP {response.status_code}, {len(response.content)} bytes)."
                )
            ) from None
        records = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise _Retryable(
                ServiceError(
                    "RingCentral answered the audit trail search without a list of records."
                )
            )
        paging = payload.get("paging")
        return SearchPage(records, paging if isinstance(paging, dict) else None)

    # ----- the retry loop -----------------------------------------------------------------

    def _with_retries(self, call: Callable[[], T], what: str, gate: RateGate) -> T:
        failures = 0
        limited = 0
        while True:
            self._wait(gate.delay(self.clock.now()), what)
            gate.sent(self.clock.now())
            try:
                try:
                    result = call()
                except ApiException as error:
                    raise self._classify(error, what) from None
                except requests.RequestException as error:
                    raise self._transport_error(error, what) from None
            except _RateLimited as limit:
                limited += 1
                self.stats.rate_limited += 1
                self._observe_latest(gate)
                gate.penalize(limit.seconds, self.clock.now())
                self.log.warning(
                    "action=rate_limited %s group=%s retry_after_s=%g",
                    self.context,
                    "auth" if gate is self.auth_gate else "heavy",
                    limit.seconds,
                )
                if limited > self.max_rate_limited:
                    raise RateLimitExceeded(
                        f"RingCentral kept refusing the {what} as over its rate limit "
                        f"({limited} times in a row). Another application may be using the same "
                        "user's API budget; the next run continues where this one stopped."
                    ) from None
                continue
            except _Retryable as retryable:
                failures += 1
                if failures >= self.backoff.attempts:
                    raise retryable.error from None
                wait = self.backoff.delay(failures - 1)
                self.stats.retries += 1
                self.log.warning(
                    "action=retry %s attempt=%d reason=%r wait_s=%.1f",
                    self.context,
                    failures,
                    retryable.error.message,
                    wait,
                )
                self._wait(wait, what)
                continue
            self._observe_latest(gate)
            return result

    def _wait(self, seconds: float, what: str) -> None:
        if seconds <= 0:
            return
        if self.deadline is not None and self.clock.now() + seconds > self.deadline:
            raise Stopped(f"the run's time ends before the {what} may be sent")
        if not self.clock.sleep(seconds):
            raise Stopped("stop requested")

    def _observe_latest(self, gate: RateGate) -> None:
        if self._http.last_response is not None:
            gate.observe(self._http.last_response.headers, self.clock.now())

    # ----- error mapping ------------------------------------------------------------------

    def _transport_error(self, error: BaseException, what: str) -> Exception:
        server = self.account.server_url
        if isinstance(error, requests.exceptions.SSLError):
            return TlsFailed(
                f"TLS verification with {server} failed ({_reason(error)}). If a proxy "
                "inspects TLS traffic, set the account's CA bundle path to a PEM file with its "
                "CA certificate."
            )
        proxy = self.connection.proxy
        socks = proxy is not None and proxy.type.startswith("socks")
        if isinstance(error, requests.exceptions.ProxyError) or (
            socks and isinstance(error, requests.exceptions.ConnectionError)
        ):
            assert proxy is not None
            refused = _proxy_auth_refused(error)
            failure = ConnectionFailed(
                f"Could not connect through the configured {proxy.where()} ({_reason(error)}): "
                + (
                    "check the proxy username and password on the Proxy tab."
                    if refused
                    else "check the proxy host, port, type and credentials on the Proxy tab."
                )
            )
            return failure if refused else _Retryable(failure)
        if isinstance(error, requests.exceptions.ReadTimeout):
            return _Retryable(
                ServiceError(
                    f"RingCentral did not answer the {what} within "
                    f"{self.connection.read_timeout:g} s."
                )
            )
        if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return _Retryable(
                ConnectionFailed(
                    f"Could not reach {server} ({_reason(error)}): check the server URL, DNS, "
                    "firewall and proxy settings."
                )
            )
        return _Retryable(ServiceError(f"The {what} failed in transit ({_reason(error)})."))

    def _classify(self, error: ApiException, what: str) -> Exception:
        api_response = error.api_response()
        response = api_response.response() if api_response is not None else None
        if response is None:
            cause = error.__context__ or error.__cause__
            if isinstance(cause, requests.RequestException):
                return self._transport_error(cause, what)
            return _Retryable(ServiceError(f"The {what} failed: {type(cause).__name__}."))
        status = response.status_code
        codes, message, oauth_error = _error_details(response)
        code = codes[0] if codes else oauth_error or ""
        detail = (
            f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        )
        if status == 429:
            return _RateLimited(retry_after(response.headers))
        if status == 407:  # the proxy's answer, not RingCentral's (plain-http servers only)
            where = self.connection.proxy.where() if self.connection.proxy else "proxy"
            return ConnectionFailed(
                f"The {where} refused the credentials (HTTP 407): check the proxy username "
                "and password on the Proxy tab."
            )
        if status >= 500:
            return _Retryable(
                ServiceError(f"RingCentral had a server error on the {what} ({detail}).", code=code)
            )
        if what in ("login", "token refresh"):
            return _token_error(status, codes, oauth_error, detail, self.account)
        if status == 401:
            return _Unauthorized(
                AuthError(
                    f"RingCentral did not accept the access token ({detail}) even after logging "
                    "in again: check the JWT and the app's credentials.",
                    code=code,
                    status=status,
                )
            )
        if status == 403 or set(codes) & {"CMN-401", "CMN-408", "CMN-402"}:
            return _permission_error(codes, message, detail, what)
        if status == 404:
            return RequestRejected(
                f"The server has no audit trail endpoint ({detail}): check the server URL.",
                code=code,
                status=status,
            )
        return RequestRejected(f"RingCentral rejected the {what} ({detail}).", code=code)


def _permission_error(codes: List[str], message: str, detail: str, what: str) -> Exception:
    """CMN-401 "application needs to have [X] permission" is the app's scope; CMN-408 "user needs
    to have [X] permission" and CMN-402 are the user's role. The wording decides when present."""
    text = message.lower()
    app = "application needs" in text or ("CMN-401" in codes and "user needs" not in text)
    if app:
        return PermissionDenied(
            f"The RingCentral app lacks the ReadAuditTrail permission ({detail}): add "
            "'Read Audit Trail' to the app's permissions in the developer console, then save "
            "the account again.",
            code=codes[0] if codes else None,
        )
    if "user needs" in text or set(codes) & {"CMN-408", "CMN-402"}:
        return PermissionDenied(
            f"The RingCentral user behind the JWT may not read the audit trail ({detail}): give "
            "the user the Super Admin role or a role with the 'Audit Trail' permission.",
            code=codes[0] if codes else None,
        )
    return PermissionDenied(
        f"RingCentral refused the {what} ({detail}).", code=codes[0] if codes else None
    )


def _token_error(
    status: int, codes: List[str], oauth_error: str, detail: str, account: Account
) -> Exception:
    if oauth_error == "invalid_client" or "OAU-146" in codes or status == 401:
        return AuthError(
            f"RingCentral refused the client ID or client secret ({detail}): copy both again "
            f"from the app's Credentials page (client ID {mask(account.client_id)}).",
            status=status,
        )
    if oauth_error == "unauthorized_client" or "OAU-112" in codes:
        return AuthError(
            f"The RingCentral app may not use the JWT grant ({detail}): choose 'JWT auth flow' "
            "in the app's Auth settings in the developer console.",
            status=status,
        )
    if oauth_error == "invalid_grant":
        return AuthError(
            f"RingCentral refused the JWT credential ({detail}): it is invalid, expired, revoked "
            "or not allowed for this app. Generate a new JWT and update the account.",
            status=status,
        )
    return AuthError(f"RingCentral refused the login ({detail}).", status=status)


def _error_details(response: requests.Response) -> Tuple[List[str], str, str]:
    """(errorCodes, first message, OAuth error) from both RingCentral error body shapes."""
    try:
        body = response.json()
    except ValueError:
        return [], "", ""
    if not isinstance(body, dict):
        return [], "", ""
    codes: List[str] = []
    messages: List[str] = []
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            if item.get("errorCode"):
                codes.append(str(item["errorCode"]))
            if item.get("message"):
                text = str(item["message"])
                if item.get("parameterName"):
                    text += f" (parameter {item['parameterName']})"
                messages.append(text)
    if body.get("errorCode") and str(body["errorCode"]) not in codes:
        codes.append(str(body["errorCode"]))
    if body.get("message"):
        messages.append(str(body["message"]))
    if body.get("error_description"):
        messages.append(str(body["error_description"]))
    oauth_error = str(body.get("error") or "")
    return codes, SECRETS.redact(messages[0], limit=300) if messages else "", oauth_error


def _proxy_auth_refused(error: BaseException) -> bool:
    """Whether a proxy failure is a refusal of its credentials (retrying cannot help)."""
    text = str(error).lower()
    return "407" in text or "authentication" in text


def _reason(error: BaseException) -> str:
    """A short cause without URLs (which may carry proxy credentials) or request headers."""
    text = SECRETS.redact(str(error))
    for marker in ("Caused by ", "(Caused by"):
        if marker in text:
            text = text.split(marker, 1)[1]
    return SECRETS.redact(type(error).__name__ + ": " + text.strip(" ()'\""), limit=300)


def page_body(
    start: str, end: str, page: int, per_page: int, action_ids: Any = (), exclude: Any = ()
) -> JsonDict:
    body: JsonDict = {"eventTimeFrom": start, "eventTimeTo": end, "page": page, "perPage": per_page}
    if action_ids:
        body["actionIds"] = list(action_ids)
    if exclude:
        body["excludeActionIds"] = list(exclude)
    return body
