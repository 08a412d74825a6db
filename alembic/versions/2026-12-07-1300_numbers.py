"""numbers: a session check-in is also a check-in at the conference

Revision ID: 0011_numbers
Revises: 0010
Create Date: 2026-12-07 13:00:00+00:00

A person present in any session is present at the conference: from now on a session
check-in also inserts the attendee's conference-level row (session_key 0) when they have
none. This gives attendees checked in only into sessions before this revision that row,
copied from their earliest session check-in (its site, time and method; no nonce), so the
conference's counts, dashboard and reports include them.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0011_numbers'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        INSERT INTO attendance (conference_id, attendee_id, session_key, site_id,
                                checked_in_at, checked_out_at, method, device, nonce,
                                foreign_site, actor_id)
        SELECT a.conference_id, a.attendee_id, 0, a.site_id, a.checked_in_at, NULL,
               a.method, a.device, NULL, a.foreign_site, a.actor_id
        FROM attendance a
        WHERE a.session_key <> 0
          AND a.id = (SELECT b.id FROM attendance b
                      WHERE b.attendee_id = a.attendee_id AND b.session_key <> 0
                      ORDER BY b.checked_in_at, b.id LIMIT 1)
          AND NOT EXISTS (SELECT 1 FROM attendance c
                          WHERE c.attendee_id = a.attendee_id AND c.session_key = 0)
        """
    )


def downgrade() -> None:
    # The copied rows cannot be told from check-ins made at the door; they stay (the old
    # code reads them as conference-level check-ins, which they are).
    pass
