"""The ticket lifecycle through the API: every valid transition, invalid ones (409 with the
reason), validation (400), and who may do what (403)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import TicketEvent
from tests.staff.conftest import act, file_ticket, login

RESOLVE = {
    "type": "resolve",
    "outcome": "已协调市场监管局当场办结",
    "stuck_reason": "unclear_duty",
    "market_barrier": True,
}


async def _events(services, ticket_id: int) -> list[TicketEvent]:
    async with services.db.sessions() as session:
        rows = await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return list(rows)


async def test_full_lifecycle_records_each_event(api, services, staff) -> None:
    ticket = await file_ticket(services)
    clerk = await login(api, staff["clerk"])
    boss = await login(api, staff["supervisor"])
    n = ticket.number

    status, body = await act(api, clerk, n, type="accept", note="已电话联系")
    assert status == 200, body
    assert body["ticket"]["status"] == "accepted"
    assert body["event"]["data"]["before"] == {"status": "new"}
    assert body["event"]["data"]["after"] == {"status": "accepted"}

    status, body = await act(api, clerk, n, type="guide", guidance="请带身份证原件到3号窗口")
    assert status == 200 and body["ticket"]["status"] == "in_progress"
    for payload in (
        {"type": "coordinate", "departments": ["市场监管局", "税务局"], "decision": "联合办理"},
        {"type": "assist", "units": [{"name": "不动产登记中心", "due": "2026-10-12"}]},
        {"type": "transfer", "department": "市场监管局", "reason": "职责所在"},
        {"type": "note", "text": "内部备注"},
        {"type": "reply", "text": "您好，已在办理"},
        {"type": "reclassify", "classification": "非政务类", "category": "企业服务"},
    ):
        status, body = await act(api, clerk, n, **payload)
        assert status == 200, (payload, body)
        assert body["ticket"]["status"] == "in_progress"
    assert body["ticket"]["classification"] == "非政务类"

    status, body = await act(api, boss, n, type="extend", days=3, reason="需要等待协办")
    assert status == 200, body
    assert body["event"]["data"]["total_days"] == 3
    assert (
        body["event"]["data"]["after"]["resolve_due_at"]
        > body["event"]["data"]["before"]["resolve_due_at"]
    )
    status, body = await act(api, boss, n, type="urge", text="请本周内办结")
    assert status == 200, body

    status, body = await act(api, clerk, n, **RESOLVE)
    assert status == 200, body
    data = body["event"]["data"]
    assert body["ticket"]["status"] == "resolved"
    assert data["stuck_reason_label"] == "职责不清" and data["market_barrier"] is True
    assert set(data["handling_modes"]) == {"guide", "coordinate", "assist", "transfer"}
    assert "税务局" in data["departments"] and "不动产登记中心" in data["departments"]

    status, body = await act(api, clerk, n, type="reopen", reason="群众反映未解决")
    assert status == 200 and body["ticket"]["status"] == "in_progress"
    assert (await act(api, clerk, n, **RESOLVE))[0] == 200
    status, body = await act(api, clerk, n, type="close", reason="已回访")
    assert status == 200 and body["ticket"]["status"] == "closed"
    status, body = await act(api, clerk, n, type="reopen", reason="再次反映")
    assert status == 200 and body["ticket"]["status"] == "in_progress"

    events = await _events(services, ticket.id)
    types = [e.type for e in events]
    assert types[0] == "filed" and types[1] == "accept"
    assert [e.public for e in events if e.type == "reply"] == [True]
    assert all(e.actor in ("clerk_gl", "boss", "citizen") for e in events)


async def test_reclassify_keeps_what_was_received(api, services, staff) -> None:
    ticket = await file_ticket(services, classification="政务类")
    clerk = await login(api, staff["clerk"])
    await act(api, clerk, ticket.number, type="reclassify", classification="非政务类", category="X")
    response = await api.get(f"/api/v1/tickets/{ticket.number}", headers=clerk)
    detail = await response.json()
    assert detail["classification_received"] == "政务类"
    assert detail["classification"] == "非政务类" and detail["category"] == "X"


async def test_invalid_transitions_are_409_with_the_reason(api, services, staff) -> None:
    ticket = await file_ticket(services)
    clerk = await login(api, staff["clerk"])
    n = ticket.number
    status, body = await act(api, clerk, n, **RESOLVE)
    assert status == 409
    assert "待受理" in body["message"] and "请先受理" in body["message"]
    for payload in (
        {"type": "guide", "guidance": "x"},
        {"type": "close"},
        {"type": "reopen", "reason": "x"},
        {"type": "reply", "text": "x"},
        {"type": "transfer", "department": "税务局"},
    ):
        status, body = await act(api, clerk, n, **payload)
        assert status == 409, (payload, body)
        assert body["error"] == "conflict" and body["message"]
    assert (await act(api, clerk, n, type="accept"))[0] == 200
    status, body = await act(api, clerk, n, type="accept")
    assert status == 409 and "已受理" in body["message"]
    status, body = await act(api, clerk, n, type="close")
    assert status == 409 and "只有已办结" in body["message"]
    # Nothing was half-stored by the refused actions.
    assert [e.type for e in await _events(services, ticket.id)] == ["filed", "accept"]


async def test_validation_errors_are_400(api, services, staff) -> None:
    ticket = await file_ticket(services)
    clerk = await login(api, staff["clerk"])
    n = ticket.number
    await act(api, clerk, n, type="accept")
    bad = [
        {"type": "explode"},
        {},
        {"type": "note"},
        {"type": "note", "text": 42},
        {"type": "note", "text": "   "},
        {"type": "note", "text": "x", "extra": 1},
        {"type": "reclassify", "classification": "其他", "category": "x"},
        {"type": "assist", "units": [{"name": "税务局", "due": "next week"}]},
        {"type": "assist", "units": []},
        {"type": "coordinate", "departments": "税务局", "decision": "x"},
        {"type": "transfer"},
        {"type": "transfer", "centre": "火星区"},
        {"type": "transfer", "centre": "gulou"},
        {"type": "resolve", "outcome": "x", "stuck_reason": "laziness"},
        {"type": "resolve", "outcome": "x", "stuck_reason": "legacy", "market_barrier": "yes"},
    ]
    for payload in bad:
        status, body = await act(api, clerk, n, **payload)
        assert status == 400, (payload, body)
        assert body["message"]
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'):
        response = await api.post(f"/api/v1/tickets/{n}/actions", data=raw, headers=clerk)
        assert response.status == 400
        assert (await response.json())["message"]
    status, body = await act(api, clerk, "000000000000", type="accept")
    assert status == 404


async def test_transfer_to_another_centre_moves_the_queue(api, services, staff) -> None:
    ticket = await file_ticket(services, centre="鼓楼区")
    clerk = await login(api, staff["clerk"])
    other = await login(api, staff["other_clerk"])
    response = await api.get("/api/v1/tickets", headers=other)
    assert ticket.number not in [t["number"] for t in (await response.json())["tickets"]]

    status, body = await act(api, clerk, ticket.number, type="transfer", centre="taijiang")
    assert status == 200, body
    assert body["ticket"]["centre"] == "台江区" and body["ticket"]["status"] == "new"
    assert body["event"]["data"]["before"] == {"centre": "鼓楼区"}

    response = await api.get("/api/v1/tickets", headers=other)
    assert ticket.number in [t["number"] for t in (await response.json())["tickets"]]
    assert (await act(api, clerk, ticket.number, type="accept"))[0] == 403
    assert (await act(api, other, ticket.number, type="accept"))[0] == 200


async def test_extension_is_bounded(api, services, staff) -> None:
    ticket = await file_ticket(services)
    clerk = await login(api, staff["clerk"])
    boss = await login(api, staff["supervisor"])
    await act(api, clerk, ticket.number, type="accept")
    assert (await act(api, boss, ticket.number, type="extend", days=6, reason="等材料"))[0] == 200
    status, body = await act(api, boss, ticket.number, type="extend", days=5, reason="再等")
    assert status == 409 and "10" in body["message"]
    assert (await act(api, boss, ticket.number, type="extend", days=4, reason="再等"))[0] == 200
    status, _ = await act(api, boss, ticket.number, type="extend", days=11, reason="x")
    assert status == 400


async def test_roles_refused_what_they_may_not_do(api, services, staff) -> None:
    ticket = await file_ticket(services)
    clerk = await login(api, staff["clerk"])
    other = await login(api, staff["other_clerk"])
    admin = await login(api, staff["admin"])
    n = ticket.number
    # A clerk may not extend or urge.
    await act(api, clerk, n, type="accept")
    status, body = await act(api, clerk, n, type="extend", days=1, reason="x")
    assert status == 403 and body["error"] == "forbidden"
    assert (await act(api, clerk, n, type="urge", text="x"))[0] == 403
    # A clerk of another centre may neither act on nor read the ticket.
    assert (await act(api, other, n, type="note", text="x"))[0] == 403
    assert (await api.get(f"/api/v1/tickets/{n}", headers=other)).status == 403
    assert (await api.get("/api/v1/tickets?centre=gulou", headers=other)).status == 403
    # An admin manages accounts, not tickets.
    assert (await act(api, admin, n, type="note", text="x"))[0] == 403
    assert (await api.get(f"/api/v1/tickets/{n}", headers=admin)).status == 403
    assert (await api.get("/api/v1/tickets", headers=admin)).status == 403
    # Clerks and supervisors do not manage accounts or configuration.
    for headers in (clerk, await login(api, staff["supervisor"])):
        assert (await api.get("/api/v1/staff", headers=headers)).status == 403
        response = await api.post(
            "/api/v1/staff",
            json={"username": "x1", "display_name": "X", "role": "admin", "password": "Abcdefgh12"},
            headers=headers,
        )
        assert response.status == 403
        assert (
            await api.put("/api/v1/config", json={"resolve_days": 3}, headers=headers)
        ).status == 403
    async with services.db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        )
    assert count == 2  # filed, accept: nothing refused was stored


async def test_queue_filters_and_badges(api, services, staff) -> None:
    from datetime import timedelta

    from storage.columns import utcnow

    old = await file_ticket(
        services, title="很久以前的诉求", created_at=utcnow() - timedelta(days=20)
    )
    fresh = await file_ticket(services, title="新诉求", fields={"诉求内容": "护照加急办理"})
    await file_ticket(services, centre="台江区", title="别的中心")
    clerk = await login(api, staff["clerk"])
    boss = await login(api, staff["supervisor"])
    body = await (await api.get("/api/v1/tickets", headers=clerk)).json()
    numbers = [t["number"] for t in body["tickets"]]
    assert numbers == [old.number, fresh.number]  # overdue first, then newest
    assert body["tickets"][0]["flag"] == "overdue"
    assert body["counts"]["new"] == 2 and body["counts"]["overdue"] == 1
    body = await (await api.get("/api/v1/tickets", params={"q": "护照"}, headers=clerk)).json()
    assert [t["number"] for t in body["tickets"]] == [fresh.number]
    body = await (await api.get("/api/v1/tickets?overdue=true", headers=clerk)).json()
    assert [t["number"] for t in body["tickets"]] == [old.number]
    body = await (await api.get("/api/v1/tickets", headers=boss)).json()
    assert body["total"] == 3
    body = await (await api.get("/api/v1/tickets?centre=台江区", headers=boss)).json()
    assert body["total"] == 1
    assert (await api.get("/api/v1/tickets?overdue=maybe", headers=boss)).status == 400
    assert (await api.get("/api/v1/tickets?limit=x", headers=boss)).status == 400
    assert (await api.get("/api/v1/tickets?status=done", headers=boss)).status == 400


async def test_reading_a_ticket_is_audited(api, services, staff) -> None:
    from storage.repositories import staff as staff_repo

    ticket = await file_ticket(services)
    clerk = await login(api, staff["clerk"])
    response = await api.get(f"/api/v1/tickets/{ticket.number}", headers=clerk)
    assert response.status == 200
    detail = await response.json()
    assert detail["fields"]["诉求内容"] and detail["events"][0]["type"] == "filed"
    async with services.db.sessions() as session:
        audit = await staff_repo.audit_of_ticket(session, ticket.id)
    assert [(a.actor, a.action) for a in audit] == [("clerk_gl", "view_ticket")]
