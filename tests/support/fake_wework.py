"""A small fake of WeChat Work's API (gettoken + message/send), and the fake WeChat API with
template messages, run inside tests. Clients are pointed at them by base URL; nothing patched."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.fake_wechat import FakeWeChat


@dataclass
class FakeWeWork:
    corpid: str = "ww-test-corp"
    secret: str = "ww-test-secret"
    token_fetches: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    _tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    server: TestServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/cgi-bin/"))

    async def _gettoken(self, request: web.Request) -> web.Response:
        if (request.query.get("corpid"), request.query.get("corpsecret")) != (
            self.corpid,
            self.secret,
        ):
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        self.token_fetches += 1
        token = f"ww-token-{next(self._tokens)}"
        self.valid_tokens.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    async def _send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    async def start(self) -> FakeWeWork:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


@dataclass
class FakeWeChatWithTemplates(FakeWeChat):
    """FakeWeChat plus message/template/send; refuses customer-service messages to openids
    in `silent` (45015: outside the 48 hours) the way WeChat does."""

    templates: list[dict[str, Any]] = field(default_factory=list)
    template_error: int | None = None

    async def _template(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.template_error is not None:
            return web.json_response({"errcode": self.template_error, "errmsg": "fake error"})
        self.templates.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 1})

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/cgi-bin/message/template/send", self._template)
        return app
