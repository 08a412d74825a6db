"""the floor: sites asking to speak, written questions (issue 14)

Revision ID: 0015_floor
Revises: 0014_notice
Create Date: 2026-12-07 18:00:00+00:00

* floor_request: a site's request for the floor in a session (one open per site and
  session: a partial unique index), and what the chair made of it (times of the minutes).
* floor_question: written questions, moderated (approve, hide, merge).
* conference_session.floor_version: grows with every change of the chair's queue.
* stage.speaker_id / question_id: the speaker and the question every screen shows.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db


revision: str = '0015_floor'
down_revision: str | None = '0014_notice'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('floor_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('attendee_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('asked_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('moderated_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('moderated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], ),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['merged_into_id'], ['floor_question.id'], ),
    sa.ForeignKeyConstraint(['moderated_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['conference_session.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('floor_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floor_question_attendee_id'), ['attendee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floor_question_conference_id'), ['conference_id'], unique=False)
        batch_op.create_index('ix_floor_question_session', ['session_id', 'status', 'id'], unique=False)

    op.create_table('floor_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=True),
    sa.Column('site_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('speaker_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('speaker_position', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('asked_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('changed_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('asked_by', sa.Integer(), nullable=True),
    sa.Column('started_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('limit_seconds', sa.Integer(), nullable=True),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['asked_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['hub_id'], ['site.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['conference_session.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('floor_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floor_request_conference_id'), ['conference_id'], unique=False)
        batch_op.create_index('ix_floor_request_session', ['session_id', 'status', 'asked_at', 'id'], unique=False)
        batch_op.create_index('uq_floor_request_open', ['session_id', 'site_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    with op.batch_alter_table('conference_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('floor_version', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speaker_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('question_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_stage_question', 'floor_question', ['question_id'], ['id'])
        batch_op.create_foreign_key('fk_stage_speaker', 'floor_request', ['speaker_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.drop_constraint('fk_stage_speaker', type_='foreignkey')
        batch_op.drop_constraint('fk_stage_question', type_='foreignkey')
        batch_op.drop_column('question_id')
        batch_op.drop_column('speaker_id')

    with op.batch_alter_table('conference_session', schema=None) as batch_op:
        batch_op.drop_column('floor_version')

    with op.batch_alter_table('floor_request', schema=None) as batch_op:
        batch_op.drop_index('uq_floor_request_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_floor_request_session')
        batch_op.drop_index(batch_op.f('ix_floor_request_conference_id'))

    op.drop_table('floor_request')
    with op.batch_alter_table('floor_question', schema=None) as batch_op:
        batch_op.drop_index('ix_floor_question_session')
        batch_op.drop_index(batch_op.f('ix_floor_question_conference_id'))
        batch_op.drop_index(batch_op.f('ix_floor_question_attendee_id'))

    op.drop_table('floor_question')
