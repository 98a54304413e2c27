"""The OpenAPI document covers every /api/v1 route; real responses validate against it;
bad requests get a JSON 400, never a 500."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from tests.staff.conftest import act, file_ticket, login


def _validator(doc: dict[str, Any], path: str, method: str, status: int) -> Draft202012Validator:
    response = doc["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


async def test_every_route_is_documented(api) -> None:
    doc = await (await api.get("/api/v1/openapi.json")).json()
    registered = set()
    for route in api.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/v1") and route.method != "HEAD":
            registered.add((path, route.method.lower()))
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert registered == documented
    Draft202012Validator.check_schema({"components": doc["components"]})


async def test_responses_validate(api, services, staff) -> None:
    doc = await (await api.get("/api/v1/openapi.json")).json()
    ticket = await file_ticket(services)
    response = await api.post("/api/v1/auth/login", json={"username": "clerk_gl", "password": "x"})
    _validator(doc, "/api/v1/auth/login", "post", 401).validate(await response.json())
    clerk = await login(api, staff["clerk"])
    admin = await login(api, staff["admin"])
    checks = [
        ("/api/v1/me", "/api/v1/me", clerk, 200),
        ("/api/v1/tickets", "/api/v1/tickets", clerk, 200),
        (f"/api/v1/tickets/{ticket.number}", "/api/v1/tickets/{number}", clerk, 200),
        ("/api/v1/tickets/nope", "/api/v1/tickets/{number}", clerk, 404),
        ("/api/v1/staff", "/api/v1/staff", admin, 200),
        ("/api/v1/staff", "/api/v1/staff", clerk, 403),
        ("/api/v1/stats", "/api/v1/stats", admin, 200),
        ("/api/v1/config", "/api/v1/config", clerk, 200),
        ("/api/v1/centres", "/api/v1/centres", clerk, 200),
        ("/api/v1/notifications/pending", "/api/v1/notifications/pending", clerk, 200),
    ]
    for url, path, headers, status in checks:
        response = await api.get(url, headers=headers)
        assert response.status == status, (url, await response.text())
        _validator(doc, path, "get", status).validate(await response.json())
    status, body = await act(api, clerk, ticket.number, type="accept")
    _validator(doc, "/api/v1/tickets/{number}/actions", "post", 200).validate(body)
    status, body = await act(api, clerk, ticket.number, type="accept")
    _validator(doc, "/api/v1/tickets/{number}/actions", "post", 409).validate(body)


async def test_admin_manages_accounts_and_config(api, staff) -> None:
    admin = await login(api, staff["admin"])
    response = await api.post(
        "/api/v1/staff",
        json={
            "username": "wang",
            "display_name": "王芳",
            "role": "clerk",
            "centre": "pingtan",
            "password": "Strong-pass-1",
        },
        headers=admin,
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["centre_name"] == "平潭县"
    for body in (
        {"username": "li", "display_name": "李", "role": "clerk", "password": "Strong-pass-1"},
        {"username": "li", "display_name": "李", "role": "boss", "password": "Strong-pass-1"},
        {"username": "li", "display_name": "李", "role": "admin", "password": "weak"},
        {"username": "li", "display_name": "李", "role": "admin", "password": 1234567890123},
    ):
        response = await api.post("/api/v1/staff", json=body, headers=admin)
        assert response.status == 400, body
    wang = await login(api, "wang", "Strong-pass-1")
    response = await api.patch(
        "/api/v1/staff/wang", json={"role": "supervisor", "centre": ""}, headers=admin
    )
    assert response.status == 200 and (await response.json())["role"] == "supervisor"
    assert (await api.get("/api/v1/me", headers=wang)).status == 401  # role changed: log in again
    assert (
        await api.patch("/api/v1/staff/wang", json={"disabled": "yes"}, headers=admin)
    ).status == 400
    assert (await api.patch("/api/v1/staff/ghost", json={}, headers=admin)).status == 404
    response = await api.put("/api/v1/config", json={"resolve_days": 3}, headers=admin)
    assert response.status == 200 and (await response.json())["resolve_days"] == 3
    assert (
        await api.put("/api/v1/config", json={"resolve_days": "3"}, headers=admin)
    ).status == 400
    assert (await api.put("/api/v1/config", json={"hack": 1}, headers=admin)).status == 400


async def test_unknown_api_paths_and_methods_answer_json(api) -> None:
    response = await api.get("/api/v1/nothing")
    assert response.status == 404 and (await response.json())["message"]
    response = await api.delete("/api/v1/tickets")
    assert response.status == 405 and (await response.json())["message"]
