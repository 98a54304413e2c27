"""the flood limit's one-minute window on the citizen's row (one statement a message)

Every message from a citizen counted itself in rate_windows and then read its citizen: two
statements, and the delivery check a third. With the window on the citizen's row, one
UPDATE ... RETURNING does all three (storage/repositories/citizens.arrive). A window in
progress is not carried over: at worst a citizen gets one more minute's worth of messages.

Revision ID: 0005_citizen_rate
Revises: 0004_harden
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.columns

revision = "0005_citizen_rate"
down_revision = "0004_harden"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rate_window_start", storage.columns.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("rate_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.drop_table("rate_windows")


def downgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("window_start", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("openid"),
    )
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.drop_column("rate_count")
        batch_op.drop_column("rate_window_start")
