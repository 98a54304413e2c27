"""What the staff services need beyond Services: the WeChat Work sender, the template id of
citizen notifications and the console's base URL. Built once by the composition root.

It lives in Services.staff; runtime_of gives defaults when none was attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from handlers.staff.wework import WeWorkSender


@dataclass
class StaffRuntime:
    wework: WeWorkSender | None = None
    template_id: str = ""  # DOUDI_WECHAT_TEMPLATE_ID: template message outside the 48 hours
    console_base_url: str = ""  # DOUDI_CONSOLE_BASE_URL, e.g. https://doudi.example.gov.cn

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffRuntime:
        wework = WeWorkSender(
            settings.wework_corpid,
            settings.wework_secret,
            settings.wework_agentid,
            settings.wework_api_base,
        )
        return cls(
            wework=wework if wework.configured else None,
            template_id=settings.extra.get("DOUDI_WECHAT_TEMPLATE_ID", "").strip(),
            console_base_url=settings.extra.get("DOUDI_CONSOLE_BASE_URL", "").strip().rstrip("/"),
        )

    def console_link(self, number: str) -> str:
        return f"{self.console_base_url}/console/tickets/{number}"


def attach(services: Any, runtime: StaffRuntime) -> None:
    services.staff = runtime


def runtime_of(services: Any) -> StaffRuntime:
    runtime = getattr(services, "staff", None)
    return runtime if isinstance(runtime, StaffRuntime) else StaffRuntime()
