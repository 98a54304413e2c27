"""The console over HTTP: login, sessions, CSRF, roles, escaping, the ticket's actions, the
draft from a resolved ticket, review, the barometer and its exports."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from storage.models import Case, StaffAudit
from tests.console.conftest import console_login, csrf_of, file_ticket, post_form, session_cookie


async def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(browser, staff) -> None:
    client = await browser()
    response = await console_login(client, "clerk_gl")
    assert response.status == 303 and response.headers["Location"] == "/console/queue"
    cookie = response.headers.getall("Set-Cookie")
    session_line = next(c for c in cookie if c.startswith("doudi_session="))
    assert "HttpOnly" in session_line and "SameSite=Lax" in session_line
    page = await client.get("/console/queue")
    assert page.status == 200 and "工单队列" in await page.text()
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    response = await post_form(client, "/console/queue", "/console/logout")
    assert response.status == 303
    response = await client.get("/console/queue", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/console/login")


async def test_wrong_password_then_lockout_message(browser, staff) -> None:
    client = await browser()
    for _ in range(5):
        response = await console_login(client, "clerk_gl", "wrong-password-1")
        assert response.status == 401 and "用户名或密码错误" in await response.text()
    response = await console_login(client, "clerk_gl")  # the right password, but locked
    assert response.status == 429 and "锁定" in await response.text()


async def test_session_fixation_a_planted_id_is_not_the_one_after_login(
    browser, api, staff
) -> None:
    attacker = await browser()
    await console_login(attacker, "clerk_tj")
    planted = session_cookie(attacker)
    assert planted
    victim = await browser()
    victim.cookie_jar.update_cookies({"doudi_session": planted}, api.make_url("/"))
    await console_login(victim, "clerk_gl")
    after = session_cookie(victim)
    assert after and after != planted
    # The planted id no longer works for anyone.
    response = await attacker.get("/console/queue", allow_redirects=False)
    assert response.status == 303
    # A made-up id planted before login is simply replaced.
    other = await browser()
    other.cookie_jar.update_cookies({"doudi_session": "chosen-by-attacker"}, api.make_url("/"))
    await console_login(other, "clerk_gl")
    assert session_cookie(other) not in (None, "chosen-by-attacker")


async def test_csrf_missing_or_wrong_is_refused(browser, services, staff) -> None:
    ticket = await file_ticket(services)
    client = await browser()
    await console_login(client, "clerk_gl")
    url = f"/console/tickets/{ticket.number}/actions"
    for data in ({"type": "accept"}, {"type": "accept", "csrf_token": "forged"}):
        response = await client.post(url, data=data, allow_redirects=False)
        assert response.status == 403 and "页面已过期" in await response.text()
    response = await client.post("/console/logout", data={}, allow_redirects=False)
    assert response.status == 403
    # The login form has its own token: a cross-site login post is refused.
    stranger = await browser()
    response = await stranger.post(
        "/console/login", data={"username": "clerk_gl", "password": "x"}, allow_redirects=False
    )
    assert response.status == 403
    # With the token, the same action goes through.
    response = await post_form(client, f"/console/tickets/{ticket.number}", url, type="accept")
    assert response.status == 303


async def test_each_role_is_refused_what_it_may_not_do(browser, services, staff) -> None:
    ticket = await file_ticket(services)  # 鼓楼区
    other = await browser()
    await console_login(other, "clerk_tj")
    response = await other.get(f"/console/tickets/{ticket.number}")
    assert response.status == 403 and "不属于您所在的服务中心" in await response.text()
    response = await other.get("/console/queue?centre=gulou")
    assert response.status == 403
    response = await other.get("/console/cases/review")
    assert response.status == 403
    response = await other.get("/console/dashboard?centre=gulou")
    assert response.status == 403

    clerk = await browser()
    await console_login(clerk, "clerk_gl")
    page = f"/console/tickets/{ticket.number}"
    response = await post_form(clerk, page, f"{page}/actions", type="accept")
    assert response.status == 303
    response = await post_form(clerk, page, f"{page}/actions", type="extend", days="2", reason="x")
    assert response.status == 403 and "督办人员" in await response.text()
    assert "act-extend" not in await (await clerk.get(page)).text()  # no form offered either
    response = await post_form(clerk, page, f"{page}/draft")  # not resolved yet
    assert response.status == 409

    admin = await browser()
    response = await console_login(admin, "admin")
    assert response.headers["Location"] == "/console/cases/review"
    assert (await admin.get(page)).status == 403
    assert (await admin.get("/console/queue")).status == 403
    assert (await admin.get("/console/cases/review")).status == 200

    # A clerk may not publish, edit or reject a case.
    async with services.db.transaction() as session:
        session.add(Case(id="X1", title="t", category="政务类", handling="引导", status="draft"))
    response = await post_form(clerk, "/console/cases", "/console/cases/X1/publish")
    assert response.status == 403
    response = await post_form(clerk, "/console/cases", "/console/cases/X1", title="改")
    assert response.status == 403
    # Not logged in at all: pages send to login, the poll endpoint answers 401 JSON.
    anonymous = await browser()
    response = await anonymous.get("/console/dashboard", allow_redirects=False)
    assert response.status == 303 and "next=%2Fconsole%2Fdashboard" in response.headers["Location"]
    response = await anonymous.get("/console/queue/stamp.json")
    assert response.status == 401


async def test_what_a_citizen_wrote_renders_inert(browser, services, staff) -> None:
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    ticket = await file_ticket(
        services, title=evil, fields={"request": evil, "name": "<b>王</b>", "phone": "13800000000"}
    )
    client = await browser()
    await console_login(client, "clerk_gl")
    for url in ("/console/queue", f"/console/tickets/{ticket.number}", "/console/queue?q=script"):
        html = await (await client.get(url)).text()
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>王" not in html
        assert "&lt;script&gt;alert(" in html


async def test_ticket_page_actions_canned_reply_and_draft(browser, services, staff) -> None:
    ticket = await file_ticket(
        services,
        fields={
            "request": "我在五一中路88号的店铺营业执照地址变更办不下来，电话13912345678",
            "name": "林女士",
            "phone": "13912345678",
        },
    )
    clerk = await browser()
    await console_login(clerk, "clerk_gl")
    page = f"/console/tickets/{ticket.number}"
    act = f"{page}/actions"
    html = await (await clerk.get(page)).text()
    assert "林女士" in html and "对话记录" in html and "办理记录" in html
    async with services.db.sessions() as session:
        audits = (await session.execute(StaffAudit.__table__.select())).all()
    assert any(a.action == "view_ticket" for a in audits)  # reading is audited
    assert (await post_form(clerk, page, act, type="accept")).status == 303
    html = await (await clerk.get(page)).text()
    assert "您好，您的诉求已收到" in html  # the canned replies from configuration
    response = await post_form(clerk, page, act, type="reply", text="", canned="0")
    assert response.status == 303
    response = await post_form(
        clerk, page, act, type="coordinate", departments="市场监管局、税务局", decision="联合核查"
    )
    assert response.status == 303
    response = await post_form(clerk, page, act, type="resolve", outcome="", stuck_reason="x")
    assert response.status == 400 and "办理结果不能为空" in await response.text()
    response = await post_form(
        clerk,
        page,
        act,
        type="resolve",
        outcome="市场监管局现场核查后当场办理地址变更",
        stuck_reason="unclear_duty",
        market_barrier="1",
    )
    assert response.status == 303
    html = await (await clerk.get(response.headers["Location"])).text()
    assert "已办结" in html and "生成案例草稿" in html
    assert "您好，您的诉求已收到" in html  # the reply is in the history
    response = await post_form(clerk, page, f"{page}/draft")
    assert response.status == 303
    case_url = response.headers["Location"].split("?")[0]
    html = await (await clerk.get(case_url)).text()
    assert "待审核" in html and "13912345678" not in html and "林女士" not in html
    assert "五一中路88号" not in html and "【电话】" in html
    assert "协调" in html and "市场监管局" in html


async def test_review_publish_reject_and_retire(browser, services, staff) -> None:
    async with services.db.transaction() as session:
        for i in (1, 2):
            session.add(
                Case(
                    id=f"R{i}",
                    title=f"草稿{i}",
                    category="政务类",
                    handling="引导",
                    problem="问题",
                    solution="办法",
                    status="draft",
                )
            )
    boss = await browser()
    await console_login(boss, "boss")
    html = await (await boss.get("/console/cases/review")).text()
    assert "草稿1" in html and "草稿2" in html
    response = await post_form(
        boss,
        "/console/cases/R1",
        "/console/cases/R1",
        title="改过的标题",
        problem="问题",
        solution="新办法",
        category="政务类",
        handling="协调",
        department="人社局",
        keywords="社保、认证",
        then="publish",
    )
    assert response.status == 303 and "done=publish" in response.headers["Location"]
    response = await post_form(boss, "/console/cases/R2", "/console/cases/R2/reject", reason="")
    assert response.status == 400
    response = await post_form(
        boss, "/console/cases/R2", "/console/cases/R2/reject", reason="与已有案例重复"
    )
    assert response.status == 303
    response = await post_form(boss, "/console/cases/R1", "/console/cases/R1/retire")
    assert response.status == 303
    async with services.db.sessions() as session:
        r1, r2 = await session.get(Case, "R1"), await session.get(Case, "R2")
    assert (r1.status, r1.title, r1.keywords, r1.handling) == (
        "retired",
        "改过的标题",
        ["社保", "认证"],
        "协调",
    )
    assert r2.status == "rejected"
    html = await (await boss.get("/console/cases?q=改过")).text()
    assert "改过的标题" in html and "草稿2" not in html


async def test_dashboard_and_exports(browser, api, services, staff) -> None:
    ticket = await file_ticket(services)
    clerk = await browser()
    await console_login(clerk, "clerk_gl")
    page = f"/console/tickets/{ticket.number}"
    await post_form(clerk, page, f"{page}/actions", type="accept")
    await post_form(clerk, page, f"{page}/actions", type="transfer", department="=HYPERLINK(1)")
    await post_form(
        clerk, page, f"{page}/actions", type="resolve", outcome="办好了", stuck_reason="legacy"
    )
    boss = await browser()
    await console_login(boss, "boss")
    html = await (await boss.get("/console/dashboard?centre=gulou")).text()
    assert "<svg" in html and "历史遗留" in html and "按部门" in html
    response = await boss.get("/console/dashboard.csv?centre=gulou")
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    text = (await response.read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["收到诉求（工单）", "1", ""] in rows
    assert ["'=HYPERLINK(1)", "1"] in rows  # no formula injection
    response = await boss.get("/console/dashboard.xlsx?centre=gulou")
    book = load_workbook(io.BytesIO(await response.read()))
    assert {"总体情况", "按卡点原因", "按部门"} <= set(book.sheetnames)
    values = [[c.value for c in r] for r in book["按卡点原因"].iter_rows(min_row=3)]
    assert values == [["历史遗留", 1]]
    response = await boss.get("/console/dashboard?from=bad")
    assert response.status == 400


async def test_queue_filters_badges_and_stamp(browser, services, staff) -> None:
    from datetime import timedelta

    from storage.columns import utcnow

    await file_ticket(services, title="新的诉求一")
    await file_ticket(services, title="很早的诉求", created_at=utcnow() - timedelta(days=20))
    await file_ticket(services, title="台江的诉求", centre="台江区")
    boss = await browser()
    await console_login(boss, "boss")
    html = await (await boss.get("/console/queue")).text()
    rows = re.findall(r'<tr class="([^"]*)">', html)
    assert rows[0] == "overdue"  # overdue first
    assert html.index("很早的诉求") < html.index("台江的诉求") < html.index("新的诉求一") or (
        html.index("很早的诉求") < html.index("新的诉求一")
    )
    assert "已超期 <b>1</b>" in html
    html = await (await boss.get("/console/queue?centre=taijiang")).text()
    assert "台江的诉求" in html and "新的诉求一" not in html
    html = await (await boss.get("/console/queue?overdue=1")).text()
    assert "很早的诉求" in html and "新的诉求一" not in html
    html = await (await boss.get("/console/queue?q=诉求一")).text()
    assert "新的诉求一" in html and "很早的诉求" not in html
    first = await (await boss.get("/console/queue/stamp.json")).json()
    await file_ticket(services, title="又来一个")
    second = await (await boss.get("/console/queue/stamp.json")).json()
    assert first["stamp"] != second["stamp"] and second["counts"]["new"] == 4


async def test_pending_notifications_are_listed(browser, services, staff, fake_wechat) -> None:
    fake_wechat.template_error = 43004  # outside 48 h and the template refused: pending
    ticket = await file_ticket(services, openid="o_never_wrote")
    clerk = await browser()
    await console_login(clerk, "clerk_gl")
    page = f"/console/tickets/{ticket.number}"
    await post_form(clerk, page, f"{page}/actions", type="accept")
    html = await (await clerk.get("/console/notifications")).text()
    assert ticket.number[:4] in html and "已受理" in html
    html = await (await clerk.get(page)).text()
    assert "未送达" in html
    assert csrf_of(html)
