"""handover notes on shifts and time blocks, with acknowledgements

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handover_notes',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('warning', 'open_issue', 'follow_up', name='handover_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('start_slot', sa.BigInteger(), nullable=False),
    sa.Column('end_slot', sa.BigInteger(), nullable=False),
    sa.Column('from_shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('end_slot > start_slot', name=op.f('ck_handover_notes_window')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_handover_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_shift_id'], ['shifts.id'], name=op.f('fk_handover_notes_from_shift_id_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_handover_notes_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_handover_notes_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_handover_notes_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_handover_notes_skill_id_skills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_notes'))
    )
    with op.batch_alter_table('handover_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_notes_from_shift_id'), ['from_shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_notes_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_notes_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_notes_start_slot'), ['start_slot'], unique=False)

    op.create_table('handover_acks',
    sa.Column('note_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('acknowledged_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['handover_notes.id'], name=op.f('fk_handover_acks_note_id_handover_notes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_handover_acks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_acks')),
    sa.UniqueConstraint('note_id', 'user_id', name=op.f('uq_handover_acks_note_id_user_id'))
    )
    with op.batch_alter_table('handover_acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_acks_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handover_acks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_acks_user_id'))

    op.drop_table('handover_acks')
    with op.batch_alter_table('handover_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_notes_start_slot'))
        batch_op.drop_index(batch_op.f('ix_handover_notes_site_id'))
        batch_op.drop_index(batch_op.f('ix_handover_notes_shift_id'))
        batch_op.drop_index(batch_op.f('ix_handover_notes_from_shift_id'))

    op.drop_table('handover_notes')
