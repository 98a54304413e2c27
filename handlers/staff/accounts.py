"""Staff accounts: creation and changes (admin, CLI), passwords (argon2), login with lockout,
and bearer tokens. Tokens and session ids are random; only their SHA-256 is stored."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import centres
from handlers.staff.access import ROLES, Actor
from handlers.staff.config import StaffConfig, load_config
from handlers.staff.errors import Invalid, NotFound, TooMany, Unauthorized
from storage.columns import utcnow
from storage.db import Database
from storage.models import StaffAccount
from storage.repositories import staff as repo

MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def check_password_strength(password: str) -> None:
    """At least 10 characters, of at least two classes (lower, upper, digits, others)."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"密码太短：至少需要 {MIN_PASSWORD} 个字符")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 2:
        raise Invalid("密码太弱：请混合使用字母、数字或符号中的至少两类")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_fields(role: str, centre: str) -> str:
    """Validated centre code for the role ("" when none)."""
    if role not in ROLES:
        raise Invalid("角色应为 clerk、supervisor 或 admin 之一")
    if centre:
        found = centres.lookup(centre)
        if found is None:
            raise Invalid(f"没有编码为「{centre}」的服务中心；可选：{'、'.join(centres.codes())}")
        return found.code
    if role == "clerk":
        raise Invalid("窗口人员（clerk）必须指定所属服务中心")
    return ""


async def create_account(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    centre: str = "",
    wework_userid: str = "",
    now: datetime | None = None,
) -> StaffAccount:
    now = now or utcnow()
    if not USERNAME.match(username):
        raise Invalid("用户名只能包含字母、数字、下划线、点和连字符，长度 2 到 64")
    if not display_name.strip() or len(display_name) > 64:
        raise Invalid("显示名不能为空，且不超过 64 个字符")
    code = _check_fields(role, centre)
    check_password_strength(password)
    if await repo.account_by_username(session, username) is not None:
        raise Invalid(f"用户名「{username}」已存在")
    account = StaffAccount(
        username=username,
        display_name=display_name.strip(),
        role=role,
        centre=code,
        password_hash=await asyncio.to_thread(hash_password, password),
        wework_userid=wework_userid.strip(),
        disabled=False,
        failed_logins=0,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await session.flush()
    return account


async def get_account(session: AsyncSession, username: str) -> StaffAccount:
    account = await repo.account_by_username(session, username)
    if account is None:
        raise NotFound(f"没有用户名为「{username}」的账号")
    return account


async def set_password(
    session: AsyncSession, username: str, password: str, now: datetime | None = None
) -> StaffAccount:
    account = await get_account(session, username)
    check_password_strength(password)
    account.password_hash = await asyncio.to_thread(hash_password, password)
    account.failed_logins, account.locked_until, account.first_failed_at = 0, None, None
    account.updated_at = now or utcnow()
    await repo.delete_sessions_of(session, account.id)  # a new password ends every session
    return account


async def set_disabled(
    session: AsyncSession, username: str, disabled: bool = True, now: datetime | None = None
) -> StaffAccount:
    account = await get_account(session, username)
    account.disabled = disabled
    account.updated_at = now or utcnow()
    if disabled:
        await repo.delete_sessions_of(session, account.id)
    return account


async def update_account(
    session: AsyncSession, username: str, changes: dict[str, Any], now: datetime | None = None
) -> StaffAccount:
    """Change display_name, role, centre, wework_userid, disabled, password (admin)."""
    now = now or utcnow()
    account = await get_account(session, username)
    role = changes.get("role", account.role)
    centre = changes.get("centre", account.centre)
    account.centre = _check_fields(role, centre)
    if account.role != role:
        await repo.delete_sessions_of(session, account.id)  # privileges changed: log in again
    account.role = role
    if "display_name" in changes:
        name = changes["display_name"]
        if not name.strip() or len(name) > 64:
            raise Invalid("显示名不能为空，且不超过 64 个字符")
        account.display_name = name.strip()
    if "wework_userid" in changes:
        account.wework_userid = changes["wework_userid"].strip()
    if "password" in changes:
        await set_password(session, username, changes["password"], now)
    if "disabled" in changes:
        await set_disabled(session, username, bool(changes["disabled"]), now)
    account.updated_at = now
    await session.flush()
    return account


def account_view(account: StaffAccount) -> dict[str, Any]:
    return {
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "centre": account.centre,
        "centre_name": centres.name_of(account.centre),
        "wework_userid": account.wework_userid,
        "disabled": account.disabled,
        "locked_until": account.locked_until.isoformat() if account.locked_until else None,
        "created_at": account.created_at.isoformat(),
    }


@dataclass(frozen=True)
class IssuedToken:
    token: str  # give to the client; never stored
    expires_at: datetime
    actor: Actor
    csrf_token: str = ""


LOGIN_FAILED = "用户名或密码错误"


async def login(
    db: Database,
    username: str,
    password: str,
    address: str,
    *,
    kind: str = "api",
    now: datetime | None = None,
    previous_token: str | None = None,
) -> IssuedToken:
    """Check the password and issue a token (kind "api") or console session (kind "console").

    Refused with TooMany while the account is locked (config.lockout_failures failures within
    config.lockout_window_minutes lock it for config.lockout_minutes) or when the address has
    failed config.address_failures times within the window. A console login passes the session
    id it had (if any) as previous_token: that session ends, so the id rotates on login.
    """
    now = now or utcnow()
    async with db.sessions() as session:
        config = await load_config(session)
        window = timedelta(minutes=config.lockout_window_minutes)
        if await repo.failures_from(session, address, now, window) >= config.address_failures:
            raise TooMany("登录失败次数过多，请稍后再试")
        account = await repo.account_by_username(session, username)
        if account is not None and account.locked_until and account.locked_until > now:
            raise TooMany("该账号因多次登录失败已临时锁定，请稍后再试或联系管理员")
        stored_hash = account.password_hash if account is not None else _DUMMY_HASH
    # argon2 is slow on purpose: verify outside the write transaction and off the loop.
    ok = await asyncio.to_thread(verify_password, stored_hash, password)
    ok = ok and account is not None and not account.disabled
    issued: IssuedToken | None = None
    async with db.transaction(lock_key=f"staff-login:{username}") as session:
        await repo.add_attempt(session, username, address, ok, now)
        account = await repo.account_by_username(session, username)
        if account is not None and not ok:
            _count_failure(account, now, config)
        elif account is not None:
            account.failed_logins, account.first_failed_at, account.locked_until = 0, None, None
            if previous_token:
                await repo.delete_session(session, hash_token(previous_token))
            issued = await _issue(session, account, kind, now, config)
    # Raised after commit: the failure is counted, not rolled back.
    if issued is None:
        raise Unauthorized(LOGIN_FAILED)
    return issued


def _count_failure(account: StaffAccount, now: datetime, config: StaffConfig) -> None:
    window = timedelta(minutes=config.lockout_window_minutes)
    if account.first_failed_at is None or now - account.first_failed_at > window:
        account.first_failed_at, account.failed_logins = now, 0
    account.failed_logins += 1
    if account.failed_logins >= config.lockout_failures:
        account.locked_until = now + timedelta(minutes=config.lockout_minutes)
        account.failed_logins, account.first_failed_at = 0, None


async def _issue(
    session: AsyncSession, account: StaffAccount, kind: str, now: datetime, config: StaffConfig
) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    hours = config.token_ttl_hours if kind == "api" else config.session_ttl_hours
    expires_at = now + timedelta(hours=hours)
    csrf = secrets.token_urlsafe(32) if kind == "console" else ""
    await repo.add_session(
        session,
        token_hash=hash_token(token),
        kind=kind,
        account_id=account.id,
        now=now,
        expires_at=expires_at,
        csrf_token=csrf,
    )
    return IssuedToken(token, expires_at, Actor.of(account), csrf)


async def actor_for_token(
    session: AsyncSession, token: str, *, kind: str = "api", now: datetime | None = None
) -> Actor | None:
    """The staff member a live token belongs to, or None (unknown, expired, disabled)."""
    if not token:
        return None
    found = await repo.session_with_account(session, hash_token(token), kind, now or utcnow())
    return Actor.of(found[1]) if found else None


async def logout(session: AsyncSession, token: str) -> None:
    await repo.delete_session(session, hash_token(token))
