"""WeChat access tokens, shared by all workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AccessToken


async def get(session: AsyncSession, appid: str) -> AccessToken | None:
    return await session.get(AccessToken, appid, populate_existing=True)


async def save(
    session: AsyncSession, appid: str, token: str, expires_at: datetime, now: datetime
) -> None:
    row = await session.get(AccessToken, appid)
    if row is None:
        session.add(AccessToken(appid=appid, token=token, expires_at=expires_at, fetched_at=now))
    else:
        row.token, row.expires_at, row.fetched_at = token, expires_at, now
    await session.flush()
