"""Notifications against the fake WeChat and WeChat Work APIs: within 48 h a customer-service
message, outside it a template message, neither -> pending; WeChat Work on filing; 回访."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import SERVICES_KEY, build_app
from bot.simulator import WeChatSide
from handlers.staff import lifecycle, notify, rating
from handlers.staff.notify import group_number
from storage.columns import utcnow
from storage.models import Citizen, Ticket, TicketNotification
from tests.conftest import AES_KEY, APPID, TOKEN, WeChat
from tests.journey import Citizen as JourneyCitizen
from tests.staff.conftest import TEMPLATE_ID, act, file_ticket, login


async def _citizen(services, openid: str, last_inbound_ago: timedelta | None) -> None:
    async with services.db.transaction() as session:
        now = utcnow()
        session.add(
            Citizen(
                openid=openid,
                dialog_state={},
                last_inbound_at=None if last_inbound_ago is None else now - last_inbound_ago,
                created_at=now,
                updated_at=now,
            )
        )


async def _notifications(services, ticket_id: int) -> list[TicketNotification]:
    async with services.db.sessions() as session:
        rows = await session.scalars(
            select(TicketNotification)
            .where(TicketNotification.ticket_id == ticket_id)
            .order_by(TicketNotification.id)
        )
        return list(rows)


def test_group_number() -> None:
    assert group_number("261128047390") == "2611 2804 7390"


async def test_within_48_hours_customer_service_message(api, services, staff, fake_wechat):
    await _citizen(services, "o_recent", timedelta(hours=2))
    ticket = await file_ticket(services, openid="o_recent")
    clerk = await login(api, staff["clerk"])
    await act(api, clerk, ticket.number, type="accept")
    await act(api, clerk, ticket.number, type="reply", text="请补充营业执照照片")
    texts = fake_wechat.texts_to("o_recent")
    assert len(texts) == 2
    assert "已受理" in texts[0] and group_number(ticket.number) in texts[0]
    assert "请补充营业执照照片" in texts[1]
    rows = await _notifications(services, ticket.id)
    assert [(r.kind, r.status, r.channel) for r in rows] == [
        ("accepted", "sent", "custom"),
        ("reply", "sent", "custom"),
    ]
    assert fake_wechat.templates == []


async def test_outside_48_hours_template_message(api, services, staff, fake_wechat):
    await _citizen(services, "o_old", timedelta(hours=49))
    ticket = await file_ticket(services, openid="o_old")
    clerk = await login(api, staff["clerk"])
    await act(api, clerk, ticket.number, type="accept")
    await act(api, clerk, ticket.number, type="transfer", department="市场监管局")
    assert fake_wechat.texts_to("o_old") == []
    assert [t["template_id"] for t in fake_wechat.templates] == [TEMPLATE_ID, TEMPLATE_ID]
    assert fake_wechat.templates[0]["touser"] == "o_old"
    assert fake_wechat.templates[0]["data"]["keyword1"]["value"] == group_number(ticket.number)
    assert "市场监管局" in fake_wechat.templates[1]["data"]["first"]["value"]
    rows = await _notifications(services, ticket.id)
    assert [(r.status, r.channel) for r in rows] == [("sent", "template")] * 2


async def test_template_used_when_customer_service_is_refused(api, services, staff, fake_wechat):
    await _citizen(services, "o_refused", timedelta(hours=1))
    fake_wechat.send_errors = [45015]  # WeChat says: outside the window after all
    ticket = await file_ticket(services, openid="o_refused")
    clerk = await login(api, staff["clerk"])
    await act(api, clerk, ticket.number, type="accept")
    assert len(fake_wechat.templates) == 1


async def test_neither_possible_is_pending(api, services, staff, fake_wechat):
    await _citizen(services, "o_gone", timedelta(days=5))
    fake_wechat.template_error = 43004  # e.g. the citizen unfollowed
    ticket = await file_ticket(services, openid="o_gone")
    clerk = await login(api, staff["clerk"])
    status, _ = await act(api, clerk, ticket.number, type="accept")
    assert status == 200  # a notification failing never fails the action
    rows = await _notifications(services, ticket.id)
    assert [(r.status, r.error_code) for r in rows] == [("pending", 43004)]
    body = await (await api.get("/api/v1/notifications/pending", headers=clerk)).json()
    assert [n["number"] for n in body["notifications"]] == [ticket.number]


async def test_no_template_configured_is_pending(staff_settings, fake_wechat, fake_wework):
    settings = replace(staff_settings, extra={})
    async with TestClient(TestServer(build_app(settings))) as client:
        services = client.app[SERVICES_KEY]
        ticket = await file_ticket(services, openid="o_never_wrote")
        async with services.db.transaction() as session:
            ids = [await notify.queue_citizen(session, ticket, "reply", "你好", utcnow())]
        await notify.dispatch(services, ids)
        rows = await _notifications(services, ticket.id)
    assert [r.status for r in rows] == ["pending"]
    assert fake_wechat.sent == [] and fake_wechat.templates == []


async def test_wework_message_to_the_centre_on_filing(api, services, staff, fake_wework):
    ticket = await file_ticket(services, centre="鼓楼区", title="企业开户卡在银行")
    await notify.on_ticket_filed(services, ticket)
    assert len(fake_wework.sent) == 1
    message = fake_wework.sent[0]
    assert message["touser"] == "wx-clerk-gl"  # only 鼓楼区's staff
    assert message["agentid"] == 1000002
    content = message["text"]["content"]
    assert group_number(ticket.number) in content and "企业开户卡在银行" in content
    assert f"/console/tickets/{ticket.number}" in content
    rows = await _notifications(services, ticket.id)
    assert [(r.audience, r.status, r.channel) for r in rows] == [("staff", "sent", "wework")]


async def _filed_by_chat(client: TestClient) -> Ticket:
    """A citizen files a request through the webhook; the ticket as stored."""
    number = await JourneyCitizen(WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID))).file_request()
    async with client.app[SERVICES_KEY].db.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket is not None
    return ticket


async def test_filing_by_chat_tells_the_centre_after_commit(api, services, staff, fake_wework):
    ticket = await _filed_by_chat(api)
    # Queued in the filing transaction, sent after its commit, before the reply went out.
    rows = await _notifications(services, ticket.id)
    assert [(r.audience, r.kind, r.status, r.channel) for r in rows] == [
        ("staff", "filed", "sent", "wework")
    ]
    assert [m["touser"] for m in fake_wework.sent] == ["wx-clerk-gl"]
    assert group_number(ticket.number) in fake_wework.sent[0]["text"]["content"]


async def test_filing_by_chat_without_wework_records_skipped(settings, fake_wework):
    async with TestClient(TestServer(build_app(settings))) as client:
        ticket = await _filed_by_chat(client)
        rows = await _notifications(client.app[SERVICES_KEY], ticket.id)
    assert fake_wework.sent == []
    assert [(r.audience, r.kind, r.status) for r in rows] == [("staff", "filed", "skipped")]


async def test_wework_skipped_quietly_when_not_configured(settings, fake_wework):
    async with TestClient(TestServer(build_app(settings))) as client:
        services = client.app[SERVICES_KEY]
        ticket = await file_ticket(services)
        await notify.on_ticket_filed(services, ticket)
        rows = await _notifications(services, ticket.id)
    assert fake_wework.sent == []
    assert [r.status for r in rows] == ["skipped"]


async def _resolved(api, services, staff, openid: str = "o_rater"):
    await _citizen(services, openid, timedelta(hours=1))
    ticket = await file_ticket(services, openid=openid)
    clerk = await login(api, staff["clerk"])
    await act(api, clerk, ticket.number, type="accept")
    await act(
        api, clerk, ticket.number, type="resolve", outcome="已办结", stuck_reason="policy_gap"
    )
    return ticket, clerk


async def test_dissatisfied_rating_reopens_and_tells_the_centre(api, services, staff, fake_wework):
    ticket, clerk = await _resolved(api, services, staff)
    result = await rating.rate(services, ticket.number, 2, "根本没解决")
    assert result.reopened
    detail = await (await api.get(f"/api/v1/tickets/{ticket.number}", headers=clerk)).json()
    assert detail["status"] == "in_progress"
    assert [e["type"] for e in detail["events"]][-2:] == ["rate", "reopen"]
    assert detail["events"][-2]["data"]["level"] == "不满意"
    assert detail["events"][-1]["actor"] == "citizen"
    assert any("回访不满意" in m["text"]["content"] for m in fake_wework.sent)


async def test_satisfied_rating_closes(api, services, staff) -> None:
    ticket, clerk = await _resolved(api, services, staff)
    result = await rating.rate(services, ticket.number, 5, "很好")
    assert result.closed and not result.reopened
    detail = await (await api.get(f"/api/v1/tickets/{ticket.number}", headers=clerk)).json()
    assert detail["status"] == "closed"


async def test_rating_checks_its_input(api, services, staff) -> None:
    import pytest

    from handlers.staff.errors import Conflict, Invalid

    ticket = await file_ticket(services)
    with pytest.raises(Conflict):
        await rating.rate(services, ticket.number, 5)
    with pytest.raises(Invalid):
        await rating.rate(services, ticket.number, 9)


async def test_resolved_without_rating_closes_after_7_days(api, services, staff) -> None:
    ticket, clerk = await _resolved(api, services, staff)
    assert await lifecycle.close_stale_resolved(services, utcnow() + timedelta(days=6)) == []
    closed = await lifecycle.close_stale_resolved(services, utcnow() + timedelta(days=8))
    assert closed == [ticket.number]
    detail = await (await api.get(f"/api/v1/tickets/{ticket.number}", headers=clerk)).json()
    assert detail["status"] == "closed" and detail["events"][-1]["actor"] == "system"


async def test_stats(api, services, staff) -> None:
    ticket, clerk = await _resolved(api, services, staff)
    await rating.rate(services, ticket.number, 1, "不满意")
    await file_ticket(services, centre="台江区")
    boss = await login(api, staff["supervisor"])
    body = await (await api.get("/api/v1/stats", headers=boss)).json()
    assert body["received"] == 2 and body["resolved"] == 1 and body["resolved_within_limit"] == 1
    assert body["accepted_within_limit"] == 1 and body["reopened"] == 1
    assert body["by_stuck_reason"] == {"政策空白": 1}
    assert body["by_handling_mode"] == {"direct": 1}
    assert body["satisfaction"]["by_level"] == {"不满意": 1}
    assert body["average_working_days_to_resolve"] == 0
    mine = await (await api.get("/api/v1/stats", headers=clerk)).json()
    assert mine["received"] == 1 and mine["centre"] == "鼓楼区"
    assert (await api.get("/api/v1/stats?centre=taijiang", headers=clerk)).status == 403
    assert (await api.get("/api/v1/stats?from=yesterday", headers=boss)).status == 400
