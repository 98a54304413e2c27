"""Logins, tokens, lockout, the per-address limit, console sessions and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web

from handlers.staff import accounts, sessions
from handlers.staff.config import save_config
from handlers.staff.errors import Forbidden, TooMany, Unauthorized
from storage.columns import utcnow
from tests.staff.conftest import PASSWORD, login


async def test_login_me_logout(api, staff) -> None:
    headers = await login(api, staff["clerk"])
    body = await (await api.get("/api/v1/me", headers=headers)).json()
    assert body["role"] == "clerk" and body["centre"] == "gulou" and body["centre_name"] == "鼓楼区"
    assert (await api.post("/api/v1/auth/logout", headers=headers)).status == 200
    assert (await api.get("/api/v1/me", headers=headers)).status == 401


async def test_401_without_or_with_a_bad_token(api, staff) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await api.get("/api/v1/tickets", headers=headers)
        assert response.status == 401
        assert (await response.json())["message"]
    response = await api.post(
        "/api/v1/auth/login", json={"username": staff["clerk"], "password": "wrong-password-1"}
    )
    assert response.status == 401
    assert (await response.json())["message"] == "用户名或密码错误"
    response = await api.post("/api/v1/auth/login", json={"username": 1, "password": []})
    assert response.status == 400


async def test_lockout_after_repeated_failures(api, services, staff) -> None:
    for _ in range(5):
        response = await api.post(
            "/api/v1/auth/login", json={"username": staff["clerk"], "password": "Wrong-pass-1"}
        )
        assert response.status == 401
    response = await api.post(
        "/api/v1/auth/login", json={"username": staff["clerk"], "password": PASSWORD}
    )
    assert response.status == 429
    assert "锁定" in (await response.json())["message"]
    # The lock lapses after its time.
    later = utcnow() + timedelta(minutes=16)
    issued = await accounts.login(services.db, staff["clerk"], PASSWORD, "10.0.0.9", now=later)
    assert issued.actor.username == staff["clerk"]


async def test_per_address_limit(api, services, staff) -> None:
    async with services.db.transaction() as session:
        await save_config(session, {"address_failures": 5}, "admin", utcnow())
    for i in range(5):
        with pytest.raises(Unauthorized):
            await accounts.login(services.db, f"nobody{i}", "Wrong-pass-1", "10.1.1.1")
    with pytest.raises(TooMany):
        await accounts.login(services.db, staff["clerk"], PASSWORD, "10.1.1.1")
    # Another address is not affected.
    assert await accounts.login(services.db, staff["clerk"], PASSWORD, "10.1.1.2")


async def test_token_expiry_and_disabled_accounts(api, services, staff) -> None:
    issued = await accounts.login(
        services.db, staff["clerk"], PASSWORD, "", now=utcnow() - timedelta(hours=13)
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert (await api.get("/api/v1/me", headers=headers)).status == 401
    headers = await login(api, staff["clerk"])
    async with services.db.transaction() as session:
        await accounts.set_disabled(session, staff["clerk"])
    assert (await api.get("/api/v1/me", headers=headers)).status == 401
    response = await api.post(
        "/api/v1/auth/login", json={"username": staff["clerk"], "password": PASSWORD}
    )
    assert response.status == 401


async def test_tokens_are_stored_hashed(services, staff) -> None:
    from sqlalchemy import select

    from storage.models import StaffSession

    issued = await accounts.login(services.db, staff["clerk"], PASSWORD, "")
    async with services.db.sessions() as session:
        stored = list(await session.scalars(select(StaffSession.token_hash)))
    assert issued.token not in stored
    assert accounts.hash_token(issued.token) in stored


async def test_console_session_rotates_on_login_and_checks_csrf(services, staff) -> None:
    first = await sessions.log_in(services.db, staff["clerk"], PASSWORD, "10.0.0.1")
    second = await sessions.log_in(
        services.db, staff["clerk"], PASSWORD, "10.0.0.1", previous_session_id=first.session_id
    )
    assert second.session_id != first.session_id
    async with services.db.sessions() as session:
        assert await sessions.load(session, first.session_id) is None  # fixation: old id dead
        loaded = await sessions.load(session, second.session_id)
        # An API token is not a console session and vice versa.
        assert await accounts.actor_for_token(session, second.session_id) is None
    assert loaded is not None and loaded.actor.username == staff["clerk"]
    sessions.check_csrf(loaded, second.csrf_token)
    for bad in (None, "", first.csrf_token, second.csrf_token + "x"):
        with pytest.raises(Forbidden):
            sessions.check_csrf(loaded, bad)
    response = web.Response()
    sessions.set_cookie(response, loaded, secure=True)
    cookie = response.cookies[sessions.COOKIE_NAME]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert cookie.value == second.session_id
    async with services.db.transaction() as session:
        await sessions.log_out(session, second.session_id)
    async with services.db.sessions() as session:
        assert await sessions.load(session, second.session_id) is None


async def test_csrf_checked_on_a_form_post(services, staff) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    console = await sessions.log_in(services.db, staff["clerk"], PASSWORD, "")

    async def handler(request: web.Request) -> web.Response:
        try:
            await sessions.check_form(request, console)
        except Forbidden:
            return web.Response(status=403)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/form", handler)
    async with TestClient(TestServer(app)) as client:
        good = await client.post("/form", data={sessions.CSRF_FIELD: console.csrf_token})
        assert good.status == 200
        assert (await client.post("/form", data={sessions.CSRF_FIELD: "forged"})).status == 403
        assert (await client.post("/form", data={"other": "x"})).status == 403
