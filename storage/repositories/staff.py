"""Staff accounts, their sessions and login attempts, the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffAccount, StaffAudit, StaffLoginAttempt, StaffSession


async def account_by_username(session: AsyncSession, username: str) -> StaffAccount | None:
    return await session.scalar(
        select(StaffAccount)
        .where(StaffAccount.username == username)
        .execution_options(populate_existing=True)
    )


async def accounts(session: AsyncSession) -> list[StaffAccount]:
    return list(await session.scalars(select(StaffAccount).order_by(StaffAccount.username)))


async def accounts_of_centre(session: AsyncSession, centre_code: str) -> list[StaffAccount]:
    rows = await session.scalars(
        select(StaffAccount).where(
            StaffAccount.centre == centre_code, StaffAccount.disabled.is_(False)
        )
    )
    return list(rows)


async def add_session(
    session: AsyncSession,
    *,
    token_hash: str,
    kind: str,
    account_id: int,
    now: datetime,
    expires_at: datetime,
    csrf_token: str = "",
) -> StaffSession:
    row = StaffSession(
        token_hash=token_hash,
        kind=kind,
        account_id=account_id,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row


async def session_with_account(
    session: AsyncSession, token_hash: str, kind: str, now: datetime
) -> tuple[StaffSession, StaffAccount] | None:
    row = (
        await session.execute(
            select(StaffSession, StaffAccount)
            .join(StaffAccount, StaffAccount.id == StaffSession.account_id)
            .where(
                StaffSession.token_hash == token_hash,
                StaffSession.kind == kind,
                StaffSession.expires_at > now,
                StaffAccount.disabled.is_(False),
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def delete_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash))


async def delete_sessions_of(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.account_id == account_id))


async def purge_expired_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))


async def add_attempt(
    session: AsyncSession, username: str, address: str, success: bool, now: datetime
) -> None:
    session.add(
        StaffLoginAttempt(username=username[:64], address=address[:64], success=success, at=now)
    )
    await session.flush()


async def failures_from(
    session: AsyncSession, address: str, now: datetime, window: timedelta
) -> int:
    found = await session.scalar(
        select(func.count()).where(
            StaffLoginAttempt.address == address,
            StaffLoginAttempt.success.is_(False),
            StaffLoginAttempt.at > now - window,
        )
    )
    return int(found or 0)


async def audit(
    session: AsyncSession,
    actor: str,
    action: str,
    now: datetime,
    ticket_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        StaffAudit(actor=actor, action=action, ticket_id=ticket_id, detail=detail or {}, at=now)
    )
    await session.flush()


async def audit_of_ticket(session: AsyncSession, ticket_id: int) -> list[StaffAudit]:
    rows = await session.scalars(
        select(StaffAudit).where(StaffAudit.ticket_id == ticket_id).order_by(StaffAudit.id)
    )
    return list(rows)
