"""Save-time checks of an account: actually log in, and check what the app and user may do."""

from __future__ import annotations

import logging
from typing import Optional

from .client import AuditTrailClient, page_body
from .clock import Clock
from .errors import PermissionDenied, window
from .settings import Account, Connection
from .timeutil import format_time


def validate_account(
    account: Account,
    connection: Optional[Connection] = None,
    *,
    clock: Optional[Clock] = None,
    logger: Optional[logging.Logger] = None,
) -> None:
    """Raise an AuditTrailError saying what to fix, or return when the account can read the audit trail.

    Costs one login, one minimal search (the only way to learn whether the user has the Audit
    Trail admin right) and a revoke, so the validation leaves no session behind.
    """
    client = AuditTrailClient(account, connection, clock=clock, logger=logger)
    client.backoff.attempts = 2
    client.max_rate_limited = 0
    try:
        client.login()
        scope = client.token_scope()
        if scope and "ReadAuditTrail" not in scope.replace(",", " ").split():
            raise PermissionDenied(
                "The RingCentral app lacks the ReadAuditTrail permission (its token's scope: "
                f"{window(scope)}): add 'Read Audit Trail' to the app's permissions in the "
                "developer console, then save the account again."
            )
        now = client.clock.now()
        client.search(page_body(format_time(now - 3600), format_time(now), 1, 1))
    finally:
        client.revoke()
        client.close()
