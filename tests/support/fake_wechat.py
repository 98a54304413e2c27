"""A small fake of WeChat's HTTP API (token + customer-service messages), run inside tests.

The outbound client is pointed at it through DOUDI_WECHAT_API_BASE, exactly as it would be
pointed at WeChat; nothing of ours is patched.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeWeChat:
    token_fetches: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    # Programmable failures: each send pops the next errcode (0 = success) if any are queued.
    send_errors: list[int] = field(default_factory=list)
    always_error: int | None = None
    delay_s: float = 0.0
    _tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    valid_tokens: set[str] = field(default_factory=set)
    server: TestServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/cgi-bin/"))

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m.get("touser") == openid]

    async def _token(self, request: web.Request) -> web.Response:
        if request.query.get("grant_type") != "client_credential":
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        self.token_fetches += 1
        await asyncio.sleep(0.05)  # long enough for concurrent fetchers to overlap
        token = f"token-{next(self._tokens)}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.always_error is not None:
            return web.json_response({"errcode": self.always_error, "errmsg": "fake error"})
        if self.send_errors:
            code = self.send_errors.pop(0)
            if code:
                return web.json_response({"errcode": code, "errmsg": "fake error"})
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        return app

    async def start(self) -> FakeWeChat:
        self.server = TestServer(self.app())
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
