"""GET /metrics: Prometheus text that moves when messages flow."""

from __future__ import annotations

import re

from bot.simulator import message_xml
from tests.conftest import new_openid
from tests.journey import Citizen


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? ([0-9.e+-]+)$"
    if labels:
        pattern = rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return await response.text()


async def test_metrics_move_when_messages_flow(wechat, client) -> None:
    before = await scrape(client)
    citizen = Citizen(wechat)
    await citizen.file_request()
    duplicate = message_xml(new_openid(), "text", Content="你好", MsgId="55512345")
    await wechat.say(duplicate)
    await wechat.say(duplicate)  # WeChat's re-delivery
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("doudi_messages_total", kind="text") == 11  # 9 of the intake, 2 of "你好"
    assert moved("doudi_turn_seconds_count") == 11
    assert moved("doudi_deduplicated_deliveries_total") == 1
    assert moved("doudi_tickets_filed_total", incomplete="false") == 1
    assert moved("doudi_matcher_decisions_total", decision="none") >= 1
    # Computed at scrape time from the database: the ticket waits in its centre's queue.
    assert sample(after, "doudi_tickets_new", centre="鼓楼区") == 1
    assert sample(after, "doudi_database_up") == 1
