"""hardening: per-citizen rate windows, the outbound outbox, health probes

Revision ID: 0004_harden
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.columns

revision = "0004_harden"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_probes",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", storage.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", storage.columns.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("sent_at", storage.columns.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_openid", ["openid"], unique=False)

    op.create_table(
        "rate_windows",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("window_start", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("openid"),
    )


def downgrade() -> None:
    op.drop_table("rate_windows")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_openid")
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("health_probes")
