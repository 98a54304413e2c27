"""/healthz, `doudi db upgrade`, and `doudi chat` against a server on a real port."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace

from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from bot.app import build_app
from bot.cli import main
from tests.conftest import TOKEN


async def test_healthz_ok_with_database(client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["database"] is True


async def test_healthz_503_without_database(settings) -> None:
    unreachable = replace(settings, database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none")
    async with TestClient(TestServer(build_app(unreachable))) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["database"] is False


def test_db_upgrade_creates_schema(tmp_path, monkeypatch) -> None:
    path = tmp_path / "var" / "cli.db"
    monkeypatch.setenv("DOUDI_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = {r[0] for r in sqlite3.connect(path).execute("select name from sqlite_master")}
    assert {"citizens", "messages", "inbound_deliveries", "alembic_version"} <= tables
    # Running it again is harmless.
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0


async def test_chat_shows_welcome_and_menu(settings, monkeypatch) -> None:
    # The chat command plays WeChat against a server on a real port, with the same
    # configuration (token, AES key) as the server.
    monkeypatch.setenv("DOUDI_WECHAT_TOKEN", TOKEN)
    monkeypatch.setenv("DOUDI_WECHAT_AES_KEY", settings.wechat_aes_key)
    monkeypatch.setenv("DOUDI_WECHAT_APPID", settings.wechat_appid)
    async with TestClient(TestServer(build_app(settings))) as client:
        url = str(client.make_url("/wechat"))
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["chat", "--url", url], input="你好\n/quit\n"
        )
    assert result.exit_code == 0, result.output
    assert "办不成" in result.output  # the welcome
    assert "查询进度" in result.output  # the menu


def test_chat_reports_unreachable_server() -> None:
    result = CliRunner().invoke(main, ["chat", "--url", "http://127.0.0.1:9/wechat"], input="")
    assert result.exit_code != 0
    assert "cannot reach" in result.output
