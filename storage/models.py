"""The tables. Every change of schema comes with a migration in storage/migrations/versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.columns import UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Citizen(Base):
    """A WeChat user of the account, keyed by openid, with their dialog state."""

    __tablename__ = "citizens"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscribed: Mapped[bool] = mapped_column(default=True)
    scene: Mapped[str] = mapped_column(String(64), default="")  # qrscene_ key they followed from
    dialog_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    # The customer-service API only reaches a citizen within 48 h of their last message.
    last_inbound_at: Mapped[datetime | None]
    # The flood limit: messages counted in the one-minute window that started at
    # rate_window_start (storage/repositories/citizens.arrive).
    rate_window_start: Mapped[datetime | None]
    rate_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Conversation(Base):
    """A stretch of messages with one citizen; a filed ticket links to its conversation."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class Message(Base):
    """Every inbound and outbound message, so staff can read the transcript."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    kind: Mapped[str] = mapped_column(String(16))  # text, voice, image, ..., event
    text: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[str] = mapped_column(String(256), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    wechat_msg_id: Mapped[str] = mapped_column(String(64), default="")
    # Outbound only: passive (in the HTTP reply), sent, failed, pending.
    delivery: Mapped[str] = mapped_column(String(16), default="")
    error_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundDelivery(Base):
    """One row per WeChat delivery key, so re-deliveries are answered, not re-processed."""

    __tablename__ = "inbound_deliveries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="processing")  # processing|done|async
    reply_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AccessToken(Base):
    """WeChat API access tokens, shared by every worker so only one fetches at a time."""

    __tablename__ = "access_tokens"

    appid: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(600))
    expires_at: Mapped[datetime]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    """A request filed for the 办不成事 window. Its history is in ticket_events."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_queue", "centre", "status", "created_at"),
        Index("ix_tickets_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)  # see handlers/tickets/number.py
    openid: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    # new -> accepted -> in_progress -> resolved -> closed (and back to in_progress on reopen)
    status: Mapped[str] = mapped_column(String(16), default="new")
    centre: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str] = mapped_column(String(120), default="")
    # The intake's fields, by field name (诉求内容, 去过的部门, ..., 联系电话): the flow decides.
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    phone: Mapped[str] = mapped_column(String(32), default="")  # for the owner check by last 4
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # What the bot suggested from the case library before the handoff, and whether it helped.
    case_suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    incomplete: Mapped[bool] = mapped_column(default=False)  # handed over before intake finished
    consent_at: Mapped[datetime | None]
    # Classification as received (bot's suggestion) and as it stands (staff-confirmed).
    classification_received: Mapped[str] = mapped_column(String(16), default="")
    classification: Mapped[str] = mapped_column(String(16), default="")
    category_received: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    accept_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(Base):
    """Append-only: every change to a ticket, with actor, time and before/after values."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    type: Mapped[str] = mapped_column(String(32))  # filed, accept, transfer, reply, resolve, ...
    actor: Mapped[str] = mapped_column(String(64))  # "citizen", "bot", or a staff username
    public: Mapped[bool] = mapped_column(default=False)  # shown to the citizen on lookup
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TicketDayCounter(Base):
    """Per-day ticket counter, incremented atomically inside the filing transaction."""

    __tablename__ = "ticket_day_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class LookupFailure(Base):
    """A wrong answer to a ticket-lookup challenge; too many in an hour lock lookups."""

    __tablename__ = "lookup_failures"
    __table_args__ = (Index("ix_lookup_failures_who", "openid", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Timer(Base):
    """A persisted timer of a citizen's dialog; fired once across all workers."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("openid", "name"), Index("ix_timers_due", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    # A worker claims a due timer for a while; if it dies, the claim lapses and another fires it.
    claimed_until: Mapped[datetime | None]


class Case(Base):
    """A solved case of the shared library; the bot matches citizens' requests against it."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(16))  # 政务类 | 非政务类
    handling: Mapped[str] = mapped_column(String(8))  # 转办 | 协调 | 引导 | 协办
    department: Mapped[str] = mapped_column(String(400), default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="published")  # draft|published|retired
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    shown_count: Mapped[int] = mapped_column(Integer, default=0)
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAccount(Base):
    """A member of staff at the window: clerk (one centre), supervisor (all) or admin."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # clerk | supervisor | admin
    centre: Mapped[str] = mapped_column(String(16), default="")  # code, see handlers/centres.py
    password_hash: Mapped[str] = mapped_column(String(255))
    wework_userid: Mapped[str] = mapped_column(String(64), default="")  # for 企业微信 messages
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """An API bearer token or a console cookie session. Only the token's SHA-256 is kept."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # api | console
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), default="")  # console sessions only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class StaffLoginAttempt(Base):
    """Every login attempt, for the per-address limit and the audit trail."""

    __tablename__ = "staff_login_attempts"
    __table_args__ = (
        Index("ix_staff_login_attempts_address", "address", "at"),
        Index("ix_staff_login_attempts_username", "username", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAudit(Base):
    """Who read what: reading a ticket's personal data, account changes, configuration."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index("ix_staff_audit_ticket", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # view_ticket, create_account, ...
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TicketNotification(Base):
    """An outbox row per notification about a ticket, to the citizen or to the centre's staff.

    Queued in the action's transaction, sent after commit; the row keeps how it went
    (sent by customer-service or template message, or pending for the console to show).
    """

    __tablename__ = "ticket_notifications"
    __table_args__ = (Index("ix_ticket_notifications_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    audience: Mapped[str] = mapped_column(String(8))  # citizen | staff
    recipient: Mapped[str] = mapped_column(String(64))  # openid, or centre code for staff
    kind: Mapped[str] = mapped_column(String(16))  # reply, accepted, resolved, transfer, filed...
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), default="queued"
    )  # queued|sending|sent|pending|skipped
    channel: Mapped[str] = mapped_column(String(16), default="")  # custom | template | wework
    error_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class StaffSetting(Base):
    """Configuration an admin changes at run time (deadlines, stuck reasons), by key."""

    __tablename__ = "staff_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxItem(Base):
    """A message waiting to go out through WeChat's API, retried with backoff until it does,
    WeChat refuses it for good, or the citizen's 48-hour window closes."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_openid", "openid"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="reply")  # reply | push
    text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # After this WeChat no longer accepts customer-service messages to the citizen.
    expires_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(200), default="")
    error_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class HealthProbe(Base):
    """One row rewritten by /healthz: proves the database still takes writes."""

    __tablename__ = "health_probes"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]
