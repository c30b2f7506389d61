"""case library: cases, comments, uses, full-text search

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# The searchable text, as backend/learning/cases.py queries it: keep the two in step.
SEARCH_COLUMNS = ('title', 'situation', 'strategy', 'key_points', 'phrases')
PG_SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, title || ' ' || situation || ' ' || strategy || ' ' || key_points"
    " || ' ' || phrases)"
)


def _sqlite_search_up() -> None:
    """An external-content FTS5 table over the cases, trigram-tokenised so Chinese text matches by substring."""
    columns = ', '.join(SEARCH_COLUMNS)
    new = ', '.join(f'new.{c}' for c in SEARCH_COLUMNS)
    old = ', '.join(f'old.{c}' for c in SEARCH_COLUMNS)
    op.execute(
        f"CREATE VIRTUAL TABLE case_search USING fts5({columns}, content='cases', content_rowid='id',"
        " tokenize='trigram')"
    )
    op.execute(
        f"CREATE TRIGGER case_search_insert AFTER INSERT ON cases BEGIN"
        f" INSERT INTO case_search(rowid, {columns}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER case_search_delete AFTER DELETE ON cases BEGIN"
        f" INSERT INTO case_search(case_search, rowid, {columns}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER case_search_update AFTER UPDATE ON cases BEGIN"
        f" INSERT INTO case_search(case_search, rowid, {columns}) VALUES ('delete', old.id, {old});"
        f" INSERT INTO case_search(rowid, {columns}) VALUES (new.id, {new}); END"
    )
    op.execute("INSERT INTO case_search(case_search) VALUES ('rebuild')")


def _sqlite_search_down() -> None:
    for trigger in ('case_search_update', 'case_search_delete', 'case_search_insert'):
        op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
    op.execute('DROP TABLE IF EXISTS case_search')


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('situation', sa.Text(), nullable=False),
    sa.Column('strategy', sa.Text(), nullable=False),
    sa.Column('key_points', sa.Text(), nullable=False),
    sa.Column('phrases', sa.Text(), nullable=False),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='case_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('published_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_cases_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_cases_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_cases_skill_id_skills'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_site_id_week', ['site_id', 'week'], unique=False)

    op.create_table('case_comments',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_comments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_comments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_comments'))
    )
    with op.batch_alter_table('case_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_comments_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_comments_user_id'), ['user_id'], unique=False)

    op.create_table('case_uses',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('used_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_uses_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_uses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_uses')),
    sa.UniqueConstraint('case_id', 'user_id', name=op.f('uq_case_uses_case_id_user_id'))
    )
    with op.batch_alter_table('case_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_uses_user_id'), ['user_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_search_up()
    else:
        op.execute(f'CREATE INDEX case_search_gin ON cases USING gin ({PG_SEARCH_DOCUMENT})')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_search_down()
    else:
        op.execute('DROP INDEX IF EXISTS case_search_gin')

    with op.batch_alter_table('case_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_uses_user_id'))

    op.drop_table('case_uses')
    with op.batch_alter_table('case_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_comments_user_id'))
        batch_op.drop_index(batch_op.f('ix_case_comments_case_id'))

    op.drop_table('case_comments')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_site_id_week')

    op.drop_table('cases')
