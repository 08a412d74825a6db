"""site registry: sites outlive conferences; a conference invites them (participation)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:40:00+00:00

Every per-conference site becomes a registry site with the same id (so attendance,
headcounts, screens, accounts and invites keep pointing at it) plus one participation
holding what was per conference: expected attendees, readiness, approval, and the name
and code the conference knew. Codes were unique per conference and are unique in the
registry now: where two conferences used the same code, the oldest site keeps it and
the others get "<code>-<conference id>" (their participations keep the old code, so
every report reads as before).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_tables() -> None:
    op.create_table('participation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('expected_attendees', sa.Integer(), nullable=False),
    sa.Column('readiness', sa.String(length=20), nullable=False),
    sa.Column('readiness_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('approval', sa.String(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('invited_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conference_id', 'site_id', name='uq_participation_conference_site')
    )
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.create_index('ix_participation_site', ['site_id'], unique=False)
        batch_op.create_index('ix_participation_conference_path',
                              ['conference_id', 'path', 'site_id'], unique=False)
    op.create_table('site_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=20), nullable=False),
    sa.Column('old_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('new_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('old_code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('new_code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('old_parent_id', sa.Integer(), nullable=True),
    sa.Column('new_parent_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('site_history', schema=None) as batch_op:
        batch_op.create_index('ix_site_history_site_at', ['site_id', 'at'], unique=False)


def _copy_rows() -> None:
    op.execute(
        "INSERT INTO participation (conference_id, site_id, expected_attendees, readiness,"
        " readiness_note, approval, name, code, path, invited_at, updated_at)"
        " SELECT conference_id, id, expected_attendees, readiness, readiness_note, approval,"
        " name, code, path, created_at, updated_at FROM site"
    )
    op.execute(
        "INSERT INTO site_history (site_id, change, new_name, new_code, new_parent_id, at)"
        " SELECT id, 'created', name, code, parent_id, created_at FROM site"
    )
    # Codes become unique in the registry: the oldest site keeps a shared code.
    op.execute(
        "UPDATE site SET code = code || '-' || CAST(conference_id AS VARCHAR(20))"
        " WHERE code IS NOT NULL AND id > (SELECT MIN(s2.id) FROM site s2"
        " WHERE s2.code = site.code)"
    )


def upgrade() -> None:
    _create_tables()
    _copy_rows()
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False,
                                      server_default='active'))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_site_merged_into', 'site', ['merged_into_id'], ['id'])
        batch_op.drop_constraint('uq_site_conference_code', type_='unique')
        batch_op.drop_index('ix_site_conference_path')
        batch_op.drop_index(batch_op.f('ix_site_conference_id'))
        batch_op.drop_column('conference_id')
        batch_op.drop_column('readiness')
        batch_op.drop_column('readiness_note')
        batch_op.drop_column('expected_attendees')
        batch_op.create_unique_constraint('uq_site_code', ['code'])
        batch_op.create_index('ix_site_path', ['path'], unique=False)
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)
    with op.batch_alter_table('screen_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screen_device_conference_id'))
        batch_op.drop_column('conference_id')
    with op.batch_alter_table('site_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_presence_conference_id'))
        batch_op.drop_column('conference_id')
    with op.batch_alter_table('site_presence_event', schema=None) as batch_op:
        batch_op.alter_column('conference_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Back to one conference per site: each site goes back to its first conference
    (its earliest participation); later participations are dropped."""
    with op.batch_alter_table('site_presence_event', schema=None) as batch_op:
        batch_op.alter_column('conference_id', existing_type=sa.Integer(), nullable=False)
    for table in ('screen_device', 'site_presence'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('conference_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index('ix_site_path')
        batch_op.drop_constraint('uq_site_code', type_='unique')
        batch_op.drop_constraint('fk_site_merged_into', type_='foreignkey')
        batch_op.add_column(sa.Column('conference_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expected_attendees', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('readiness', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('readiness_note',
                                      sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('status')
    first = ("(SELECT p.{col} FROM participation p WHERE p.site_id = site.id"
             " ORDER BY p.id LIMIT 1)")
    op.execute(
        "UPDATE site SET " + ", ".join(
            f"{c} = {first.format(col=c)}"
            for c in ("conference_id", "expected_attendees", "readiness", "readiness_note")
        )
    )
    op.execute("UPDATE site SET conference_id = (SELECT MIN(id) FROM conference),"
               " expected_attendees = 0, readiness = 'not_connected'"
               " WHERE conference_id IS NULL")
    for table in ('screen_device', 'site_presence'):
        op.execute(f"UPDATE {table} SET conference_id = (SELECT s.conference_id FROM site s"
                   f" WHERE s.id = {table}.site_id)")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('conference_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(f'fk_{table}_conference', 'conference',
                                        ['conference_id'], ['id'])
            batch_op.create_index(batch_op.f(f'ix_{table}_conference_id'), ['conference_id'],
                                  unique=False)
    with op.batch_alter_table('site', schema=None) as batch_op:
        for c in ("conference_id", "expected_attendees", "readiness"):
            batch_op.alter_column(c, existing_type=sa.Integer() if c != "readiness"
                                  else sa.String(length=20), nullable=False)
        batch_op.create_foreign_key('fk_site_conference', 'conference', ['conference_id'], ['id'])
        batch_op.create_unique_constraint('uq_site_conference_code', ['conference_id', 'code'])
        batch_op.create_index('ix_site_conference_path', ['conference_id', 'path'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_conference_id'), ['conference_id'],
                              unique=False)
    with op.batch_alter_table('site_history', schema=None) as batch_op:
        batch_op.drop_index('ix_site_history_site_at')
    op.drop_table('site_history')
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_conference_path')
        batch_op.drop_index('ix_participation_site')
    op.drop_table('participation')
