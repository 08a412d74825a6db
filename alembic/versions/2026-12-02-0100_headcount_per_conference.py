"""headcount: one current report per conference, site and session

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00+00:00

A registry site takes part in many conferences: its conference-level report (session
key 0) of one conference must not clash with, or replace, its report of another.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = {"sqlite_where": sa.text('superseded = 0'),
          "postgresql_where": sa.text('superseded = false')}


def upgrade() -> None:
    with op.batch_alter_table('headcount', schema=None) as batch_op:
        batch_op.drop_index('uq_headcount_current', **_WHERE)
        batch_op.create_index('uq_headcount_current', ['conference_id', 'site_id', 'session_key'],
                              unique=True, **_WHERE)


def downgrade() -> None:
    """Back to one current report per site and session: the newest one stays current."""
    op.execute(
        "UPDATE headcount SET superseded = true WHERE superseded = false AND id < ("
        "SELECT MAX(h2.id) FROM headcount h2 WHERE h2.site_id = headcount.site_id"
        " AND h2.session_key = headcount.session_key AND h2.superseded = false)"
    )
    with op.batch_alter_table('headcount', schema=None) as batch_op:
        batch_op.drop_index('uq_headcount_current', **_WHERE)
        batch_op.create_index('uq_headcount_current', ['site_id', 'session_key'], unique=True,
                              **_WHERE)
