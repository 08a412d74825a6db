"""Check-ins on the audit log: counted per batch in the spool, never one entry per scan.

Called after the commit (or after the refusal), these only bump a counter in memory
(`app.audit.spool`): every few seconds the flusher writes one chained entry per action
and conference, broken down by actor, address, site, session and method, with the count
of scans by outcome (`checked_in`, `already_checked_in`, or the refusal's code) and the
first and last time.
"""

from typing import Any

from app.audit import spool

CHECKIN = "checkin.batch"
CHECKOUT = "checkout.batch"


def _details(session_id: int | None, method: str) -> tuple[tuple[str, Any], ...]:
    return (("method", method), ("session_id", session_id))


def scanned(bind: Any, *, conference_id: int | None, site_id: int, session_id: int | None,
            method: str, outcome: str) -> None:
    """Count one scan (accepted, repeated or refused) of the current actor."""
    spool.spool_for(bind).note(
        action=CHECKIN, object_type="attendance", conference_id=conference_id,
        site_id=site_id, outcome=outcome, details=_details(session_id, method),
    )


def checked_out(bind: Any, *, conference_id: int, site_id: int,
                session_id: int | None) -> None:
    """Count one check-out of the current actor."""
    spool.spool_for(bind).note(
        action=CHECKOUT, object_type="attendance", conference_id=conference_id,
        site_id=site_id, outcome="checked_out", details=_details(session_id, "checkout"),
    )
