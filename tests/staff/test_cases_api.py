"""The case-library API: drafts from resolved tickets, review by role, duplicates, and a publish
or retire taking effect in the bot's matcher at once."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from handlers.caselib.jsonl import case_to_dict, load_cases
from storage.columns import utcnow
from storage.repositories import cases as case_repo
from tests.staff.conftest import act, file_ticket, login

DEMO = "handlers/caselib/data/demo_cases.jsonl"
PENSION = {
    "request": "我父亲八十多岁不会用智能手机，养老金领取资格认证每年都做不了，电话13912345678",
    "visited": "去过社保中心窗口",
    "reason": "说要本人到场",
    "name": "王阿姨",
    "phone": "13912345678",
}


def _validate(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    Draft202012Validator({**schema["schema"], "components": doc["components"]}).validate(body)


async def _resolved(api, services, headers, **kwargs) -> str:
    ticket = await file_ticket(services, **kwargs)
    assert (await act(api, headers, ticket.number, type="accept"))[0] == 200
    status, _ = await act(
        api,
        headers,
        ticket.number,
        type="transfer",
        department="区人社局社保中心",
        reason="需上门认证",
    )
    assert status == 200
    status, _ = await act(
        api,
        headers,
        ticket.number,
        type="resolve",
        outcome="社保中心工作人员上门为老人完成认证，并教会家属用手机刷脸认证",
        stuck_reason="mutual_prerequisite",
    )
    assert status == 200
    return ticket.number


async def test_draft_review_and_roles(api, services, staff) -> None:
    doc = await (await api.get("/api/v1/openapi.json")).json()
    clerk = await login(api, staff["clerk"])
    other = await login(api, staff["other_clerk"])
    boss = await login(api, staff["supervisor"])
    admin = await login(api, staff["admin"])
    open_ticket = await file_ticket(services)
    response = await api.post(f"/api/v1/tickets/{open_ticket.number}/draft", headers=clerk)
    assert response.status == 409
    number = await _resolved(api, services, clerk, fields=PENSION)
    assert (await api.post(f"/api/v1/tickets/{number}/draft", headers=other)).status == 403
    assert (await api.post(f"/api/v1/tickets/{number}/draft", headers=admin)).status == 403
    response = await api.post(f"/api/v1/tickets/{number}/draft", headers=clerk)
    assert response.status == 201
    draft = await response.json()
    _validate(doc, "/api/v1/tickets/{number}/draft", "post", 201, draft)
    assert draft["status"] == "draft" and draft["source_ticket"] == number
    assert draft["handling"] == "转办" and draft["department"] == "区人社局社保中心"
    assert "上门" in draft["solution"] and "养老金" in draft["problem"]
    assert "13912345678" not in str(draft) and "王阿姨" not in str(draft)
    again = await api.post(f"/api/v1/tickets/{number}/draft", headers=clerk)
    assert again.status == 200 and (await again.json())["id"] == draft["id"]

    url = f"/api/v1/cases/{draft['id']}"
    for method, path in (("patch", url), ("post", f"{url}/publish"), ("post", f"{url}/reject")):
        response = await api.request(method, path, json={}, headers=clerk)
        assert response.status == 403, path
    response = await api.get(url, headers=clerk)
    assert response.status == 200
    _validate(doc, "/api/v1/cases/{case_id}", "get", 200, await response.json())
    response = await api.patch(url, json={"category": "别的"}, headers=boss)
    assert response.status == 400
    response = await api.patch(url, json={"keywords": ["养老金", "资格认证"]}, headers=boss)
    assert response.status == 200
    _validate(doc, "/api/v1/cases/{case_id}", "patch", 200, await response.json())
    assert (await api.post(f"{url}/reject", json={}, headers=admin)).status == 400  # no reason
    response = await api.post(f"{url}/publish", headers=admin)
    assert response.status == 200 and (await response.json())["status"] == "published"
    _validate(doc, "/api/v1/cases/{case_id}/publish", "post", 200, await response.json())
    assert (await api.post(f"{url}/publish", headers=admin)).status == 409
    assert (await api.post(f"/api/v1/tickets/{number}/draft", headers=clerk)).status == 409
    response = await api.get("/api/v1/cases?status=published&q=养老金", headers=clerk)
    body = await response.json()
    _validate(doc, "/api/v1/cases", "get", 200, body)
    assert [c["id"] for c in body["cases"]] == [draft["id"]] and body["counts"]["published"] == 1
    response = await api.post(f"{url}/retire", json={"reason": "政策变了"}, headers=boss)
    assert response.status == 200 and (await response.json())["status"] == "retired"
    assert (await api.get("/api/v1/cases/nope", headers=clerk)).status == 404
    assert (await api.get("/api/v1/cases?status=bogus", headers=clerk)).status == 400


async def test_a_near_duplicate_of_a_published_case_says_which(api, services, staff) -> None:
    async with services.db.transaction() as session:
        rows = [case_to_dict(c) for c in load_cases(DEMO)]
        await case_repo.upsert_many(session, rows, utcnow(), status="published")
    clerk = await login(api, staff["clerk"])
    number = await _resolved(api, services, clerk, fields=PENSION)
    draft = await (await api.post(f"/api/v1/tickets/{number}/draft", headers=clerk)).json()
    detail = await (await api.get(f"/api/v1/cases/{draft['id']}", headers=clerk)).json()
    assert [d["id"] for d in detail["duplicates"]][:1] == ["D024"], detail["duplicates"]
    # A draft about something else has no duplicate.
    other = await _resolved(
        api,
        services,
        clerk,
        fields={"request": "小区门口的共享单车堆成山，希望清理一下", "phone": "13800000000"},
    )
    draft = await (await api.post(f"/api/v1/tickets/{other}/draft", headers=clerk)).json()
    detail = await (await api.get(f"/api/v1/cases/{draft['id']}", headers=clerk)).json()
    assert detail["duplicates"] == []
