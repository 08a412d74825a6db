"""training forms: question banks, forms, phone answers, room tallies (issue 13)

Revision ID: 0016_forms
Revises: 0015_floor
Create Date: 2026-12-07 21:00:00+00:00

* question_bank / bank_question / bank_option: a conference's questions (a pre- and a
  post-test share a bank), with the correct options marked.
* training_form: a pre-test, post-test or survey of a session; results frozen when shown.
* form_answer / form_choice: one phone's answer, once per attendee, phone and nonce.
* form_tally: a room's typed counts, one row per form and site (replaced, never added).
* stage.form_id / form_results: the form every screen shows, and whether its results.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db


revision: str = '0016_forms'
down_revision: str | None = '0015_floor'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('question_bank',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('question_bank', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_bank_conference_id'), ['conference_id'], unique=False)

    op.create_table('bank_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['question_bank.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bank_id', 'position', name='uq_bank_question_position')
    )
    op.create_table('training_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('opened_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('results_json', sa.Text(), nullable=True),
    sa.Column('results_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['question_bank.id'], ),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['conference_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('training_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_form_conference_id'), ['conference_id'], unique=False)
        batch_op.create_index('ix_training_form_session', ['session_id', 'id'], unique=False)

    op.create_table('bank_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['bank_question.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_id', 'position', name='uq_bank_option_position')
    )
    with op.batch_alter_table('bank_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_option_question_id'), ['question_id'], unique=False)

    op.create_table('form_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=True),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('answered_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('scored', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], ),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['form_id'], ['training_form.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('form_id', 'attendee_id', name='uq_form_answer_attendee'),
    sa.UniqueConstraint('form_id', 'device', name='uq_form_answer_device'),
    sa.UniqueConstraint('form_id', 'nonce', name='uq_form_answer_nonce')
    )
    with op.batch_alter_table('form_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_answer_attendee_id'), ['attendee_id'], unique=False)
        batch_op.create_index('ix_form_answer_site', ['form_id', 'site_id'], unique=False)

    op.create_table('form_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('respondents', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('entered_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('entered_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], ),
    sa.ForeignKeyConstraint(['entered_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['form_id'], ['training_form.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('form_id', 'site_id', name='uq_form_tally_site')
    )
    op.create_table('form_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['answer_id'], ['form_answer.id'], ),
    sa.ForeignKeyConstraint(['form_id'], ['training_form.id'], ),
    sa.ForeignKeyConstraint(['option_id'], ['bank_option.id'], ),
    sa.ForeignKeyConstraint(['question_id'], ['bank_question.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('form_choice', schema=None) as batch_op:
        batch_op.create_index('ix_form_choice_answer', ['answer_id'], unique=False)
        batch_op.create_index('ix_form_choice_form', ['form_id', 'question_id', 'option_id'], unique=False)

    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('form_results', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_foreign_key('fk_stage_form', 'training_form', ['form_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.drop_constraint('fk_stage_form', type_='foreignkey')
        batch_op.drop_column('form_results')
        batch_op.drop_column('form_id')

    with op.batch_alter_table('form_choice', schema=None) as batch_op:
        batch_op.drop_index('ix_form_choice_form')
        batch_op.drop_index('ix_form_choice_answer')

    op.drop_table('form_choice')
    op.drop_table('form_tally')
    with op.batch_alter_table('form_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_form_answer_site')
        batch_op.drop_index(batch_op.f('ix_form_answer_attendee_id'))

    op.drop_table('form_answer')
    with op.batch_alter_table('bank_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_option_question_id'))

    op.drop_table('bank_option')
    with op.batch_alter_table('training_form', schema=None) as batch_op:
        batch_op.drop_index('ix_training_form_session')
        batch_op.drop_index(batch_op.f('ix_training_form_conference_id'))

    op.drop_table('training_form')
    op.drop_table('bank_question')
    with op.batch_alter_table('question_bank', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_bank_conference_id'))

    op.drop_table('question_bank')
