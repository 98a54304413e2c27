"""Fixtures of the staff tests: the app with WeChat Work and template messages pointed at fakes,
accounts of each role, tickets filed through the real repository, API login helpers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from bot.app import SERVICES_KEY, build_app
from bot.config import Settings
from handlers.services import Services
from handlers.staff import accounts
from handlers.staff.workdays import deadlines_for
from storage.columns import utcnow
from storage.models import Ticket
from storage.repositories import tickets as ticket_repo
from tests.support.fake_wework import FakeWeChatWithTemplates, FakeWeWork

PASSWORD = "Correct-horse-9"
TEMPLATE_ID = "tmpl-ticket-progress"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at full strength makes every test slow; the code path is the same."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChatWithTemplates]:
    fake = await FakeWeChatWithTemplates().start()
    yield fake
    await fake.close()


@pytest.fixture
async def fake_wework() -> AsyncIterator[FakeWeWork]:
    fake = await FakeWeWork().start()
    yield fake
    await fake.close()


@pytest.fixture
def staff_settings(settings: Settings, fake_wework: FakeWeWork) -> Settings:
    return replace(
        settings,
        wework_corpid=fake_wework.corpid,
        wework_secret=fake_wework.secret,
        wework_agentid="1000002",
        wework_api_base=fake_wework.base_url,
        extra={"DOUDI_WECHAT_TEMPLATE_ID": TEMPLATE_ID},
    )


@pytest.fixture
async def api(staff_settings: Settings) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(staff_settings))) as test_client:
        yield test_client


@pytest.fixture
def services(api: TestClient) -> Services:
    return api.app[SERVICES_KEY]


async def add_account(
    services: Services, username: str, role: str, centre: str = "", wework_userid: str = ""
) -> None:
    async with services.db.transaction() as session:
        await accounts.create_account(
            session,
            username=username,
            display_name=username.upper(),
            role=role,
            centre=centre,
            password=PASSWORD,
            wework_userid=wework_userid,
        )


@pytest.fixture
async def staff(services: Services) -> dict[str, str]:
    """One account of each kind: clerks of 鼓楼区 and 台江区, a supervisor, an admin."""
    await add_account(services, "clerk_gl", "clerk", "gulou", "wx-clerk-gl")
    await add_account(services, "clerk_tj", "clerk", "taijiang", "wx-clerk-tj")
    await add_account(services, "boss", "supervisor")
    await add_account(services, "admin", "admin")
    return {"clerk": "clerk_gl", "other_clerk": "clerk_tj", "supervisor": "boss", "admin": "admin"}


async def file_ticket(
    services: Services,
    *,
    centre: str = "鼓楼区",
    title: str = "营业执照变更卡住了",
    fields: dict[str, Any] | None = None,
    openid: str = "o_citizen_1",
    created_at: datetime | None = None,
    classification: str = "政务类",
) -> Ticket:
    now = created_at or utcnow()
    due = deadlines_for(now)
    serial = next(_numbers)
    async with services.db.transaction() as session:
        return await ticket_repo.file(
            session,
            services.db.backend,
            ticket_repo.NewTicket(
                openid=openid,
                conversation_id=None,
                fields=fields or {"诉求内容": "公司地址变更办不下来", "联系电话": "13800000000"},
                centre=centre,
                title=title,
                phone="13800000000",
                classification=classification,
                category="市场主体",
                accept_due_at=due.accept_due_at,
                resolve_due_at=due.resolve_due_at,
            ),
            lambda day, n: day.strftime("%y%m%d") + f"{(n + serial * 1000) % 100000:05d}" + "0",
            now,
        )


async def login(api: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await api.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()
    token = (await response.json())["token"]
    return {"Authorization": f"Bearer {token}"}


async def act(
    api: TestClient, headers: dict[str, str], number: str, **payload: Any
) -> tuple[int, dict[str, Any]]:
    response = await api.post(f"/api/v1/tickets/{number}/actions", json=payload, headers=headers)
    return response.status, await response.json()
