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
from typing import Any, Iterable, List, Optional, Set
from urllib.parse import quote, quote_plus

REDACTED = "********"
# A registered value this long or longer is replaced wherever it appears; a shorter one (a
# proxy password "2026") is not, because it would also match the add-on's own times and counts.
# Shorter secrets are kept out where foreign text enters instead: see ``window``.
LONG_SECRET = 8
# The add-on's own times (timeutil.format_time, and the dates of messages): never redacted, so a
# secret can never garble them; their shape holds nothing but digits in fixed places.
_OWN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?Z?)?"
)


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


def _folded(text: str) -> str:
    """Letters and digits only, lower case: what survives spaces, quotes, escapes and case."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _windows_of(form: str) -> Set[str]:
    """Every LONG_SECRET-character window of a form, folded, forwards and backwards."""
    folded = _folded(form)
    if len(folded) < LONG_SECRET:
        return {folded} if len(folded) >= LONG_SECRET // 2 else set()
    found: Set[str] = set()
    for text in (folded, folded[::-1]):
        found.update(text[i : i + LONG_SECRET] for i in range(len(text) - LONG_SECRET + 1))
    return found


# What text from a server may look like to be shown (``window``): words of an English sentence,
# bracketed parameter names ([dateTimeFrom], [ReadAuditTrail]), short numbers, error codes and
# plain punctuation, single spaces between. Nothing of an encoding fits: no %, =, \, &, #, +, /,
# no word with capitals inside it (except a bracketed camelCase name), no long number.
_TOKEN = re.compile(
    r"[(\[\"']?(?:"
    r"[A-Z]?[a-z]{1,20}"  # a word
    r"|[A-Z]{1,5}|[0-9]{1,4}"  # an abbreviation (API, HTTP), a short number
    r"|[A-Z]{2,5}-[0-9]{1,4}"  # an error code
    r")[)\]\"']?[.,:;!?]?"
    # a camelCase name only in brackets ([dateTimeFrom], [ReadAuditTrail]), with a run of three
    # lower-case letters: base64 such as MjAwMjAw has the humps of camelCase but not the words
    r"|\[(?=[A-Za-z]*[a-z]{3})[A-Za-z][a-z]{0,19}(?:[A-Z][a-z]{1,19}){1,5}\][.,:;!?]?"
    r"|-"
)
WINDOW_CHARACTERS = 200
WINDOW_WORDS = 40
ERROR_CODE = re.compile(r"[A-Z]{2,5}-[0-9]{1,4}")


def not_shown(text: str) -> str:
    return f"answer not shown ({len(text.encode('utf-8', 'surrogatepass'))} bytes)"


def window(text: object, *, limit: int = WINDOW_CHARACTERS) -> str:
    """Text from outside (a server's message, a record's id) as an admin or a log may see it.

    Only text of a safe shape and length passes, and only if it holds no secret in any form
    (``SecretRegistry.overlaps``); anything else becomes "answer not shown (N bytes)". This is
    what keeps echoed credentials out whatever their encoding: no list of encodings is needed,
    because an encoded value does not have the shape of a sentence.
    """
    value = "" if text is None else str(text)
    words = value.split(" ")
    if (
        not value
        or len(value) > limit
        or len(words) > WINDOW_WORDS
        or not all(_TOKEN.fullmatch(word) for word in words)
        or SECRETS.overlaps(value)
    ):
        return not_shown(value)
    return value


IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,99}")


def shown_id(value: object) -> str:
    """A record's id or key as a log line may quote it: as is when it looks like an id and
    holds no secret in any form, else "(not-shown,N-characters)". Checked whole, never cut."""
    text = "" if value is None else str(value)
    if _OWN_TIME.fullmatch(text):  # a time's shape holds nothing but digits in fixed places
        return text
    if IDENTIFIER.fullmatch(text) and not SECRETS.overlaps(text):
        return text
    return f"(not-shown,{len(text)}-characters)"  # one token: key=value lines stay parsable


def _encodings(value: str) -> Set[str]:
    """The forms a server or library may echo a value in: as is, URL-encoded, JSON-escaped, base64."""
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    raw = value.encode("utf-8")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    return {form for form in forms if len(form) >= LONG_SECRET}


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
    """Every secret value the process has seen.

    ``redact`` replaces the long ones (LONG_SECRET characters or more) in any text, also in the
    encodings a server may echo them in (URL-encoded, JSON-escaped, base64, and base64 of
    ``user:secret`` for registered pairs), but never inside the add-on's own times. Short ones
    would garble the add-on's own fields (a password "2026" in every date), so they are kept out
    where foreign text enters instead: ``window`` and ``shown_id`` show nothing that
    ``overlaps`` a secret of any length, in any form.
    """

    def __init__(self) -> None:
        self._values: Set[str] = set()
        self._ordered: List[str] = []
        self._short: Set[str] = set()  # secrets under LONG_SECRET characters, as given
        self._short_folded: Set[str] = set()  # those of 4 letters and digits or more, folded
        self._windows: Set[str] = set()  # LONG_SECRET-character windows of every known form
        self._lock = threading.Lock()

    def add(self, value: Optional[str]) -> None:
        if not value:
            return
        if len(value) < LONG_SECRET:
            with self._lock:
                self._short.add(value)
                if len(_folded(value)) >= LONG_SECRET // 2:
                    self._short_folded.add(_folded(value))
            return
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
                for form in fresh:
                    for piece in _windows_of(form):
                        short = len(piece) < LONG_SECRET
                        (self._short_folded if short else self._windows).add(piece)

    def overlaps(self, text: str) -> bool:
        """Whether ``text`` may carry a secret in any form: a short secret anywhere in it (case
        ignored), or any LONG_SECRET letters and digits of a secret or of one of its encodings,
        forwards or backwards, case ignored, whatever stands between them (spaces, newlines,
        quotes, escapes)."""
        with self._lock:
            short, windows = list(self._short), self._windows
            short_folded = list(self._short_folded)
        lowered = text.lower()
        if any(value.lower() in lowered for value in short):
            return True
        folded = _folded(text)
        if any(value in folded for value in short_folded):
            return True
        return any(
            folded[i : i + LONG_SECRET] in windows for i in range(len(folded) - LONG_SECRET + 1)
        )

    def hide_short(self, text: str) -> str:
        """``text`` with the short secrets replaced too: only for text that holds none of the
        add-on's own fields (tracebacks), where a short secret may hide in a library's message."""
        with self._lock:
            short = sorted(self._short, key=len, reverse=True)
        for value in short:
            if len(value) >= 3 and value in text:
                text = text.replace(value, REDACTED)
        return text

    def redact(self, text: str, limit: Optional[int] = None) -> str:
        """``text`` without any secret; then, if ``limit`` is given, cut to that many characters.

        Always redact first and cut second: a cut first could leave the head of a secret that
        straddles the cut, which no longer matches the whole value.
        """
        text = self._redact(str(text))
        if limit is not None and len(text) > limit:
            text = text[:limit] + "..."
        return text

    def _redact(self, text: str) -> str:
        with self._lock:
            values = self._ordered
        # Where each known value occurs; an occurrence inside one of the add-on's own times is
        # that time, not the secret, and stays.
        own = [m.span() for m in _OWN_TIME.finditer(text)]
        spans = []
        for value in values:
            start = text.find(value)
            while start >= 0:
                end = start + len(value)
                if not any(low <= start and end <= high for low, high in own):
                    spans.append((start, end))
                start = text.find(value, start + 1)
        if spans:
            pieces, at = [], 0
            for start, end in sorted(spans):
                if end <= at:
                    continue
                if start >= at:
                    pieces.append(text[at:start])
                    pieces.append(REDACTED)
                at = max(at, end)
            pieces.append(text[at:])
            text = "".join(pieces)
        text = _PATTERNS[0].sub(lambda m: m.group(1) + " " + REDACTED, text)
        text = _PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
        text = _BARE_USERINFO.sub(REDACTED + "@", text)
        return _BASE64.sub(lambda m: REDACTED if _decodes_to_pair(m.group(0)) else m.group(0), text)

    def redact_json(self, value: Any, keep: Iterable[str] = ()) -> Any:
        """A JSON-able value with every text in it redacted, keys too: redacting the serialised
        text instead could turn ``"password": null`` into something that is no longer JSON.
        The top-level fields named in ``keep`` (the add-on's own) are left as they are."""
        if keep and isinstance(value, dict):
            kept = set(keep)
            return {
                (k if k in kept else self.redact(str(k))): (v if k in kept else self.redact_json(v))
                for k, v in value.items()
            }
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
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        # A traceback quotes libraries' messages and none of the add-on's own fields: short
        # secrets are taken out of it too.
        if record.exc_text:
            record.exc_text = SECRETS.hide_short(SECRETS.redact(record.exc_text))
        if record.stack_info:
            record.stack_info = SECRETS.hide_short(SECRETS.redact(record.stack_info))
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
