"""staff accounts, sessions, audit, notifications, settings

Revision ID: 0003
Revises: 0003_cases
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.columns

revision = "0003"
down_revision = "0003_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("centre", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("wework_userid", sa.String(length=64), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", storage.columns.UTCDateTime(), nullable=True),
        sa.Column("locked_until", storage.columns.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "staff_login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", storage.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_staff_login_attempts_address", ["address", "at"], unique=False)
        batch_op.create_index("ix_staff_login_attempts_username", ["username", "at"], unique=False)

    op.create_table(
        "staff_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", storage.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_accounts.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_sessions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staff_sessions_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "staff_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", storage.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_audit_at"), ["at"], unique=False)
        batch_op.create_index("ix_staff_audit_ticket", ["ticket_id", "at"], unique=False)

    op.create_table(
        "ticket_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("sent_at", storage.columns.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_notifications_status", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_notifications_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notifications_ticket_id"))
        batch_op.drop_index("ix_ticket_notifications_status")

    op.drop_table("ticket_notifications")
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_audit_ticket")
        batch_op.drop_index(batch_op.f("ix_staff_audit_at"))

    op.drop_table("staff_audit")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_staff_sessions_account_id"))

    op.drop_table("staff_sessions")
    op.drop_table("staff_settings")
    with op.batch_alter_table("staff_login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_login_attempts_username")
        batch_op.drop_index("ix_staff_login_attempts_address")

    op.drop_table("staff_login_attempts")
    op.drop_table("staff_accounts")
