"""The console in a real browser (Playwright driving the system's chromium; no browser is ever
downloaded). The app is served on a real local port; the citizen talks to it through the signed
WeChat webhook, and the fake WeChat API receives what staff send back.

Set DOUDI_SCREENSHOTS=docs/img to also refresh the screenshots of docs/staff.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.simulator import WeChatSide
from handlers.caselib import drafts
from handlers.staff import lifecycle
from handlers.staff.access import Actor
from storage.models import Case, StaffAccount
from tests.conftest import AES_KEY, APPID, TOKEN, WeChat, wait_for
from tests.console.conftest import PASSWORD
from tests.journey import Citizen
from tests.staff.conftest import TEMPLATE_ID

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} is not installed (CI installs the chromium package); "
    "browser tests never download a browser",
)
SHOTS = os.environ.get("DOUDI_SCREENSHOTS", "")  # a folder that exists, e.g. docs/img
OUTCOME = "社保中心安排工作人员上门，为卧床老人当场完成养老金领取资格认证"
SIMILAR = "我妈妈瘫痪在床，去不了社保窗口，养老金资格认证一直通不过怎么办"


@pytest.fixture
def staff_settings(settings: Settings, fake_wework) -> Settings:  # the queue polls fast here
    return replace(
        settings,
        wework_corpid=fake_wework.corpid,
        wework_secret=fake_wework.secret,
        wework_agentid="1000002",
        wework_api_base=fake_wework.base_url,
        extra={"DOUDI_WECHAT_TEMPLATE_ID": TEMPLATE_ID, "DOUDI_CONSOLE_POLL_MS": "300"},
    )


@pytest.fixture
async def chromium() -> AsyncIterator:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        yield browser
        await browser.close()


@pytest.fixture
def citizen(api) -> Citizen:
    return Citizen(WeChat(api, WeChatSide(TOKEN, AES_KEY, APPID)))


async def new_page(chromium, api, username: str):
    context = await chromium.new_context(
        base_url=str(api.make_url("/")), viewport={"width": 1360, "height": 900}, locale="zh-CN"
    )
    page = await context.new_page()
    page.set_default_timeout(10000)
    await page.goto("/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    return page


async def shot(page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def test_a_clerk_works_a_ticket_from_chat_to_case_draft(
    chromium, api, services, staff, citizen, fake_wechat
) -> None:
    page = await new_page(chromium, api, "clerk_gl")
    assert page.url.endswith("/console/queue")
    number = await citizen.file_request()  # through the signed webhook, while the queue is open
    grouped = " ".join(number[i : i + 4] for i in range(0, 12, 4))
    # The open queue refreshes itself when the handoff arrives.
    await page.get_by_role("link", name=grouped).wait_for()
    await shot(page, "queue")
    await page.fill("input[name=q]", number)
    await page.click("form.filters button[type=submit]")
    await page.get_by_role("link", name=grouped).click()
    await page.wait_for_url(f"**/console/tickets/{number}")
    body = page.locator("main")
    assert "养老金资格认证" in await body.inner_text()  # the transcript
    assert "王阿姨" in await body.inner_text()

    await page.click("#act-accept button[type=submit]")
    await page.get_by_text("已受理", exact=True).first.wait_for()

    await page.click("#act-reply summary")
    await page.select_option("#act-reply select[name=canned]", index=1)
    reply = page.locator("#reply-text")
    assert (await reply.input_value()).startswith("您好，您的诉求已收到")  # the canned text
    await reply.fill("王阿姨您好，我们已联系社保中心，本周内安排上门认证。")
    await page.click("#act-reply button[type=submit]")
    await page.locator(".alert.ok").wait_for()
    await wait_for(
        lambda: any("本周内安排上门认证" in t for t in fake_wechat.texts_to(citizen.openid))
    )

    await page.click("#act-resolve summary")
    await page.fill("#act-resolve textarea[name=outcome]", OUTCOME)
    await page.select_option("#act-resolve select[name=stuck_reason]", "mutual_prerequisite")
    await page.click("#act-resolve button[type=submit]")
    await page.locator(".status.s-resolved").first.wait_for()
    await shot(page, "ticket")
    assert any(OUTCOME in t for t in fake_wechat.texts_to(citizen.openid))

    await page.click("#make-draft")
    await page.wait_for_url("**/console/cases/T*")
    text = await page.locator("main").inner_text()
    assert "待审核" in text and "养老金" in text and OUTCOME in text
    assert "13912345678" not in text and "王阿姨" not in text
    async with services.db.sessions() as session:
        case = await session.get(Case, drafts.draft_id(number))
    assert case.status == "draft" and case.source_ticket_id is not None
    await page.context.close()


async def _resolved_draft(services, number: str) -> str:
    async with services.db.sessions() as session:
        account = (
            await session.execute(
                StaffAccount.__table__.select().where(StaffAccount.username == "clerk_gl")
            )
        ).one()
    clerk = Actor(account.id, account.username, account.display_name, "clerk", "gulou")
    for payload in (
        {"type": "accept"},
        {"type": "guide", "guidance": "联系社保中心预约上门认证"},
        {"type": "resolve", "outcome": OUTCOME, "stuck_reason": "mutual_prerequisite"},
    ):
        await lifecycle.perform(services, clerk, number, payload)
    case, created = await drafts.draft_from_ticket(services, clerk, number)
    assert created
    return case["id"]


async def test_b_a_supervisor_publishes_and_the_bot_answers_from_it(
    chromium, api, services, staff, citizen
) -> None:
    number = await citizen.file_request()
    case_id = await _resolved_draft(services, number)
    before = await Citizen(citizen.wechat).say(SIMILAR)
    assert OUTCOME not in before  # not in the library yet

    page = await new_page(chromium, api, "boss")
    await page.goto("/console/cases/review")
    await page.get_by_role("link", name=case_id).click()
    await page.wait_for_url(f"**/console/cases/{case_id}")
    await page.fill("input[name=keywords]", "养老金、资格认证、上门认证、卧床")
    await shot(page, "review")
    await page.click("#publish")
    await page.get_by_text("已发布：机器人从现在起").wait_for()

    # Published: the very next citizen with a similar problem is answered from it.
    reply = await Citizen(citizen.wechat).say(SIMILAR)
    assert OUTCOME in reply, reply

    await page.goto("/console/dashboard")
    await page.locator("svg.chart").first.wait_for()
    await shot(page, "dashboard")
    await page.context.close()
