"""site sort path: lists order siblings by kind, then Vietnamese name (branch u-words)

Revision ID: 0011_words
Revises: 0011_numbers
Create Date: 2026-12-07 13:00:00+00:00

* site.sort_path and its copy participation.sort_path: the tree path spelt in list order
  (endpoints.tree_order), computed here for every site.
* The covering index a conference's site pages are read from becomes
  (conference_id, sort_path, site_id); site.sort_path is indexed for filtered pages.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from endpoints.tree_order import sort_paths

revision: str = '0011_words'
down_revision: str | None = '0011_numbers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 1_000


def _fill() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, parent_id, kind, name FROM site")).all()
    paths = sort_paths((int(r[0]), r[1], str(r[2]), str(r[3])) for r in rows)
    items = [{"i": i, "p": p} for i, p in paths.items()]
    update = sa.text("UPDATE site SET sort_path = :p WHERE id = :i")
    for start in range(0, len(items), _CHUNK):
        conn.execute(update, items[start:start + _CHUNK])
    conn.execute(sa.text(
        "UPDATE participation SET sort_path = "
        "(SELECT site.sort_path FROM site WHERE site.id = participation.site_id)"
    ))


def upgrade() -> None:
    column = sqlmodel.sql.sqltypes.AutoString(length=1600)
    for table in ('site', 'participation'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sort_path', column, nullable=False,
                                          server_default=''))
    _fill()
    for table in ('site', 'participation'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('sort_path', server_default=None)
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index('ix_site_sort_path', ['sort_path'], unique=False)
        # Parent pickers and `?kind=` lists want the few central and hub rows directly.
        batch_op.create_index('ix_site_kind', ['kind'], unique=False)
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_conference_path')
        batch_op.create_index('ix_participation_conference_sort',
                              ['conference_id', 'sort_path', 'site_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_conference_sort')
        batch_op.create_index('ix_participation_conference_path',
                              ['conference_id', 'path', 'site_id'], unique=False)
        batch_op.drop_column('sort_path')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index('ix_site_kind')
        batch_op.drop_index('ix_site_sort_path')
        batch_op.drop_column('sort_path')
