"""Errors a Splunk admin can act on, and the redaction that keeps secrets out of every message.

Each error carries a ``kind`` (auth, permission, connection, tls, rate_limit, service, request,
config, checkpoint) that logs and dashboards group by, and a message that says what to fix.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from typing import Any, List, Optional, Set
from urllib.parse import quote, quote_plus

REDACTED = "********"


class AuditTrailError(Exception):
    """Base of every error the library raises on purpose; the message is safe to show and log."""

    kind = "service"

    def __init__(
        self, message: str, *, code: Optional[str] = None, status: Optional[int] = None
    ) -> None:
        super().__init__(SECRETS.redact(message))
        self.code = code
        self.status = status

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(AuditTrailError):
    kind = "config"


class AuthError(AuditTrailError):
    kind = "auth"


class PermissionDenied(AuditTrailError):
    kind = "permission"


class ConnectionFailed(AuditTrailError):
    kind = "connection"


class TlsFailed(AuditTrailError):
    kind = "tls"


class RateLimitExceeded(AuditTrailError):
    kind = "rate_limit"


class ServiceError(AuditTrailError):
    kind = "service"


class RequestRejected(AuditTrailError):
    kind = "request"


class CheckpointError(AuditTrailError):
    kind = "checkpoint"


# Patterns that look like credentials even when the value was never registered (defence in depth).
_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|client_secret|assertion|password|jwt)"
        r"[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]{4,})"
    ),
]
# A URL's userinfo (scheme://user:password@host), or a bare user:password@host.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,15}://)[^\s/?#@]*@")
_BARE_USERINFO = re.compile(r"(?<![\w/@.%:-])[^\s/?#@'\"<>(),=]+:[^\s/?#@'\"<>(),]+@(?=[\w\[])")
# Base64 (standard or URL-safe) that decodes to "something:something": an id:secret pair
# (HTTP Basic credentials) echoed without the word "Basic".
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}={0,2}")
_PRINTABLE_PAIR = re.compile(r"^[\x21-\x7e]+:[\x20-\x7e]+$")


def mask(value: Optional[str]) -> str:
    """How a message identifies a credential-like value: its first characters and its length.

    Used for values an admin may have pasted into the wrong field (a client secret typed as the
    client ID): enough to recognise which value it is, never enough to use it.
    """
    text = value or ""
    shown = text[:4] if len(text) >= 12 else ""
    return f"'{shown}...' ({len(text)} characters)"


def _encodings(value: str) -> Set[str]:
    """The forms a server or library may echo a value in: as is, URL-encoded, JSON-escaped, base64."""
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    raw = value.encode("utf-8")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    return {form for form in forms if len(form) >= 4}


def _decodes_to_pair(token: str) -> bool:
    text = token.rstrip("=")
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded.encode("ascii"))
            decoded = raw.decode("utf-8")
        except (ValueError, binascii.Error):
            continue
        if _PRINTABLE_PAIR.match(decoded):
            return True
    return False


class SecretRegistry:
    """Every secret value the process has seen; ``redact`` replaces them in any text.

    A value is also found in the encodings a server may echo it in (URL-encoded, JSON-escaped,
    base64, and base64 of ``user:secret`` for registered pairs).
    """

    def __init__(self) -> None:
        self._values: Set[str] = set()
        self._ordered: List[str] = []
        self._lock = threading.Lock()

    def add(self, value: Optional[str]) -> None:
        if value and len(value) >= 4:
            self._register(_encodings(value))

    def add_pair(self, user: Optional[str], secret: Optional[str]) -> None:
        """Register ``secret`` and the HTTP Basic forms of ``user:secret`` (base64, any padding)."""
        if not secret:
            return
        self.add(secret)
        forms: Set[str] = set()
        for who, what in (
            (user or "", secret),
            (quote(user or "", safe=""), quote(secret, safe="")),
        ):
            raw = f"{who}:{what}".encode()
            for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
                text = encoded.decode("ascii")
                forms.update((text, text.rstrip("=")))
        self._register(forms)

    def _register(self, forms: Set[str]) -> None:
        with self._lock:
            fresh = forms - self._values
            if fresh:
                self._values |= fresh
                self._ordered = sorted(self._values, key=len, reverse=True)

    def redact(self, text: str, limit: Optional[int] = None) -> str:
        """``text`` without any secret; then, if ``limit`` is given, cut to that many characters.

        Always redact first and cut second: a cut first could leave the head of a secret that
        straddles the cut, which no longer matches the whole value.
        """
        text = str(text)
        with self._lock:
            values = self._ordered
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        text = _PATTERNS[0].sub(lambda m: m.group(1) + " " + REDACTED, text)
        text = _PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
        text = _BARE_USERINFO.sub(REDACTED + "@", text)
        text = _BASE64.sub(lambda m: REDACTED if _decodes_to_pair(m.group(0)) else m.group(0), text)
        if limit is not None and len(text) > limit:
            text = text[:limit] + "..."
        return text

    def redact_json(self, value: Any) -> Any:
        """A JSON-able value with every text in it redacted, keys too: redacting the serialised
        text instead could turn ``"password": null`` into something that is no longer JSON."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_json(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_json(v) for v in value]
        return value


SECRETS = SecretRegistry()


class RedactingFilter(logging.Filter):
    """Attach to a handler: formats each record's message and traceback, then redacts them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = SECRETS.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = SECRETS.redact(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            record.exc_text = SECRETS.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = SECRETS.redact(record.stack_info)
        return True


def protect(logger: logging.Logger) -> logging.Logger:
    """Put ``logger`` and every handler of it behind a RedactingFilter (once); returns the logger.

    The logger's own filter covers records logged on it even when they end up in handlers added
    later or in logging's last resort (stderr, which splunkd copies to splunkd.log): protecting
    the root logger covers ``logging.warning(...)`` calls in libraries (solnlib's retries log
    tracebacks that may quote splunkd's answer).
    """
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    return logger
