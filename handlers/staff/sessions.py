"""Cookie sessions and CSRF for the server-rendered console (pages come later).

- The session id is a random token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS);
  the database keeps only its SHA-256 (staff_sessions, kind "console").
- Logging in always issues a new id and ends the one the browser had: no session fixation.
- Each session has its own CSRF token; every POST form carries it (field CSRF_FIELD) and
  check_csrf compares it in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.staff import accounts
from handlers.staff.access import Actor
from handlers.staff.errors import Forbidden
from storage.columns import utcnow
from storage.db import Database
from storage.repositories import staff as repo

COOKIE_NAME = "doudi_session"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str  # only ever in the cookie
    csrf_token: str
    actor: Actor
    expires_at: datetime


async def log_in(
    db: Database,
    username: str,
    password: str,
    address: str,
    previous_session_id: str | None = None,
    now: datetime | None = None,
) -> ConsoleSession:
    """Check the password (same lockout as the API) and start a new session."""
    issued = await accounts.login(
        db,
        username,
        password,
        address,
        kind="console",
        now=now,
        previous_token=previous_session_id,
    )
    return ConsoleSession(issued.token, issued.csrf_token, issued.actor, issued.expires_at)


async def load(
    session: AsyncSession, session_id: str | None, now: datetime | None = None
) -> ConsoleSession | None:
    """The live session behind a cookie value, or None."""
    if not session_id:
        return None
    found = await repo.session_with_account(
        session, accounts.hash_token(session_id), "console", now or utcnow()
    )
    if found is None:
        return None
    row, account = found
    return ConsoleSession(session_id, row.csrf_token, Actor.of(account), row.expires_at)


async def log_out(session: AsyncSession, session_id: str) -> None:
    await repo.delete_session(session, accounts.hash_token(session_id))


def check_csrf(console_session: ConsoleSession, submitted: str | None) -> None:
    """Raise Forbidden unless the form's token is this session's."""
    if not submitted or not hmac.compare_digest(
        console_session.csrf_token.encode(), submitted.encode()
    ):
        raise Forbidden("页面已过期或来源不明，请刷新后重试")


async def check_form(request: web.Request, console_session: ConsoleSession) -> None:
    """For every console POST: the form's CSRF field must match the session's token."""
    form = await request.post()
    value = form.get(CSRF_FIELD)
    check_csrf(console_session, value if isinstance(value, str) else None)


def set_cookie(response: web.StreamResponse, console_session: ConsoleSession, *, secure: bool):
    max_age = max(0, int((console_session.expires_at - utcnow()).total_seconds()))
    response.set_cookie(
        COOKIE_NAME,
        console_session.session_id,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE_NAME, path="/")


def cookie_value(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE_NAME)
