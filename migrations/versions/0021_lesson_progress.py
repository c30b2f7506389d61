"""lesson progress: which lessons of a course an agent went through, so required courses can ask for all of them

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lesson_progress',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lesson_index', sa.Integer(), nullable=False),
    sa.Column('done_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lesson_progress_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lesson_progress_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_progress')),
    sa.UniqueConstraint('user_id', 'course_id', 'lesson_index', name=op.f('uq_lesson_progress_user_id_course_id_lesson_index'))
    )
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_progress_user_id'), ['user_id'], unique=False)
    _backfill()


def _backfill() -> None:
    """Until now progress was "read up to lesson n": count lessons 1..n as read, so nobody loses what they did."""
    progress = sa.table(
        'course_progress',
        sa.column('user_id', sa.BigInteger()),
        sa.column('course_id', sa.BigInteger()),
        sa.column('lessons_done', sa.Integer()),
        sa.column('updated_at', backend.core.db.UTCDateTime(timezone=True)),
    )
    lessons = sa.table(
        'lesson_progress',
        sa.column('user_id', sa.BigInteger()),
        sa.column('course_id', sa.BigInteger()),
        sa.column('lesson_index', sa.Integer()),
        sa.column('done_at', backend.core.db.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(progress).where(progress.c.lessons_done > 0)).all()
    read = [
        {'user_id': row.user_id, 'course_id': row.course_id, 'lesson_index': index, 'done_at': row.updated_at}
        for row in rows
        for index in range(row.lessons_done)
    ]
    if read:
        op.bulk_insert(lessons, read)


def downgrade() -> None:
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_progress_user_id'))
    op.drop_table('lesson_progress')
