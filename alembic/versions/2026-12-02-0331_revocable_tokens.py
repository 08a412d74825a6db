"""revocable tokens: pass-key revocation, follow-link generations, counted anonymous misses

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:30:00+00:00

* pass_key.revoked_at: a revoked key's passes are refused (pass_key_revoked).
* follow_link: the current generation of each conference's follow link (rotation).
* scan_failure_count: anonymous refused scans counted in memory and written in batches
  instead of one scan_failure row (and one write under the lock) each.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pass_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', UTCDateTime(), nullable=True))
    op.create_table(
        'follow_link',
        sa.Column('conference_id', sa.Integer(), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('rotated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('conference_id'),
    )
    op.create_table(
        'scan_failure_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conference_id', sa.Integer(), nullable=True),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('session_key', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('minute', UTCDateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_scan_failure_count_conference', 'scan_failure_count',
                    ['conference_id', 'session_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_scan_failure_count_conference', table_name='scan_failure_count')
    op.drop_table('scan_failure_count')
    op.drop_table('follow_link')
    with op.batch_alter_table('pass_key', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
