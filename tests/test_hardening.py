"""Hardening through the real webhook: rate limit, outbox, database outage, 删除我的信息,
purge, backup/restore, and personal data kept out of the logs."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from bot.app import DB_KEY, SERVICES_KEY, TURNS_KEY, build_app
from bot.cli import main
from bot.logs import PersonalDataFilter, install_masking
from bot.outbound import WeChatOutbound
from bot.simulator import WeChatSide, message_xml
from bot.webhook import UNAVAILABLE
from handlers import outbox, timers
from handlers.turns import RATE_LIMIT_PER_MINUTE, SLOW_DOWN
from storage.columns import utcnow
from storage.db import Database
from storage.models import Citizen, Message, OutboxItem, Ticket, TicketEvent
from storage.repositories import outbox as outbox_repo
from tests.conftest import AES_KEY, APPID, TOKEN, WeChat, _truncate, new_openid
from tests.journey import ANSWERS, PROBLEM
from tests.journey import Citizen as Talker
from tests.support.tcp_proxy import TcpProxy


async def rows(app, model, *where):
    async with app[DB_KEY].sessions() as session:
        return list(await session.scalars(select(model).where(*where)))


async def run_cli(*args: str, env: dict[str, str]) -> object:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


# --- rate limit


async def test_flood_gets_one_slow_down_and_is_not_processed(wechat: WeChat, client) -> None:
    if time.localtime().tm_sec > 45:  # stay inside one minute window
        await asyncio.sleep(61 - time.localtime().tm_sec)
    openid = new_openid()
    replies = [
        await wechat.say(message_xml(openid, "text", Content="你好"))
        for _ in range(RATE_LIMIT_PER_MINUTE + 5)
    ]
    assert all("查询进度" in r for r in replies[:RATE_LIMIT_PER_MINUTE])
    assert replies[RATE_LIMIT_PER_MINUTE] == SLOW_DOWN
    assert replies[RATE_LIMIT_PER_MINUTE + 1 :] == [None] * 4
    app = client.server.app
    stored = await rows(app, Message, Message.openid == openid, Message.direction == "in")
    assert len(stored) == RATE_LIMIT_PER_MINUTE
    # Another citizen is not affected.
    assert "查询进度" in await wechat.say(message_xml(new_openid(), "text", Content="你好"))
    # When the minute has passed, the citizen is served again.
    async with app[DB_KEY].transaction() as session:
        await session.execute(
            update(Citizen)
            .where(Citizen.openid == openid)
            .values(rate_window_start=utcnow() - timedelta(minutes=1))
        )
    assert "查询进度" in await wechat.say(message_xml(openid, "text", Content="你好"))


# --- outbox


async def test_late_reply_waits_in_outbox_when_wechat_times_out(settings, fake_wechat) -> None:
    api_db = Database(settings.database_url)
    slow_api = WeChatOutbound(settings, api_db, timeout=0.2, attempts=1)
    app = build_app(replace(settings, turn_deadline_s=0.3), outbound=slow_api)
    try:
        async with TestClient(TestServer(app)) as client:
            await slow_api.access_token()  # fetched while the fake is fast
            fake_wechat.delay_s = 1.0  # every send now times out
            wechat = WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID))
            openid = new_openid()
            async with app[DB_KEY].transaction(lock_key=f"citizen:{openid}"):
                assert await wechat.post(message_xml(openid, "text", Content="你好")) == (
                    200,
                    None,
                    "success",
                )

            async def queued() -> list[OutboxItem]:
                return await rows(app, OutboxItem, OutboxItem.openid == openid)

            async with asyncio.timeout(10):
                while not [i for i in await queued() if i.attempts >= 1]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            [item] = await queued()
            assert item.status == "pending" and item.next_attempt_at > utcnow()
            [out] = await rows(app, Message, Message.openid == openid, Message.direction == "out")
            assert out.delivery == "pending"
            undelivered = await _undelivered(app)
            assert [i.id for i in undelivered] == [item.id]

            fake_wechat.delay_s = 0
            services = app[SERVICES_KEY]
            assert await outbox.deliver(services, now=utcnow()) == 0  # not due yet
            assert await outbox.deliver(services, now=utcnow() + timedelta(minutes=1)) == 1
            assert "查询进度" in fake_wechat.texts_to(openid)[0]
            [item] = await queued()
            assert item.status == "sent"
            [out] = await rows(app, Message, Message.openid == openid, Message.direction == "out")
            assert out.delivery == "sent"
            assert await _undelivered(app) == []
    finally:
        await api_db.dispose()


async def _undelivered(app) -> list[OutboxItem]:
    async with app[DB_KEY].sessions() as session:
        return await outbox_repo.undelivered(session)


async def test_reminder_is_retried_with_backoff_until_wechat_takes_it(
    wechat, client, fake_wechat
) -> None:
    talker = Talker(wechat)
    talker.clock = int(utcnow().timestamp()) - 60
    await talker.say(PROBLEM)
    app = client.server.app
    fake_wechat.always_error = -1  # "system busy", every time
    later = utcnow() + timedelta(minutes=31)
    assert await timers.fire_due(app[TURNS_KEY], later) == 1
    [item] = await rows(app, OutboxItem, OutboxItem.openid == talker.openid)
    assert (item.kind, item.status, item.attempts) == ("push", "pending", 1)
    first_retry = item.next_attempt_at
    services = app[SERVICES_KEY]
    assert await outbox.deliver(services, now=first_retry) == 0  # still busy
    [item] = await rows(app, OutboxItem, OutboxItem.openid == talker.openid)
    assert item.attempts == 2 and item.next_attempt_at - first_retry >= timedelta(seconds=20)
    fake_wechat.always_error = None
    assert await outbox.deliver(services, now=item.next_attempt_at) == 1
    assert len(fake_wechat.texts_to(talker.openid)) == 1
    assert await outbox.deliver(services, now=later + timedelta(hours=1)) == 0  # sent once


async def test_refused_and_expired_messages_are_listed_for_the_console(
    wechat, client, fake_wechat
) -> None:
    app = client.server.app
    services = app[SERVICES_KEY]
    refused, expired = new_openid(), new_openid()
    now = utcnow()
    async with app[DB_KEY].transaction() as session:
        a = await outbox_repo.enqueue(
            session, openid=refused, text="一", now=now, expires_at=now + timedelta(hours=48)
        )
        b = await outbox_repo.enqueue(
            session, openid=expired, text="二", now=now, expires_at=now + timedelta(hours=48)
        )
    fake_wechat.send_errors = [45015]
    assert await outbox.deliver(services, ids=[a.id], now=now) == 0
    fake_wechat.always_error = -1
    assert await outbox.deliver(services, ids=[b.id], now=now) == 0
    assert await outbox.deliver(services, now=now + timedelta(hours=49)) == 0
    listed = {i.openid: i for i in await _undelivered(app)}
    assert listed[refused].status == "failed" and listed[refused].error_code == 45015
    assert listed[expired].status == "failed" and "48-hour" in listed[expired].last_error
    assert fake_wechat.sent == []


# --- the database goes away and comes back


@pytest.mark.postgres
async def test_database_outage_apologises_then_recovers_without_restart(
    postgres_migrated, settings, fake_wechat
) -> None:
    await _truncate(postgres_migrated)
    url = make_url(postgres_migrated)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = build_app(replace(settings, database_url=proxied))
    try:
        async with TestClient(TestServer(app)) as client:
            wechat = WeChat(client, WeChatSide(TOKEN, AES_KEY, APPID))
            openid = new_openid()
            assert "查询进度" in await wechat.say(message_xml(openid, "text", Content="你好"))

            await proxy.cut()
            started = time.monotonic()
            status, reply, _ = await wechat.post(message_xml(openid, "text", Content="在吗"))
            assert (status, reply) == (200, UNAVAILABLE)
            assert time.monotonic() - started < 4.5  # inside WeChat's 5 seconds
            health = await client.get("/healthz")
            assert health.status == 503
            assert "unreachable" in (await health.json())["reason"]

            await proxy.restore()

            async def healthy() -> bool:
                return (await client.get("/healthz")).status == 200

            async with asyncio.timeout(15):
                while not await healthy():  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            assert "查询进度" in await wechat.say(message_xml(openid, "text", Content="你好"))
    finally:
        await proxy.close()


async def test_healthz_gives_a_reason(client) -> None:
    body = await (await client.get("/healthz")).json()
    assert body == {"status": "ok", "database": True, "reason": "ok"}


# --- 删除我的信息 through the webhook


async def test_forget_me_deletes_drafts_and_lists_open_tickets(wechat, client) -> None:
    talker = Talker(wechat)
    number = await talker.file_request()
    await talker.say("我孩子的户口迁移也办不下来，派出所说要先开证明，跑了三次都不行")
    talker.clock += 20
    await wechat.say(message_xml(talker.openid, "image", PicUrl="http://x/y.jpg", MediaId="m1"))
    reply = await talker.say("删除我的信息")
    assert "已经删除" in reply
    assert f"{number[:4]} {number[4:8]} {number[8:]}" in reply and "撤回" in reply
    app = client.server.app
    [ticket] = await rows(app, Ticket, Ticket.openid == talker.openid)
    *kept, answer = await rows(app, Message, Message.openid == talker.openid)
    assert answer.direction == "out" and "已经删除" in answer.text  # the reply just sent
    assert kept and all(m.conversation_id == ticket.conversation_id for m in kept)
    texts = " ".join(m.text for m in kept)
    assert "户口" not in texts and "删除我的信息" not in texts
    [citizen] = await rows(app, Citizen, Citizen.openid == talker.openid)
    assert citizen.dialog_state["intake"] is None and citizen.dialog_state["attachments"] == []
    # The citizen starts clean, with no draft offered back.
    assert "上次" not in await talker.say("你好")


# --- doudi purge


async def _close(app, ticket_id: int, at) -> None:  # type: ignore[no-untyped-def]
    async with app[DB_KEY].transaction() as session:
        await session.execute(
            update(Ticket).where(Ticket.id == ticket_id).values(status="closed", updated_at=at)
        )
        session.add(
            TicketEvent(
                ticket_id=ticket_id,
                type="reply",
                actor="staff1",
                public=True,
                data={"text": "已联系您，13912345678"},
                at=at,
            )
        )
        session.add(TicketEvent(ticket_id=ticket_id, type="close", actor="staff1", at=at))


async def test_purge_removes_personal_data_of_old_closed_tickets(wechat, client, settings) -> None:
    app = client.server.app
    old, recent, still_open = Talker(wechat), Talker(wechat), Talker(wechat)
    for talker in (old, recent, still_open):
        await talker.file_request()
    by_openid = {t.openid: t for t in await rows(app, Ticket)}
    await _close(app, by_openid[old.openid].id, utcnow() - timedelta(days=4 * 365))
    await _close(app, by_openid[recent.openid].id, utcnow() - timedelta(days=30))

    result = await run_cli("purge", env={"DOUDI_DATABASE_URL": settings.database_url})
    assert "from 1 closed tickets" in result.output  # type: ignore[attr-defined]

    purged = (await rows(app, Ticket, Ticket.id == by_openid[old.openid].id))[0]
    assert (purged.openid, purged.title, purged.phone, purged.attachments) == ("", "", "", [])
    assert set(purged.fields) <= {"centre", "applicant_type"}
    assert "phone" not in purged.fields and "name" not in purged.fields
    assert purged.status == "closed" and purged.centre and purged.number
    events = await rows(app, TicketEvent, TicketEvent.ticket_id == purged.id)
    assert {e.type for e in events} == {"filed", "reply", "close"}
    assert all(e.data == {} for e in events)
    transcript = await rows(app, Message, Message.conversation_id == purged.conversation_id)
    assert transcript and all(m.text == "" and m.openid == "" for m in transcript)
    for kept in (recent, still_open):
        ticket = (await rows(app, Ticket, Ticket.openid == kept.openid))[0]
        assert ticket.phone == "13912345678" and ticket.fields["name"] == "王阿姨"

    # An explicit date reaches the recently closed one too; the open one is never touched.
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    env = {"DOUDI_DATABASE_URL": settings.database_url}
    await run_cli("purge", "--closed-before", tomorrow, env=env)
    assert not await rows(app, Ticket, Ticket.openid == recent.openid)
    assert await rows(app, Ticket, Ticket.openid == still_open.openid)


async def test_retention_days_is_configurable(wechat, client, settings) -> None:
    app = client.server.app
    talker = Talker(wechat)
    await talker.file_request()
    [ticket] = await rows(app, Ticket, Ticket.openid == talker.openid)
    await _close(app, ticket.id, utcnow() - timedelta(days=10))
    env = {"DOUDI_DATABASE_URL": settings.database_url, "DOUDI_RETENTION_DAYS": "7"}
    await run_cli("purge", env=env)
    [ticket] = await rows(app, Ticket, Ticket.id == ticket.id)
    assert ticket.openid == "" and ticket.phone == ""


# --- doudi backup / restore


async def test_backup_and_restore_keep_every_ticket(wechat, client, settings, tmp_path) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL is backed up with pg_dump (see README)")
    app = client.server.app
    for _ in range(3):
        await Talker(wechat).file_request()
    numbers = sorted(t.number for t in await rows(app, Ticket))
    backup_file = tmp_path / "backups" / "doudi-backup.db"
    # Taken while the server is running.
    await run_cli("backup", str(backup_file), env={"DOUDI_DATABASE_URL": settings.database_url})

    restored = tmp_path / "restored" / "doudi.db"
    url = f"sqlite+aiosqlite:///{restored}"
    result = await run_cli("restore", "--yes", str(backup_file), env={"DOUDI_DATABASE_URL": url})
    assert "3 tickets" in result.output  # type: ignore[attr-defined]
    db = Database(url)
    try:
        async with db.sessions() as session:
            got = sorted(await session.scalars(select(Ticket.number)))
            phones = set(await session.scalars(select(Ticket.phone)))
        assert got == numbers and phones == {"13912345678"}
    finally:
        await db.dispose()


async def test_backup_refuses_postgres_with_a_hint(tmp_path) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["backup", str(tmp_path / "x.db")],
        env={"DOUDI_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/db"},
    )
    assert result.exit_code != 0 and "pg_dump" in result.output


# --- personal data in logs


ID_CARD = "350102199001011234"
SECRET_WORDS = ["养老金资格认证", "王阿姨", "13912345678", ID_CARD, "瘫痪在床"]


async def test_a_full_intake_logs_no_personal_data(wechat, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    talker = Talker(wechat)
    await talker.say(PROBLEM + f"，我的身份证号是{ID_CARD}")
    for answer in ANSWERS:
        await talker.say(answer)
    await talker.say("确认")
    await talker.say("查询")
    await talker.say("删除我的信息")
    seen = [
        r.getMessage() + (r.exc_text or "") for r in caplog.records if r.levelno >= logging.INFO
    ]
    assert seen, "expected some INFO lines"
    for line in seen:
        for secret in SECRET_WORDS:
            assert secret not in line, f"{secret!r} logged: {line}"


def test_masking_filter_is_the_safety_net(caplog) -> None:
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "call %s failed: %s", ("13912345678", ID_CARD), None
    )
    assert PersonalDataFilter().filter(record)
    assert record.getMessage() == "call 139****5678 failed: 3501**********1234"
    handler = logging.StreamHandler()
    install_masking(handler)
    install_masking(handler)
    assert len(handler.filters) == 1
    try:
        raise ValueError("bad phone 13812345678 access_token=SECRET")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    PersonalDataFilter().filter(record)
    assert "138****5678" in record.exc_text and "SECRET" not in record.exc_text
