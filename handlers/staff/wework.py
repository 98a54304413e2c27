"""WeChat Work (企业微信) application messages to staff, through wechatpy's enterprise client.

Like bot/outbound.py: blocking calls run off the event loop with explicit timeouts, wechatpy's
own unbounded token retry is off, and a stale token is dropped and fetched again once per attempt.
The token is kept in memory per process (WeChat Work allows several live tokens per app).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient as WeWorkClient
from wechatpy.exceptions import WeChatClientException

from bot.http_session import TimeoutSession
from handlers.services import Delivery

log = logging.getLogger(__name__)

WEWORK_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"
TOKEN_ERRORS = {40001, 40014, 42001}


class _Client(WeWorkClient):
    def __init__(self, corpid: str, secret: str, api_base: str, timeout: float) -> None:
        super().__init__(corpid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base if api_base.endswith("/") else api_base + "/"
        self._http = TimeoutSession(timeout)

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy hard-codes WeChat Work's own host here; use the configured base instead.
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )

    def forget_token(self) -> None:
        self.session.delete(self.access_token_key)
        self.expires_at = None


class WeWorkSender:
    def __init__(
        self,
        corpid: str,
        secret: str,
        agentid: str,
        api_base: str = "",
        *,
        timeout: float = 5.0,
        attempts: int = 3,
    ) -> None:
        self.configured = bool(corpid and secret and agentid.strip().isdigit())
        self.agentid = agentid
        self.attempts = attempts
        self.client = _Client(corpid, secret, api_base or WEWORK_API_BASE, timeout)

    async def send_text(self, user_ids: list[str], text: str) -> Delivery:
        if not self.configured:
            return Delivery("pending")
        if not user_ids:
            return Delivery("failed")
        error_code: int | None = None
        for attempt in range(self.attempts):
            try:
                await asyncio.to_thread(
                    self.client.message.send_text, int(self.agentid), user_ids, text
                )
                return Delivery("sent")
            except WeChatClientException as error:
                error_code = error.errcode
                if error_code in TOKEN_ERRORS:
                    self.client.forget_token()
                    continue
                log.warning("WeChat Work send failed (attempt %d): %s", attempt + 1, error_code)
            except (requests.RequestException, OSError) as error:
                log.warning(
                    "WeChat Work send failed (attempt %d): %s", attempt + 1, type(error).__name__
                )
            await asyncio.sleep(0.2 * 2**attempt)
        return Delivery("failed", error_code)
