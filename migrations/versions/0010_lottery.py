"""lottery: claim requests collected in a release's request window, drawn by weighted lottery

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claim_requests',
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('weight', sa.Float(), nullable=True),
    sa.Column('drawn_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('won', sa.Boolean(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_claim_requests_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_claim_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_requests')),
    sa.UniqueConstraint('shift_id', 'user_id', name=op.f('uq_claim_requests_shift_id_user_id'))
    )
    with op.batch_alter_table('claim_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_requests_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requests_close_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_shifts_requests_close_at'), ['requests_close_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shifts_requests_close_at'))
        batch_op.drop_column('requests_close_at')

    with op.batch_alter_table('claim_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_requests_user_id'))

    op.drop_table('claim_requests')
