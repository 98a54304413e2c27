"""`doudi staff ...`: staff accounts from the command line. Passwords come on standard input."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.database import run_in_transaction
from handlers import centres
from handlers.staff import accounts
from handlers.staff.errors import StaffError

T = TypeVar("T")


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    try:
        return run_in_transaction(work)
    except StaffError as error:
        raise click.ClickException(error.message) from None


def _password() -> str:
    if sys.stdin.isatty():
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("请从标准输入提供密码")
    return password


@click.group("staff")
def command() -> None:
    """Staff accounts of the window."""


@command.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="显示名")
@click.option("--role", type=click.Choice(["clerk", "supervisor", "admin"]), required=True)
@click.option("--centre", default="", help="centre code: " + ", ".join(centres.codes()))
@click.option("--wework-userid", default="", help="WeChat Work user id for notifications")
def add(username: str, display_name: str, role: str, centre: str, wework_userid: str) -> None:
    """Create an account; its password is read from standard input."""
    password = _password()

    async def work(session: AsyncSession) -> str:
        account = await accounts.create_account(
            session,
            username=username,
            display_name=display_name,
            role=role,
            centre=centre,
            password=password,
            wework_userid=wework_userid,
        )
        return account.centre

    code = _run(work)
    where = f"（{centres.name_of(code)}）" if code else ""
    click.echo(f"已创建账号 {username}：{display_name}，角色 {role}{where}")


@command.command("passwd")
@click.argument("username")
def passwd(username: str) -> None:
    """Set a new password (from standard input); ends the account's sessions."""
    password = _password()

    async def work(session: AsyncSession) -> None:
        await accounts.set_password(session, username, password)

    _run(work)
    click.echo(f"已更新 {username} 的密码")


@command.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account and end its sessions."""

    async def work(session: AsyncSession) -> None:
        await accounts.set_disabled(session, username, True)

    _run(work)
    click.echo(f"已停用账号 {username}")


@command.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled account again."""

    async def work(session: AsyncSession) -> None:
        await accounts.set_disabled(session, username, False)

    _run(work)
    click.echo(f"已启用账号 {username}")
