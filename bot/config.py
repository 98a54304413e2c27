"""Configuration from the environment, read once into an immutable Settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/doudi.db"
# Shared by `serve` and `chat` when no token is configured, so that a fresh checkout
# can be tried without a WeChat account. `serve` warns loudly when it is in use.
DEVELOPMENT_TOKEN = "doudi-development-token"
WECHAT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    wechat_token: str = DEVELOPMENT_TOKEN
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = WECHAT_API_BASE
    wework_corpid: str = ""
    wework_secret: str = ""
    wework_agentid: str = ""
    wework_api_base: str = ""
    # Key of the ticket-number permutation; it hides daily volume, so it is a secret too.
    ticket_key: str = "doudi-ticket-key"
    # A turn that takes longer than this answers `success` and replies via the customer-service API.
    turn_deadline_s: float = 4.0
    # Closed tickets keep their personal data this long; `doudi purge` removes it after.
    retention_days: int = 3 * 365
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def using_development_token(self) -> bool:
        return self.wechat_token == DEVELOPMENT_TOKEN

    @property
    def safe_mode(self) -> bool:
        return bool(self.wechat_aes_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        return cls(
            database_url=get("DOUDI_DATABASE_URL", DEFAULT_DATABASE_URL),
            wechat_token=get("DOUDI_WECHAT_TOKEN", DEVELOPMENT_TOKEN),
            wechat_appid=get("DOUDI_WECHAT_APPID"),
            wechat_secret=get("DOUDI_WECHAT_SECRET"),
            wechat_aes_key=get("DOUDI_WECHAT_AES_KEY"),
            wechat_api_base=get("DOUDI_WECHAT_API_BASE", WECHAT_API_BASE),
            wework_corpid=get("DOUDI_WEWORK_CORPID"),
            wework_secret=get("DOUDI_WEWORK_SECRET"),
            wework_agentid=get("DOUDI_WEWORK_AGENTID"),
            wework_api_base=get("DOUDI_WEWORK_API_BASE"),
            ticket_key=get("DOUDI_TICKET_KEY", "doudi-ticket-key"),
            turn_deadline_s=float(get("DOUDI_TURN_DEADLINE_S", "4.0")),
            retention_days=int(get("DOUDI_RETENTION_DAYS", str(3 * 365))),
            extra={k: v for k, v in env.items() if k.startswith("DOUDI_")},
        )
