"""Messages to citizens outside the HTTP reply: WeChat's customer-service message API.

wechatpy's WeChatClient does the calls. Three things are ours:
- its blocking requests run off the event loop (asyncio.to_thread), with explicit timeouts;
- the access token lives in the database, shared by every worker, and one worker at a time
  fetches a new one (wechatpy's own auto_retry recurses without bound on a persistent 40001);
- 45015/45047 (outside the 48-hour window, over quota) are final: recorded, not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.config import Settings
from bot.http_session import TimeoutSession
from handlers.services import Delivery
from storage.columns import utcnow
from storage.db import Database
from storage.repositories import tokens

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
FINAL_ERRORS = {45015, 45047}  # outside the 48-hour window, over the reply quota
REFRESH_MARGIN = timedelta(minutes=5)
T = TypeVar("T")

# asyncio.to_thread copies the context, so each call sees the token its coroutine chose.
_token_for_call: ContextVar[str] = ContextVar("wechat_access_token")


class _Client(WeChatClient):
    """WeChatClient pointed at a configurable base URL, with tokens supplied by us."""

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float) -> None:
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base if api_base.endswith("/") else api_base + "/"
        self._http = TimeoutSession(timeout)

    @property
    def access_token(self) -> str:
        return _token_for_call.get("")

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy hard-codes WeChat's own host here; use the configured base instead.
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WeChatOutbound:
    def __init__(
        self, settings: Settings, db: Database, *, timeout: float = 5.0, attempts: int = 3
    ) -> None:
        self.appid = settings.wechat_appid
        self.configured = bool(settings.wechat_appid and settings.wechat_secret)
        self.db = db
        self.attempts = attempts
        self.client = _Client(
            settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base, timeout
        )

    async def send_text(self, openid: str, text: str) -> Delivery:
        return await self._call(lambda client: client.message.send_text(openid, text))

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None
    ) -> Delivery:
        """A template message (reaches a citizen outside the 48 hours); same retry rules."""
        return await self._call(
            lambda client: client.message.send_template(openid, template_id, data, url=url)
        )

    async def _call(self, call: Callable[[WeChatClient], T]) -> Delivery:
        if not self.configured:
            log.warning("outbound message not sent: DOUDI_WECHAT_APPID/SECRET not configured")
            return Delivery("pending")
        stale: str | None = None
        error_code: int | None = None
        for attempt in range(self.attempts):
            try:
                token = await self.access_token(stale=stale)
                _token_for_call.set(token)
                await asyncio.to_thread(call, self.client)
                return Delivery("sent")
            except WeChatClientException as error:
                error_code = error.errcode
                if error_code in FINAL_ERRORS:
                    log.info("outbound message refused by WeChat: %s", error_code)
                    return Delivery("failed", error_code)
                if error_code in TOKEN_ERRORS:
                    stale = _token_for_call.get(None)
                    continue  # fetch a fresh token once per attempt, then try again
                log.warning("outbound call failed (attempt %d): %s", attempt + 1, error_code)
            except (requests.RequestException, OSError) as error:
                log.warning(
                    "outbound call failed (attempt %d): %s", attempt + 1, type(error).__name__
                )
            await asyncio.sleep(0.2 * 2**attempt)
        return Delivery("failed", error_code)

    async def access_token(self, stale: str | None = None) -> str:
        """A valid token from the database, fetched by one worker at a time when needed."""
        now = utcnow()
        async with self.db.sessions() as session:
            row = await tokens.get(session, self.appid)
        if row and row.token != stale and row.expires_at - now > REFRESH_MARGIN:
            return row.token
        async with self.db.mutex(f"wechat-token:{self.appid}"):
            async with self.db.sessions() as session:
                row = await tokens.get(session, self.appid)  # another worker may have fetched it
            now = utcnow()
            if row and row.token != stale and row.expires_at - now > REFRESH_MARGIN:
                return row.token
            # The HTTP call runs outside any write transaction, so nothing else waits on it.
            result = await asyncio.to_thread(self.client.fetch_access_token)
            token = str(result["access_token"])
            expires_in = int(result.get("expires_in", 7200))
            async with self.db.transaction() as session:
                await tokens.save(
                    session, self.appid, token, now + timedelta(seconds=expires_in), now
                )
            log.info("fetched a new WeChat access token (expires in %d s)", expires_in)
            return token
