"""Two worker processes (`doudi serve --workers 2`) sharing PostgreSQL.

200 citizens do the whole intake at once, some messages re-delivered the way WeChat does;
then timers are made due and must fire once across both workers.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.simulator import WeChatSide, message_xml
from handlers.tickets import number as tn
from storage.models import Citizen, InboundDelivery, Message, Ticket, Timer
from tests.conftest import AES_KEY, APPID, TOKEN, new_openid, wait_for
from tests.journey import ANSWERS, PROBLEM
from tests.support.server import doudi_serve

pytestmark = pytest.mark.postgres

CITIZENS = 200


def server_env(database_url: str, fake_wechat) -> dict[str, str]:
    return {
        "DOUDI_DATABASE_URL": database_url,
        "DOUDI_WECHAT_TOKEN": TOKEN,
        "DOUDI_WECHAT_AES_KEY": AES_KEY,
        "DOUDI_WECHAT_APPID": APPID,
        "DOUDI_WECHAT_SECRET": "test-secret",
        "DOUDI_WECHAT_API_BASE": fake_wechat.base_url,
        "DOUDI_TICKET_KEY": "test-ticket-key",
        "DOUDI_TIMER_EVERY_S": "0.3",
    }


class Player:
    """WeChat's side against a server in another process."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.side = WeChatSide(TOKEN, AES_KEY, APPID)

    async def post(self, xml: str) -> str | None:
        query, body = self.side.seal(xml)  # a fresh signature, as each WeChat delivery has
        async with self.http.post(self.url, params=query, data=body) as response:
            assert response.status == 200
            return self.side.open_reply(await response.text(), query)


async def journey(player: Player, fake_wechat, openid: str, rng: random.Random) -> tuple[str, int]:
    """The whole intake; returns the ticket number and how many re-deliveries were checked."""
    clock = int(time.time()) - 200  # recent: the intake's 30-minute timers stay in the future
    redelivered = 0
    reply = None
    for text in [PROBLEM, *ANSWERS, "确认"]:
        clock += 20
        xml = message_xml(openid, "text", Content=text, CreateTime=clock)
        by_api = len(fake_wechat.texts_to(openid))
        if rng.random() < 0.05:
            # WeChat gave up waiting and sent it again while the first is in flight.
            first, again = await asyncio.gather(player.post(xml), player.post(xml))
            reply = first or again
            assert first is None or again is None or first == again
            if (first is None) != (again is None):
                continue  # one was answered `success`: its reply may follow by the API too
        else:
            reply = await player.post(xml)
        if reply is None:  # over the deadline on a busy machine: the reply came by the API
            await wait_for(lambda: len(fake_wechat.texts_to(openid)) > by_api, within=30)  # noqa: B023
            reply = fake_wechat.texts_to(openid)[-1]
            if rng.random() < 0.15:
                redelivered += 1  # answered `success` once: the re-delivery gets no text again
                assert await player.post(xml) is None
        elif rng.random() < 0.15:
            redelivered += 1  # a re-delivery after the answer gets the first reply back
            assert await player.post(xml) == reply
    number = tn.find(reply or "")
    assert number is not None, reply
    return number, redelivered


async def test_two_workers_many_citizens_exactly_once(postgres_migrated, fake_wechat) -> None:
    from tests.conftest import _truncate

    await _truncate(postgres_migrated)
    openids = [new_openid() for _ in range(CITIZENS)]
    rng = random.Random(2024)
    async with doudi_serve(server_env(postgres_migrated, fake_wechat), workers=2) as url:
        connector = aiohttp.TCPConnector(limit=32)
        async with aiohttp.ClientSession(connector=connector) as http:
            player = Player(http, url)
            results = await asyncio.gather(*(journey(player, fake_wechat, o, rng) for o in openids))
    numbers = [number for number, _ in results]
    assert sum(n for _, n in results) > 0
    assert len(set(numbers)) == CITIZENS and all(tn.is_valid(n) for n in numbers)

    engine = create_async_engine(postgres_migrated)
    try:
        async with engine.connect() as db:
            tickets = (await db.execute(select(Ticket.openid, Ticket.number))).all()
            assert sorted(tickets) == sorted(zip(openids, numbers, strict=True))
            inbound = Counter(
                (await db.scalars(select(Message.openid).where(Message.direction == "in"))).all()
            )
            assert inbound == Counter({o: 1 + len(ANSWERS) + 1 for o in openids})  # none twice
            records = await db.scalar(
                select(func.count())
                .select_from(InboundDelivery)
                .where(InboundDelivery.key.like("msg:%"))
            )
            assert records == CITIZENS * (len(ANSWERS) + 2)
            for (state,) in await db.execute(select(Citizen.dialog_state)):
                json.dumps(state)  # every state still whole and serialisable
                assert not state.get("intake")  # every intake ended in its ticket
    finally:
        await engine.dispose()


async def test_timers_fire_once_across_two_workers(postgres_migrated, fake_wechat) -> None:
    from tests.conftest import _truncate

    await _truncate(postgres_migrated)
    openids = [new_openid() for _ in range(30)]
    engine = create_async_engine(postgres_migrated)
    try:
        async with doudi_serve(server_env(postgres_migrated, fake_wechat), workers=2) as url:
            async with aiohttp.ClientSession() as http:
                player = Player(http, url)
                # Each opens an intake 31 minutes ago: its 30-minute reminder is due now, and
                # both workers' timer loops (every 0.3 s) race to fire it.
                sent = int(time.time()) - 31 * 60
                for openid in openids:
                    await player.post(message_xml(openid, "text", Content=PROBLEM, CreateTime=sent))
            await wait_for(lambda: all(fake_wechat.texts_to(o) for o in openids), within=30)
            await asyncio.sleep(1.5)  # several more rounds of both workers' timer loops
        assert all(len(fake_wechat.texts_to(o)) == 1 for o in openids)
        async with engine.connect() as db:
            left = await db.scalar(
                select(func.count()).select_from(Timer).where(Timer.name == "intake_reminder")
            )
            assert left == 0
    finally:
        await engine.dispose()
