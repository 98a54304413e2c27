"""`doudi staff add/passwd/disable`, password on standard input."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from bot.cli import main
from handlers.staff import accounts
from storage.db import Database
from storage.repositories import staff as staff_repo


async def _invoke(args: list[str], stdin: str = ""):
    return await asyncio.to_thread(CliRunner().invoke, main, ["staff", *args], input=stdin)


async def test_add_passwd_disable(database_url, monkeypatch) -> None:
    monkeypatch.setenv("DOUDI_DATABASE_URL", database_url)
    result = await _invoke(
        ["add", "lin", "--name", "林晓", "--role", "clerk", "--centre", "gulou"], "Strong-pass-1\n"
    )
    assert result.exit_code == 0, result.output
    assert "鼓楼区" in result.output
    db = Database(database_url)
    try:
        async with db.sessions() as session:
            account = await staff_repo.account_by_username(session, "lin")
            assert account is not None and account.centre == "gulou" and account.role == "clerk"
            assert accounts.verify_password(account.password_hash, "Strong-pass-1")
            assert "Strong-pass-1" not in account.password_hash
        result = await _invoke(["passwd", "lin"], "Another-pass-2\n")
        assert result.exit_code == 0, result.output
        result = await _invoke(["disable", "lin"])
        assert result.exit_code == 0, result.output
        async with db.sessions() as session:
            account = await staff_repo.account_by_username(session, "lin")
            assert account is not None and account.disabled
            assert accounts.verify_password(account.password_hash, "Another-pass-2")
    finally:
        await db.dispose()


async def test_refusals(database_url, monkeypatch) -> None:
    monkeypatch.setenv("DOUDI_DATABASE_URL", database_url)
    cases = [
        (
            ["add", "a1", "--name", "甲", "--role", "clerk", "--centre", "mars"],
            "Strong-pass-1\n",
            "服务中心",
        ),
        (["add", "a2", "--name", "乙", "--role", "clerk"], "Strong-pass-1\n", "必须指定"),
        (["add", "a3", "--name", "丙", "--role", "admin"], "short1\n", "太短"),
        (["add", "a4", "--name", "丁", "--role", "admin"], "alllowercaseletters\n", "太弱"),
        (["add", "a5", "--name", "戊", "--role", "admin"], "", "密码"),
        (["passwd", "ghost"], "Strong-pass-1\n", "ghost"),
        (["disable", "ghost"], "", "ghost"),
    ]
    for args, stdin, expected in cases:
        result = await _invoke(args, stdin)
        assert result.exit_code != 0, (args, result.output)
        assert expected in result.output, (args, result.output)
    result = await _invoke(
        ["add", "sup", "--name", "督办", "--role", "supervisor"], "Strong-pass-1\n"
    )
    assert result.exit_code == 0, result.output
    result = await _invoke(
        ["add", "sup", "--name", "督办", "--role", "supervisor"], "Strong-pass-1\n"
    )
    assert result.exit_code != 0 and "已存在" in result.output
