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
    ERROR_CODE,
    SECRETS,
    AuditTrailError,
    AuthError,
    ConnectionFailed,
    PermissionDenied,
    RequestRejected,
    ServiceError,
    TlsFailed,
    mask,
    window,
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
            f"TLS verification with {server} failed: {reason(error)}. Check that the server URL "
            "is RingCentral's; if a proxy inspects TLS traffic, set the account's CA bundle path "
            "to a PEM file with its CA certificate."
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
        return Retryable(ConnectionFailed(_unreachable(server, reason(error), connection)))
    return Retryable(ServiceError(f"The {what} failed in transit ({reason(error)})."))


def _unreachable(server: str, cause: str, connection: Connection) -> str:
    """One sentence per cause, saying what to check."""
    check = {
        "the connection was refused": "check the server URL's port, and that a firewall lets "
        "this Splunk instance connect",
        "the host name did not resolve": "check the host name in the server URL and this "
        "instance's DNS settings",
        "no answer to the connection attempt in time": "check the server URL, the firewall "
        f"(nothing answered within {connection.connect_timeout:g} s) and the proxy settings",
    }.get(cause, "check the server URL, DNS, firewall and proxy settings")
    return f"Could not reach {server} ({cause}): {check}."


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
    if status == 404 and not codes and not oauth_error:
        return RequestRejected(
            f"The server at {account.server_url} answered the {what} with HTTP 404 and without "
            "RingCentral's error format, so it is not a RingCentral API server: check the "
            "account's server URL (e.g. https://platform.ringcentral.com).",
            status=status,
        )
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


# OAuth 2.0's error codes (RFC 6749 5.2) that decide a message; any other value is not shown.
OAUTH_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
)


def _error_details(response: requests.Response) -> Tuple[List[str], str, str]:
    """(errorCodes, first message, OAuth error) from both RingCentral error body shapes.

    All three are the server's text, so they pass a narrow window: codes of RingCentral's shape
    (CMN-401), OAuth's own error names, and a message of the shape of a sentence that holds no
    secret in any form (errors.window); anything else is "answer not shown (N bytes)".
    """
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
                    text += f" [{item['parameterName']}]"
                messages.append(text)
    if body.get("errorCode") and str(body["errorCode"]) not in codes:
        codes.append(str(body["errorCode"]))
    if body.get("message"):
        messages.append(str(body["message"]))
    if body.get("error_description"):
        messages.append(str(body["error_description"]))
    oauth_error = str(body.get("error") or "")
    codes = [code for code in codes if ERROR_CODE.fullmatch(code)]
    oauth_error = oauth_error if oauth_error in OAUTH_ERRORS else ""
    return codes, window(SECRETS.redact(messages[0])) if messages else "", oauth_error


def _proxy_auth_refused(error: BaseException) -> bool:
    """Whether a proxy failure is a refusal of its credentials (retrying cannot help)."""
    text = _chain_text(error)
    return "http-407" in text or "authentication" in text


def _chain(error: BaseException, depth: int = 0) -> List[BaseException]:
    """The error and every exception behind it (causes, contexts, and urllib3's wrapped ones)."""
    found = [error]
    if depth > 6:
        return found
    inner = [error.__cause__, error.__context__, getattr(error, "reason", None)]
    inner += [arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException)]
    for item in inner:
        if isinstance(item, BaseException) and item is not error:
            found += _chain(item, depth + 1)
    return found


# An object's address (``object at 0x7f...4070``) or a port (``:40712``) may hold the digits 407:
# addresses are dropped and only a 407 standing alone counts as the status.
_ADDRESS = re.compile(r"0x[0-9a-f]+")
_STATUS_407 = re.compile(r"(?<![0-9])407(?![0-9])")


def _chain_text(error: BaseException) -> str:
    """The chain's messages, lower case, addresses dropped, a lone 407 spelled ``http-407``."""
    text = _ADDRESS.sub("0x", " ".join(str(item) for item in _chain(error)).lower())
    return _STATUS_407.sub("http-407", text)


# (what the exception chain says, the cause in the admin's words). Matched, never quoted: a
# library's message may hold a URL with the proxy's credentials or a server's text.
_CAUSES: Tuple[Tuple[Tuple[str, ...], str], ...] = (
    (("certificate verify failed", "certificate_verify_failed"), "its certificate is not trusted"),
    (
        ("hostname mismatch", "doesn't match", "does not match"),
        "its certificate names another host",
    ),
    (("certificate has expired",), "its certificate has expired"),
    (
        (
            "wrong version number",
            "wrong_version_number",
            "unknown protocol",
            "record layer failure",
        ),
        "the port does not speak TLS",
    ),
    (
        ("http-407", "proxy authentication required"),
        "the proxy asked for valid credentials (HTTP 407)",
    ),
    (("tunnel connection failed",), "the proxy refused to open the connection"),
    (
        (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name resolution",
            "getaddrinfo failed",
            "nameresolutionerror",
            "failed to resolve",
            "no address associated",
        ),
        "the host name did not resolve",
    ),
    (
        ("connection refused", "errno 111", "errno 61", "winerror 10061"),
        "the connection was refused",
    ),
    (("timed out", "timeout"), "no answer to the connection attempt in time"),
    (("no route to host",), "there is no route to the host"),
    (("network is unreachable",), "the network is unreachable"),
    (("connection reset", "errno 104"), "the connection was reset"),
    (
        ("remote end closed", "remotedisconnected", "connection aborted", "broken pipe"),
        "the server closed the connection",
    ),
    (("sslerror", "ssl:", "tls"), "the TLS handshake failed"),
)


def reason(error: BaseException) -> str:
    """Why a transport failed, in a few words of our own: the exception chain's text is matched
    against known causes and never quoted (no URL, header, object dump or server text can reach
    the admin), so an unknown cause is named by its exception class only."""
    text = _chain_text(error)
    for markers, cause in _CAUSES:
        if any(marker in text for marker in markers):
            return cause
    return f"{type(error).__name__}, no further detail"
