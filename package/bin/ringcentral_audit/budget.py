"""The Heavy request budget of one account, shared by every input that uses it.

RingCentral counts the Audit Trail's budget (10 requests a minute) per user and app, across
every process that uses them, and a request during a 429 penalty restarts the penalty. Inputs
are separate processes: each one writes its own sends and penalty into a store beside the
token store (the KV store in Splunk, see ports.BudgetStore) and reads everyone's before it
sends. A send is reserved first and confirmed by reading the store again, so two inputs that
decide at the same moment cannot both take the last request; after a 429 every input waits for
the penalty's end plus its own random jitter, so they do not all start it again together.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
from typing import Any, Dict, List, Optional, Tuple

from .ports import BudgetStore, JsonDict
from .ratelimit import MAX_RETRY_AFTER, SAFETY_SECONDS, RateGate

JITTER_SHARE = 1 / 6  # after a penalty each input starts again within this share of the window
RACE_WAIT = (0.2, 2.0)  # lost a reservation to another input: try again after this long


def account_key(server_url: str, client_id: str, jwt: str) -> str:
    """The budget's name: one per RingCentral user and app (the JWT's subject, else a digest of
    the JWT), as a digest: no secret and no client ID in it."""
    user = jwt_subject(jwt) or "jwt:" + hashlib.sha256(jwt.encode("utf-8")).hexdigest()
    text = "\n".join((server_url.rstrip("/").lower(), client_id, user))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def jwt_subject(jwt: str) -> Optional[str]:
    """The ``sub`` claim of a JWT (the RingCentral user), read without verifying it."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    sub = payload.get("sub") if isinstance(payload, dict) else None
    return str(sub) if isinstance(sub, (str, int)) and not isinstance(sub, bool) else None


class SharedGate(RateGate):
    """A RateGate whose sends and penalties are those of every input on the account."""

    def __init__(
        self,
        store: BudgetStore,
        member: str,
        *,
        limit: int = 10,
        window: float = 60.0,
        rng: Optional[random.Random] = None,
    ) -> None:
        super().__init__(limit, window)
        self.store = store
        self.member = member
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._jitter = 0.0
        self._penalty_seen = 0.0  # the latest penalty end this input has added jitter to
        self._reserved: Optional[float] = None
        self.others: Dict[str, int] = {}  # other inputs that sent within the window: sends

    # ----- the shared view -----------------------------------------------------------------

    def _view(self, now: float) -> Tuple[List[Tuple[float, str]], float]:
        """Every input's sends within the window (time, member) and the latest penalty end."""
        horizon = now - self.window - SAFETY_SECONDS
        sends: List[Tuple[float, str]] = [(t, self.member) for t in self._sent if t > horizon]
        blocked = self.blocked_until
        others: Dict[str, int] = {}
        for doc in self._load():
            member = doc.get("member")
            if not isinstance(member, str) or member == self.member:
                continue
            theirs = [t / 1000 for t in _numbers(doc.get("sent")) if horizon < t / 1000]
            theirs = [t for t in theirs if t <= now + SAFETY_SECONDS]
            if theirs:
                others[member] = len(theirs)
            sends.extend((t, member) for t in theirs)
            until = doc.get("blocked_until")
            if isinstance(until, (int, float)) and not isinstance(until, bool):
                blocked = max(blocked, min(until / 1000, now + MAX_RETRY_AFTER))
        self.others = others
        sends.sort()
        return sends, blocked

    def _load(self) -> List[JsonDict]:
        try:
            docs = self.store.load_all()
        except Exception:  # noqa: BLE001 - a store outage: pace by this input's own view
            return []
        return [d for d in docs if isinstance(d, dict)]

    def _save(self, now: float) -> None:
        horizon = now - self.window - SAFETY_SECONDS
        doc: JsonDict = {
            "member": self.member,
            "sent": [round(t * 1000) for t in self._sent if t > horizon],
            "blocked_until": round(self.blocked_until * 1000) if self.blocked_until > now else 0,
            "limit": self.limit,
            "window": self.window,
        }
        try:
            self.store.save(doc)
        except Exception:  # noqa: BLE001, S110 - a store outage: pace by this input's own view
            pass

    # ----- RateGate ------------------------------------------------------------------------

    def delay(self, now: float) -> float:
        """Seconds to wait; 0 once a send at ``now`` is reserved for this input."""
        wait = super().delay(now)  # this input's own view (headers, its own penalty)
        sends, blocked = self._view(now)
        if blocked > now:
            if blocked > self._penalty_seen:  # a new penalty: a new place in the restart
                self._penalty_seen = blocked
                self._jitter = self._rng.uniform(0.0, self.window * JITTER_SHARE)
            wait = max(wait, blocked - now + self._jitter)
        window = self.window + SAFETY_SECONDS
        if len(sends) >= self.limit:
            wait = max(wait, sends[len(sends) - self.limit][0] + window - now)
        if wait > 0:
            return wait
        # reserve, then check that no other input took the same place meanwhile
        self._sent.append(now)
        self._reserved = now
        self._save(now)
        sends, blocked = self._view(now)
        ahead = [s for s in sends if s < (now, self.member)]
        if blocked > now or len(ahead) >= self.limit:
            self._sent.remove(now)
            self._reserved = None
            self._save(now)
            return self._rng.uniform(*RACE_WAIT) * self.window / 60
        return 0.0

    def sent(self, now: float) -> None:
        if self._reserved is None:
            super().sent(now)
            self._save(now)
            return
        self._reserved = None
        if self._remaining is not None:
            self._remaining -= 1

    def penalize(self, retry_after: float, now: float) -> None:
        super().penalize(retry_after, now)
        self._save(now)

    def cause(self) -> str:
        """Who else spent the budget, as a message names it."""
        if self.others:
            names = ", ".join(sorted(self.others)[:5])
            return (
                f"other inputs of this add-on use the same RingCentral app and user ({names}) "
                "and share its 10 requests a minute; they wait for each other, so this passes, "
                "but fewer inputs per account (or longer intervals) finish sooner"
            )
        return (
            "no other input of this add-on sent requests for this account meanwhile, so another "
            "application (or another Splunk instance) using the same RingCentral user is "
            "spending its API budget: find it in RingCentral's API usage, or give this add-on "
            "a user of its own"
        )


def _numbers(value: Any) -> List[float]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
