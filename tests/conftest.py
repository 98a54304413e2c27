"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
the fake WeChat API, the app served over real HTTP, and WeChat's side of the protocol."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_app
from bot.config import Settings
from bot.simulator import WeChatSide
from storage.migrate import upgrade
from storage.models import Base
from tests.support.fake_wechat import FakeWeChat

POSTGRES_URL = os.environ.get("DOUDI_TEST_POSTGRES_URL", "")
TOKEN = "test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
APPID = "wx1234567890abcdef"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="DOUDI_TEST_POSTGRES_URL not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against PostgreSQL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the migrated file."""
    path = tmp_path_factory.mktemp("template") / "doudi.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "doudi.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    await _truncate(url)
    return url


@pytest.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChat]:
    fake = await FakeWeChat().start()
    yield fake
    await fake.close()


@pytest.fixture(params=["safe", "plain"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(database_url: str, fake_wechat: FakeWeChat) -> Settings:
    return Settings(
        database_url=database_url,
        wechat_token=TOKEN,
        wechat_appid=APPID,
        wechat_secret="test-secret",
        wechat_aes_key=AES_KEY,
        wechat_api_base=fake_wechat.base_url,
        ticket_key="test-ticket-key",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    """The real app, served over real HTTP on a local port."""
    async with TestClient(TestServer(build_app(settings))) as test_client:
        yield test_client


class WeChat:
    """Plays WeChat's servers against the app: signs, encrypts, posts, opens the reply."""

    def __init__(self, client: TestClient, side: WeChatSide) -> None:
        self.client = client
        self.side = side

    async def post(self, xml: str) -> tuple[int, str | None, str]:
        query, body = self.side.seal(xml)
        response = await self.client.post("/wechat", params=query, data=body)
        raw = await response.text()
        reply = self.side.open_reply(raw, query) if response.status == 200 else None
        return response.status, reply, raw

    async def say(self, xml: str) -> str | None:
        status, reply, raw = await self.post(xml)
        assert status == 200, raw
        return reply


@pytest.fixture
def wechat(client: TestClient) -> WeChat:
    return WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID))


@pytest.fixture
def plain_wechat(client: TestClient) -> WeChat:
    return WeChat(client, WeChatSide(TOKEN))


def new_openid() -> str:
    return "o_test_" + uuid.uuid4().hex[:12]


async def wait_for(predicate, within: float = 5.0) -> None:
    """Poll until predicate() holds (a test watching another server's side effects)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the condition lives in another server
            await asyncio.sleep(0.02)
