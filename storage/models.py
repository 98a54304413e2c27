"""The tables. Every change of schema comes with a migration in storage/migrations/versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
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
