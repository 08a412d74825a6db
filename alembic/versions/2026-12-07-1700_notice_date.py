"""notice date: when a conference's privacy notice took its current version (issue 11)

Revision ID: 0014_notice
Revises: 0013
Create Date: 2026-12-07 17:00:00+00:00

* conference.notice_updated_at: the public notice page shows its version and since when
  (None: the notice is unchanged since the conference was created).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db


revision: str = '0014_notice'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_updated_at', app.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.drop_column('notice_updated_at')
