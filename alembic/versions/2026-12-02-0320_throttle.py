"""throttle: failure counts of login and self check-in subjects

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:30:00+00:00

Shared by every worker on one database (Redis holds them instead when the broker is Redis).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'throttle',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('blocked_until', sa.Float(), nullable=False),
        sa.Column('forget_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_throttle_forget_at'), 'throttle', ['forget_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_throttle_forget_at'), table_name='throttle')
    op.drop_table('throttle')
