"""What a failed exchange with RingCentral means, as an error an admin can act on.

Pure mapping: an SDK ``ApiException`` or a ``requests`` exception in, an AuditTrailError (or one
of the retry signals below, which RequestPolicy acts on) out. Every message names the fix and
never carries a secret.
"""

from __future__ import annotations

import re
from typing import List, Tuple

import requests
from ringcentral.http.api_exception import ApiException

from .errors import (
    SECRETS,
    AuditTrailError,
    AuthError,
    ConnectionFailed,
    PermissionDenied,
    RequestRejected,
    ServiceError,
    TlsFailed,
    mask,
)
from .ratelimit import retry_after
from .settings import Account, Connection
from .transport import WallClockExceeded

TOKEN_CALLS = ("login", "token refresh")


class Stopped(Exception):
    """A stop was requested (SIGTERM) or the run's time is up while waiting: end cleanly."""


class Retryable(Exception):
    """May pass on its own: RequestPolicy retries it a bounded number of times."""

    def __init__(self, error: AuditTrailError) -> None:
        super().__init__(error.message)
        self.error = error


class Unauthorized(Exception):
    """The access token was refused: the client logs in again once, then gives ``error``."""

    def __init__(self, error: AuditTrailError) -> None:
        super().__init__(error.message)
        self.error = error


class RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds:g} s")
        self.seconds = seconds


def not_json(
    response: requests.Response,
    what: str,
    account: Account,
    connection: Connection,
    detail: str = "",
) -> Exception:
    """An answer that should be JSON and is not: a portal or a proxy answering in RingCentral's
    place (an HTML page, a redirect), or a malformed or truncated body."""
    server = account.server_url
    kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
    status = response.status_code
    head = response.content[:512].lstrip().lower()
    html = kind == "text/html" or head.startswith((b"<!doctype", b"<html"))
    if html or 300 <= status < 400:
        via = f"the configured {connection.proxy.where()}" if connection.proxy else "no proxy"
        shape = f"a redirect (HTTP {status})" if 300 <= status < 400 else "an HTML page"
        return Retryable(
            ConnectionFailed(
                f"The {what} at {server} was answered with {shape} (HTTP {status}, {kind}) "
                "instead of RingCentral's JSON: something between Splunk and RingCentral "
                "answers in its place - a captive portal, a web filter or a TLS-inspecting "
                f"proxy (this input uses {via}). Check the server URL, allow this host to reach "
                "RingCentral, or configure the proxy on the Proxy tab."
            )
        )
    return Retryable(
        ServiceError(
            f"RingCentral answered the {what} with a malformed or truncated body (HTTP "
            f"{status}, {kind}, {len(response.content)} bytes"
            + (f": {detail}" if detail else "")
            + "); it is retried, and the next run continues where this one stopped. If this "
            "persists, check the server URL and any proxy between Splunk and RingCentral."
        )
    )


def transport_error(
    error: BaseException, what: str, account: Account, connection: Connection
) -> Exception:
    server = account.server_url
    if isinstance(error, WallClockExceeded):
        if error.run_ended:
            return Stopped(f"the run's time ended while waiting for the {what}")
        return Retryable(
            ServiceError(
                f"The answer to the {what} did not arrive in full within {error.seconds:g} s "
                "(it came too slowly, or stalled): RingCentral or a proxy on the way is "
                "overloaded; the next attempt or run continues where this one stopped."
            )
        )
    if isinstance(error, requests.exceptions.SSLError):
        return TlsFailed(
            f"TLS verification with {server} failed ({reason(error)}). If a proxy "
            "inspects TLS traffic, set the account's CA bundle path to a PEM file with its "
            "CA certificate."
        )
    proxy = connection.proxy
    socks = proxy is not None and proxy.type.startswith("socks")
    if isinstance(error, requests.exceptions.ProxyError) or (
        socks and isinstance(error, requests.exceptions.ConnectionError)
    ):
        assert proxy is not None
        refused = _proxy_auth_refused(error)
        failure = ConnectionFailed(
            f"Could not connect through the configured {proxy.where()} ({reason(error)}): "
            + (
                "check the proxy username and password on the Proxy tab."
                if refused
                else "check the proxy host, port, type and credentials on the Proxy tab."
            )
        )
        return failure if refused else Retryable(failure)
    if isinstance(error, requests.exceptions.ReadTimeout):
        return Retryable(
            ServiceError(
                f"RingCentral did not answer the {what} within {connection.read_timeout:g} s."
            )
        )
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return Retryable(
            ConnectionFailed(
                f"Could not reach {server} ({reason(error)}): check the server URL, DNS, "
                "firewall and proxy settings."
            )
        )
    return Retryable(ServiceError(f"The {what} failed in transit ({reason(error)})."))


def classify(error: ApiException, what: str, account: Account, connection: Connection) -> Exception:
    api_response = error.api_response()
    response = api_response.response() if api_response is not None else None
    if response is None:
        cause = error.__context__ or error.__cause__
        if isinstance(cause, requests.RequestException):
            return transport_error(cause, what, account, connection)
        return Retryable(
            ServiceError(
                f"The {what} failed ({type(cause).__name__}); it is retried, and the next run "
                "continues where this one stopped. If this persists, check the server URL and "
                "the proxy settings."
            )
        )
    status = response.status_code
    codes, message, oauth_error = _error_details(response)
    code = codes[0] if codes else oauth_error or ""
    detail = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status == 429:
        return RateLimited(retry_after(response.headers))
    if status == 407:  # the proxy's answer, not RingCentral's (plain-http servers only)
        where = connection.proxy.where() if connection.proxy else "proxy"
        return ConnectionFailed(
            f"The {where} refused the credentials (HTTP 407): check the proxy username "
            "and password on the Proxy tab."
        )
    if status >= 500:
        return Retryable(
            ServiceError(
                f"RingCentral had a server error on the {what} ({detail}); it is retried, and "
                "the next run continues where this one stopped. If it persists, check "
                "https://status.ringcentral.com.",
                code=code,
            )
        )
    if not codes and not oauth_error and response.content.lstrip()[:1] == b"<":
        return not_json(response, what, account, connection)
    if what in TOKEN_CALLS:
        return _token_error(status, codes, oauth_error, detail, account)
    if status == 401:
        return Unauthorized(
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
    return AuthError(
        f"RingCentral refused the login ({detail}): check the account's server, client ID, "
        "client secret and JWT.",
        status=status,
    )


def _error_details(response: requests.Response) -> Tuple[List[str], str, str]:
    """(errorCodes, first message, OAuth error) from both RingCentral error body shapes."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return [], "", ""
    if not isinstance(body, dict):
        return [], "", ""
    codes: List[str] = []
    messages: List[str] = []
    items = body.get("errors")
    for item in items if isinstance(items, list) else []:
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


_OBJECT_DUMP = re.compile(r"(?:\w+\(')?<[^<>]*? object at 0x[0-9a-fA-F]+>:?\s*")


def reason(error: BaseException) -> str:
    """A short cause without URLs (which may carry proxy credentials) or request headers."""
    text = SECRETS.redact(str(error))
    for marker in ("Caused by ", "(Caused by"):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = _OBJECT_DUMP.sub("", text)  # urllib3's "NewConnectionError('<... object at 0x..>: "
    return SECRETS.redact(type(error).__name__ + ": " + text.strip(" ()'\""), limit=300)
