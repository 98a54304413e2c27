"""The citizen's journey end to end: intake to ticket, restarts, concurrency, lookups, timers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import DB_KEY, TURNS_KEY, build_app
from bot.simulator import WeChatSide
from handlers import timers
from handlers.tickets import number as tn
from storage.columns import utcnow
from storage.models import Citizen as CitizenRow
from storage.models import Message, Ticket
from tests.conftest import AES_KEY, APPID, TOKEN, WeChat
from tests.journey import ANSWERS, PROBLEM, Citizen


async def all_rows(client, model, *where):
    async with client.server.app[DB_KEY].sessions() as session:
        return list(await session.scalars(select(model).where(*where)))


async def test_full_intake_files_a_ticket(wechat, client) -> None:
    citizen = Citizen(wechat)
    number = await citizen.file_request()
    assert tn.is_valid(number)
    [ticket] = await all_rows(client, Ticket, Ticket.openid == citizen.openid)
    assert ticket.number == number and ticket.status == "new"
    assert ticket.centre == "鼓楼区" and ticket.phone == "13912345678"
    assert ticket.fields["request"] == PROBLEM
    assert ticket.consent_at is not None and not ticket.incomplete
    # Working-day deadlines from the staff window's calendar, accept before resolve.
    assert ticket.created_at < ticket.accept_due_at < ticket.resolve_due_at
    # The transcript staff will read: every message of the intake, both ways.
    transcript = await all_rows(client, Message, Message.conversation_id == ticket.conversation_id)
    said = [m.text for m in transcript if m.direction == "in"]
    assert said == [PROBLEM, *ANSWERS, "确认"]
    assert tn.display(number) in transcript[-1].text


async def test_the_reply_shows_the_grouped_number_and_how_to_check(wechat) -> None:
    citizen = Citizen(wechat)
    await citizen.say(PROBLEM)
    for answer in ANSWERS:
        await citizen.say(answer)
    reply = await citizen.say("确认")
    number = tn.find(reply)
    assert tn.display(number) in reply and "查询" in reply


async def test_restart_between_messages_loses_nothing(settings) -> None:
    openid = None
    for part in (slice(0, 4), slice(4, None)):
        # A new app object each time: nothing survives in memory, as after kill -9.
        async with TestClient(TestServer(build_app(settings))) as client:
            wechat = WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID))
            citizen = Citizen(wechat, openid)
            citizen.clock += 200 * (part.start or 0)
            openid = citizen.openid
            if part.start == 0:
                await citizen.say(PROBLEM)
            for answer in ANSWERS[part]:
                await citizen.say(answer)
            if part.stop is None:
                reply = await citizen.say("确认")
                assert tn.is_valid(tn.find(reply) or "")


async def test_two_concurrent_messages_are_serialised(wechat, client) -> None:
    citizen = Citizen(wechat)
    await citizen.say(PROBLEM)
    first, second = citizen.xml("去过社保中心窗口"), citizen.xml("说要本人到场")
    replies = await asyncio.gather(wechat.say(first), wechat.say(second))
    assert all(replies)
    [row] = await all_rows(client, CitizenRow, CitizenRow.openid == citizen.openid)
    state = row.dialog_state
    json.dumps(state)  # still a valid, serialisable state
    values = state["intake"]["values"]
    # Serialised, not ordered: whichever took the citizen's lock first answered the first
    # question, and the other answered the next one. Neither was lost or merged.
    assert {values["visited"], values["reason"]} == {"去过社保中心窗口", "说要本人到场"}
    stored = await all_rows(
        client, Message, Message.openid == citizen.openid, Message.direction == "in"
    )
    assert len(stored) == 3


async def test_lookup_of_own_ticket_and_list(wechat) -> None:
    citizen = Citizen(wechat)
    number = await citizen.file_request()
    listing = await citizen.say("查询")
    assert tn.display(number) in listing or number in listing
    shown = await citizen.say(f"查询 {tn.display(number)}")
    assert "待受理" in shown and "鼓楼区" in shown
    assert "13912345678" not in shown and PROBLEM[:10] not in shown


async def test_lookup_of_anothers_ticket_needs_last_four_phone_digits(wechat) -> None:
    owner = Citizen(wechat)
    number = await owner.file_request()
    stranger = Citizen(wechat)
    asked = await stranger.say(f"查询{number}")
    assert "后4位" in asked or "后四位" in asked
    shown = await stranger.say("5678")
    assert "待受理" in shown and "13912345678" not in shown and PROBLEM[:10] not in shown


async def test_wrong_digits_and_unknown_numbers_read_the_same(wechat) -> None:
    owner = Citizen(wechat)
    number = await owner.file_request()
    day = tn.day_of(number)
    unknown = tn.make_number(day, 99_999, "another-key")  # well-formed, not filed
    stranger = Citizen(wechat)
    await stranger.say(f"查询 {number}")
    wrong = await stranger.say("0000")
    asked_unknown = await stranger.say(f"查询 {unknown}")
    assert "后4位" in asked_unknown or "后四位" in asked_unknown
    wrong_unknown = await stranger.say("5678")
    assert wrong == wrong_unknown


async def test_mistyped_number_is_caught_by_the_check_digit(wechat) -> None:
    citizen = Citizen(wechat)
    number = await citizen.file_request()
    typo = number[:-2] + str((int(number[-2]) + 1) % 10) + number[-1]
    reply = await citizen.say(f"查询 {typo}")
    assert "输错" in reply


async def test_five_wrong_tries_lock_lookups(wechat) -> None:
    owner = Citizen(wechat)
    number = await owner.file_request()
    stranger = Citizen(wechat)
    replies = []
    for _ in range(5):
        await stranger.say(f"查询 {number}")
        replies.append(await stranger.say("0000"))
    assert "小时" not in replies[3] and "小时" in replies[4]  # the fifth wrong try locks
    reply = await stranger.say(f"查询 {number}")  # no chance to try the right digits now
    assert "小时" in reply and "后4位" not in reply and "后四位" not in reply
    assert "待受理" in await owner.say(f"查询 {number}")  # the owner is not locked out


async def test_idle_intake_gets_one_reminder(wechat, client, fake_wechat) -> None:
    citizen = Citizen(wechat)
    citizen.clock = int(utcnow().timestamp()) - 60
    await citizen.say(PROBLEM)
    turns = client.server.app[TURNS_KEY]
    assert await timers.fire_due(turns, utcnow()) == 0  # nothing due yet
    later = utcnow() + timedelta(minutes=31)
    assert await timers.fire_due(turns, later) == 1
    assert len(fake_wechat.texts_to(citizen.openid)) == 1
    assert await timers.fire_due(turns, later) == 0  # fired once
    assert len(fake_wechat.texts_to(citizen.openid)) == 1


async def test_images_and_voice_during_intake_are_attached(wechat, client) -> None:
    from bot.simulator import message_xml

    citizen = Citizen(wechat)
    await citizen.say(PROBLEM)
    citizen.clock += 20
    await wechat.say(
        message_xml(
            citizen.openid,
            "image",
            PicUrl="http://x.invalid/p.jpg",
            MediaId="img-1",
            CreateTime=citizen.clock,
        )
    )
    citizen.clock += 20
    await wechat.say(
        message_xml(
            citizen.openid,
            "voice",
            MediaId="voice-1",
            Format="amr",
            Recognition=ANSWERS[0],
            CreateTime=citizen.clock,
        )
    )
    for answer in ANSWERS[1:]:
        await citizen.say(answer)
    await citizen.say("确认")
    [ticket] = await all_rows(client, Ticket, Ticket.openid == citizen.openid)
    media = {a["media_id"] for a in ticket.attachments}
    assert {"img-1", "voice-1"} <= media
    assert ticket.fields["visited"] == ANSWERS[0]  # the voice answered the question too


async def test_timers_survive_a_restart_and_a_day_old_intake_becomes_a_draft(settings) -> None:
    async with TestClient(TestServer(build_app(settings))) as client:
        citizen = Citizen(WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID)))
        citizen.clock = int(utcnow().timestamp()) - 60
        await citizen.say(PROBLEM)
        openid = citizen.openid
    # A new server process: the timers are in the database, not in memory.
    async with TestClient(TestServer(build_app(settings))) as client:
        turns = client.server.app[TURNS_KEY]
        assert await timers.fire_due(turns, utcnow() + timedelta(hours=25)) >= 1
        citizen = Citizen(WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID)), openid)
        citizen.clock = int(utcnow().timestamp())
        reply = await citizen.say("你好")
        assert "继续" in reply and "重新" in reply
        assert "部门或窗口" in await citizen.say("1")  # continue where it stopped


async def test_ticket_number_tables_are_made_at_start_not_by_the_first_filing(settings) -> None:
    """The first filing after a start does not wait ~10 ms for today's permutation tables."""
    tn._round_tables.cache_clear()
    async with TestClient(TestServer(build_app(settings))) as client:
        made_at_start = tn._round_tables.cache_info().misses
        assert made_at_start >= 1
        number = await Citizen(WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID))).file_request()
        assert tn.is_valid(number)
        assert tn._round_tables.cache_info().misses == made_at_start  # today's, ready
