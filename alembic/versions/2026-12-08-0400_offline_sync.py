"""offline sync: queued scans, headcounts and incidents sent back by a site (issue 15)

Revision ID: 0017_offline_sync
Revises: 0016_forms
Create Date: 2026-12-08 04:00:00+00:00

* attendance.synced_at: when a scan queued offline reached the server (checked_in_at is
  when it happened at the site).
* offline_sync: one row per sync request that carried work (the dashboard's "đồng bộ 312
  lượt điểm danh lúc 09:41").
* offline_receipt: a queued headcount, readiness or incident applied once per (site, nonce).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db


revision: str = '0017_offline_sync'
down_revision: str | None = '0016_forms'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('synced_at', app.db.UTCDateTime(), nullable=True))
    op.create_table('offline_sync',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('synced_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('checkins', sa.Integer(), nullable=False),
    sa.Column('headcounts', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('oldest_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('offline_sync', schema=None) as batch_op:
        batch_op.create_index('ix_offline_sync_conference_site', ['conference_id', 'site_id'], unique=False)
    op.create_table('offline_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('at', app.db.UTCDateTime(), nullable=False),
    sa.Column('applied_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'nonce', name='uq_offline_receipt_site_nonce')
    )


def downgrade() -> None:
    op.drop_table('offline_receipt')
    with op.batch_alter_table('offline_sync', schema=None) as batch_op:
        batch_op.drop_index('ix_offline_sync_conference_site')
    op.drop_table('offline_sync')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_column('synced_at')
