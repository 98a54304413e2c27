"""Fixtures of the console tests: the staff fixtures (accounts, tickets, fakes) and a browser-
like HTTP client that logs in through the login form and posts forms with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.staff.conftest import (  # noqa: F401 - fixtures used by the console tests
    PASSWORD,
    api,
    cheap_hashes,
    fake_wechat,
    fake_wework,
    file_ticket,
    services,
    staff,
    staff_settings,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def console_login(client: TestClient, username: str, password: str = PASSWORD):
    """Log in through the form as a browser would; returns the final response."""
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    return await client.post(
        "/console/login",
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
    )


async def post_form(client: TestClient, page_url: str, action: str, **fields: Any):
    """Open a page, take its CSRF token, post a form to action (no redirect following)."""
    page = await client.get(page_url)
    assert page.status == 200, await page.text()
    token = csrf_of(await page.text())
    return await client.post(action, data={"csrf_token": token, **fields}, allow_redirects=False)


def session_cookie(client: Any) -> str | None:
    for cookie in getattr(client, "session", client).cookie_jar:
        if cookie.key == "doudi_session":
            return cookie.value
    return None


@pytest.fixture
async def browser(
    api: TestClient,  # noqa: F811 - the imported fixture
) -> AsyncIterator[Callable[[], Awaitable[aiohttp.ClientSession]]]:
    """Makes HTTP clients with their own cookie jar (one per person) against the app."""
    made: list[aiohttp.ClientSession] = []

    async def make() -> aiohttp.ClientSession:
        client = aiohttp.ClientSession(
            base_url=str(api.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
