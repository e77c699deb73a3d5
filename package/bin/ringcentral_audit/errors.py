"""Errors a Splunk admin can act on, and the redaction that keeps secrets out of every message.

Each error carries a ``kind`` (auth, permission, connection, tls, rate_limit, service, request,
config, checkpoint) that logs and dashboards group by, and a message that says what to fix.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Optional, Set

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


class SecretRegistry:
    """Every secret value the process has seen; ``redact`` replaces them in any text."""

    def __init__(self) -> None:
        self._values: Set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: Optional[str]) -> None:
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        text = _PATTERNS[0].sub(lambda m: m.group(1) + " " + REDACTED, text)
        return _PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)


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
        return True


def protect(logger: logging.Logger) -> logging.Logger:
    """Put every handler of ``logger`` behind a RedactingFilter (once); returns the logger."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    return logger
