"""How each request is sent: paced by its rate-limit group, retried when it may pass, and never
past the run's deadline.

RequestPolicy knows nothing of tokens or of what is asked: it runs a call (one HTTP exchange
through the SDK) and turns its outcome into a result, a wait-and-retry, or an AuditTrailError.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar
from urllib.parse import urlsplit

import requests
from ringcentral.http.api_exception import ApiException

from .clock import Clock
from .errors import RateLimitExceeded, shown_id
from .httperrors import RateLimited, Retryable, Stopped, classify, transport_error
from .ratelimit import RateGate
from .retry import Backoff
from .settings import Account, Connection
from .transport import SessionClient, WallClockExceeded

T = TypeVar("T")
RATE_HEADERS = (
    "X-Rate-Limit-Group",
    "X-Rate-Limit-Limit",
    "X-Rate-Limit-Remaining",
    "X-Rate-Limit-Window",
    "Retry-After",
)


class AnswerTooSlow(Exception):
    """An answer that could not arrive within its allowance: the caller may ask for less."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class ClientStats:
    requests: int = 0  # search requests sent
    logins: int = 0
    refreshes: int = 0
    rate_limited: int = 0
    retries: int = 0


class RequestPolicy:
    def __init__(
        self,
        account: Account,
        connection: Connection,
        http: SessionClient,
        *,
        clock: Clock,
        logger: logging.Logger,
        backoff: Backoff,
        max_rate_limited: int,
    ) -> None:
        self.account = account
        self.connection = connection
        self.http = http
        self.clock = clock
        self.log = logger
        self.backoff = backoff
        self.max_rate_limited = max_rate_limited
        self.stats = ClientStats()
        self.heavy = RateGate(limit=10, window=60.0)
        self.auth_gate = RateGate(limit=5, window=60.0)
        self.deadline: Optional[float] = None  # clock time; nothing is sent or awaited past it
        self.context = ""  # prefix for log lines, e.g. "input=name"

    def run(self, call: Callable[[], T], what: str, gate: RateGate, shrinkable: bool = False) -> T:
        """``call``'s result, after waiting for ``gate`` and retrying what may pass.

        ``shrinkable``: an answer cut for arriving too slowly raises AnswerTooSlow at once (the
        caller asks for a smaller page) instead of being asked again as it was."""
        failures = 0
        limited = 0
        while True:
            wait = gate.delay(self.clock.now())
            while wait > 0:  # shared with other inputs: look again after each wait
                self._wait(wait, what)
                wait = gate.delay(self.clock.now())
            self._arm(what)
            gate.sent(self.clock.now())
            before, started = self.http.last_response, time.monotonic()
            try:
                try:
                    result = call()
                    self._debug(what, started, before)
                except ApiException as error:
                    self._debug(what, started, before)
                    failure = classify(error, what, self.account, self.connection)
                    if shrinkable and _too_slow(error.__context__ or error.__cause__):
                        raise AnswerTooSlow(getattr(failure, "error", failure)) from None
                    raise failure from None
                except requests.RequestException as error:
                    failure = transport_error(error, what, self.account, self.connection)
                    if shrinkable and _too_slow(error):
                        raise AnswerTooSlow(getattr(failure, "error", failure)) from None
                    raise failure from None
            except RateLimited as limit:
                limited += 1
                self.stats.rate_limited += 1
                self.observe(gate)
                gate.penalize(limit.seconds, self.clock.now())
                self.log.warning(
                    "action=rate_limited %s group=%s retry_after_s=%g cause=%r",
                    self.context,
                    "auth" if gate is self.auth_gate else "heavy",
                    limit.seconds,
                    gate.cause(),
                )
                if limited > self.max_rate_limited:
                    raise RateLimitExceeded(
                        f"RingCentral kept refusing the {what} as over its rate limit "
                        f"({limited} times in a row): {gate.cause()}. The next run continues "
                        "where this one stopped."
                    ) from None
                continue
            except Retryable as retryable:
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
            self.observe(gate)
            return result

    def _debug(self, what: str, started: float, before: object) -> None:
        """At DEBUG, one line per exchange: method, path, status, duration and the rate-limit
        headers; never a body, a query or a header that carries credentials."""
        response = self.http.last_response
        if response is None or response is before or not self.log.isEnabledFor(logging.DEBUG):
            return
        request = response.request
        limits = "".join(
            f" {name.lower()}={shown_id(response.headers[name])}"
            for name in RATE_HEADERS
            if name in response.headers
        )
        self.log.debug(
            "action=exchange %s call=%s method=%s path=%s status=%d duration_s=%.3f%s",
            self.context,
            what.replace(" ", "_"),
            request.method,
            urlsplit(request.path_url).path,
            response.status_code,
            time.monotonic() - started,
            limits,
        )

    def _arm(self, what: str) -> None:
        """Hand the run's deadline to the transport, which holds it while bytes trickle in."""
        if self.deadline is None:
            self.http.run_deadline = None
            return
        left = self.deadline - self.clock.now()
        if left <= 0:
            raise Stopped(f"the run's time ended before the {what} could be sent")
        self.http.run_deadline = time.monotonic() + left

    def _wait(self, seconds: float, what: str) -> None:
        if seconds <= 0:
            return
        if self.deadline is not None and self.clock.now() + seconds > self.deadline:
            raise Stopped(f"the run's time ends before the {what} may be sent")
        if not self.clock.sleep(seconds):
            raise Stopped("stop requested")

    def observe(self, gate: RateGate) -> None:
        if self.http.last_response is not None:
            gate.observe(self.http.last_response.headers, self.clock.now())


def _too_slow(error: Optional[BaseException]) -> bool:
    """An exchange cut for taking longer than its allowance (not for the run's end)."""
    return isinstance(error, WallClockExceeded) and not error.run_ended
