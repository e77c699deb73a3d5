"""The Audit Trail API client: one search at a time, with a usable token, paced and retried.

Built on the ``ringcentral`` SDK (its Platform and request building) with its HTTP client
replaced (transport). The concerns live apart and are composed here:

* tokens.TokenKeeper - the access token's life (cache, refresh, JWT login);
* policy.RequestPolicy - pacing per rate-limit group, bounded retries, the run's deadline;
* httperrors - what a failure means, as an error that names the fix;
* answers - what a search answer holds, with unreadable records marked, never fatal.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, NamedTuple, Optional

from ringcentral.platform import Platform

from . import __version__
from .answers import Malformed, parse_search, take_text
from .budget import SharedGate
from .clock import Clock, SystemClock, http_date
from .errors import shown_id
from .events import UNREADABLE
from .httperrors import Stopped, Unauthorized, not_json
from .policy import ClientStats, RequestPolicy
from .ports import BudgetStore, JsonDict, TokenStore
from .ratelimit import RateGate
from .retry import Backoff
from .settings import Account, Connection
from .tokens import TOKEN_MARGIN, TokenKeeper
from .transport import SessionClient

SEARCH_PATH = "/restapi/v1.0/account/~/audit-trail/search"

__all__ = [
    "SEARCH_PATH",
    "TOKEN_MARGIN",
    "AuditTrailClient",
    "ClientStats",
    "SearchPage",
    "Stopped",
    "page_body",
]


class SearchPage(NamedTuple):
    records: List[Dict[str, Any]]
    paging: Optional[Dict[str, Any]]
    # The answer's raw HTTP Date header (RingCentral's clock), when it sent one.
    server_date: Optional[str] = None
    # Records that could not be read as they came and were replaced by events.unreadable().
    unreadable: int = 0

    @property
    def date(self) -> Optional[float]:
        """RingCentral's clock in epoch seconds, from the Date header; None if absent or junk."""
        return http_date(self.server_date)


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
        budget: Optional[BudgetStore] = None,
        member: str = "",
    ) -> None:
        self.account = account
        self.connection = connection or Connection()
        self._http = SessionClient(self.connection)
        self.policy = RequestPolicy(
            account,
            self.connection,
            self._http,
            clock=clock or SystemClock(),
            logger=logger or logging.getLogger("ringcentral_audit"),
            backoff=backoff or Backoff(),
            max_rate_limited=max_rate_limited,
        )
        self._platform = Platform(
            self._http,
            account.client_id,
            account.client_secret,
            account.server_url,
            "TA-ringcentral-audit",
            __version__,
        )
        if budget is not None:  # the Heavy budget shared with the account's other inputs
            self.policy.heavy = SharedGate(budget, member or "input")
        self.tokens = TokenKeeper(account, self._platform, self.policy, tokens)
        self.server_date: Optional[str] = None  # Date header of the latest search answer

    # ----- the request policy's settings, as the collector and validation use them ---------

    @property
    def clock(self) -> Clock:
        return self.policy.clock

    @property
    def log(self) -> logging.Logger:
        return self.policy.log

    @property
    def stats(self) -> ClientStats:
        return self.policy.stats

    @property
    def backoff(self) -> Backoff:
        return self.policy.backoff

    @property
    def heavy(self) -> RateGate:
        return self.policy.heavy

    @property
    def shared_budget(self) -> bool:
        """Whether the Heavy budget is shared through a BudgetStore (else kept per input)."""
        return isinstance(self.policy.heavy, SharedGate)

    @property
    def auth_gate(self) -> RateGate:
        return self.policy.auth_gate

    @property
    def max_rate_limited(self) -> int:
        return self.policy.max_rate_limited

    @max_rate_limited.setter
    def max_rate_limited(self, value: int) -> None:
        self.policy.max_rate_limited = value

    @property
    def deadline(self) -> Optional[float]:
        """Clock time after which nothing is sent or awaited (Stopped is raised instead)."""
        return self.policy.deadline

    @deadline.setter
    def deadline(self, value: Optional[float]) -> None:
        self.policy.deadline = value

    @property
    def context(self) -> str:
        return self.policy.context

    @context.setter
    def context(self, value: str) -> None:
        self.policy.context = value

    # ----- tokens -------------------------------------------------------------------------

    def ensure_token(self) -> None:
        self.tokens.ensure()

    def login(self) -> None:
        self.tokens.login()

    def token_scope(self) -> str:
        return self.tokens.scope()

    def revoke(self) -> None:
        self.tokens.revoke()

    def close(self) -> None:
        self._http.close()

    # ----- search -------------------------------------------------------------------------

    def search(self, body: JsonDict, shrinkable: bool = False) -> SearchPage:
        """One page of audit records; retries what may pass, raises AuditTrailError otherwise
        (and AnswerTooSlow for a ``shrinkable`` search whose answer was cut for slowness)."""
        reauthenticated = False
        while True:
            self.tokens.ensure()
            try:
                return self.policy.run(
                    lambda: self._search_once(body), "search", self.heavy, shrinkable
                )
            except Unauthorized as unauthorized:
                if reauthenticated:
                    raise unauthorized.error from None
                reauthenticated = True
                error = unauthorized.error
                self.log.info(
                    "action=reauthenticate %s reason=%r: logging in again",
                    self.context,
                    "RingCentral did not accept the access token (HTTP "
                    f"{error.status or 401}{' ' + error.code if error.code else ''})",
                )
                self.tokens.forget_access_token()

    def _search_once(self, body: JsonDict) -> SearchPage:
        self.stats.requests += 1
        response = self._platform.post(
            SEARCH_PATH, body, headers={"Authorization": self.tokens.header()}, skip_auth_check=True
        ).response()
        date = response.headers.get("Date")
        self.server_date = date if isinstance(date, str) else None
        # Memory: a page is held once at a time (body, then text, then records), not all three:
        # requests' copy of the body is dropped once decoded (kept again only for a message).
        holder = [response.content]
        response._content = b""
        text = take_text(holder)
        try:
            answer = parse_search(text)
        except Malformed as malformed:
            response._content = text.encode("utf-8", "surrogatepass")
            raise not_json(
                response, "search", self.account, self.connection, str(malformed)
            ) from None
        paging = answer.paging or {}
        self.log.debug(
            "action=search_page %s page=%s per_page=%s total=%s records=%d unreadable=%d",
            self.context,
            shown_id(paging.get("page")),
            shown_id(paging.get("perPage")),
            shown_id(paging.get("totalElements")),
            len(answer.records),
            answer.unreadable,
        )
        del text
        for record in answer.records:
            marked = record.get(UNREADABLE)
            if isinstance(marked, dict):
                self.log.warning(
                    "action=record_unreadable %s id=%s eventTime=%s reason=%r: indexed with its "
                    "raw text under %s",
                    self.context,
                    shown_id(record.get("id", "")),
                    shown_id(record.get("eventTime", "")),
                    marked.get("reason"),
                    UNREADABLE,
                )
        return SearchPage(answer.records, answer.paging, self.server_date, answer.unreadable)


def page_body(
    start: str, end: str, page: int, per_page: int, action_ids: Any = (), exclude: Any = ()
) -> JsonDict:
    body: JsonDict = {"eventTimeFrom": start, "eventTimeTo": end, "page": page, "perPage": per_page}
    if action_ids:
        body["actionIds"] = list(action_ids)
    if exclude:
        body["excludeActionIds"] = list(exclude)
    return body
