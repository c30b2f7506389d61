"""learning: courses, versions, progress, quiz attempts, drills, pass credits; certification reminders

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('courses',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_courses_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('site_id', 'code', name=op.f('uq_courses_site_id_code'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_site_id'), ['site_id'], unique=False)

    op.create_table('course_versions',
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('certifies', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='course_version_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('published_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_versions_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_course_versions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_course_versions_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_versions')),
    sa.UniqueConstraint('course_id', 'number', name=op.f('uq_course_versions_course_id_number'))
    )
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_versions_certifies'), ['certifies'], unique=False)
        batch_op.create_index('ix_course_versions_course_id_status', ['course_id', 'status'], unique=False)

    op.create_table('drill_cards',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question_key', sa.String(length=40), nullable=False),
    sa.Column('easiness', sa.Float(), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=False),
    sa.Column('repetitions', sa.Integer(), nullable=False),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.Column('due_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_reviewed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mastered_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_drill_cards_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_drill_cards_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_cards')),
    sa.UniqueConstraint('user_id', 'course_id', 'question_key', name=op.f('uq_drill_cards_user_id_course_id_question_key'))
    )
    with op.batch_alter_table('drill_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_cards_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_drill_cards_user_id'), ['user_id'], unique=False)

    op.create_table('course_progress',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lessons_done', sa.Integer(), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_progress_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_progress_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_course_progress_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_progress')),
    sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_course_progress_user_id_course_id'))
    )
    with op.batch_alter_table('course_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_progress_user_id'), ['user_id'], unique=False)

    op.create_table('quiz_attempts',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('started_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('drawn', sa.JSON(), nullable=False),
    sa.Column('submitted_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=True),
    sa.Column('score_percent', sa.Float(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_quiz_attempts_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quiz_attempts_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_quiz_attempts_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempts'))
    )
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempts_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_quiz_attempts_user_id_course_id', ['user_id', 'course_id'], unique=False)

    op.create_table('course_pass_credits',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('earned_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['quiz_attempts.id'], name=op.f('fk_course_pass_credits_attempt_id_quiz_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_pass_credits_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_pass_credits_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_pass_credits')),
    sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_course_pass_credits_user_id_course_id'))
    )
    with op.batch_alter_table('course_pass_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_pass_credits_earned_at'), ['earned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_pass_credits_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')

    with op.batch_alter_table('course_pass_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_pass_credits_user_id'))
        batch_op.drop_index(batch_op.f('ix_course_pass_credits_earned_at'))
    op.drop_table('course_pass_credits')

    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempts_user_id_course_id')
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_course_id'))
    op.drop_table('quiz_attempts')

    with op.batch_alter_table('course_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_progress_user_id'))
    op.drop_table('course_progress')

    with op.batch_alter_table('drill_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_cards_user_id'))
        batch_op.drop_index(batch_op.f('ix_drill_cards_due_at'))
    op.drop_table('drill_cards')

    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_course_versions_course_id_status')
        batch_op.drop_index(batch_op.f('ix_course_versions_certifies'))
    op.drop_table('course_versions')

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_site_id'))
    op.drop_table('courses')
