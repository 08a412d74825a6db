"""scanned text: keep no text of a refused scan that is not one of our passes

Revision ID: 0012
Revises: 0011_words
Create Date: 2026-12-07 15:00:00+00:00

A refused scan used to keep the first 40 characters of whatever was scanned, which can be
a citizen ID card's QR (name, ID number, date of birth) or any other personal text. From
now on only a verified pass of ours keeps its prefix; the text already kept is cleared,
since a migration cannot tell our passes from the rest without the signing keys and the
prefix was never shown anywhere.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011_words'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE scan_failure SET code_prefix = '' WHERE code_prefix <> ''")


def downgrade() -> None:
    pass  # what was cleared is gone on purpose
