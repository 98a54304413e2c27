"""The outbound WeChat client against a fake WeChat API server (nothing of ours patched)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.outbound import WeChatOutbound
from storage.db import Database
from storage.repositories import tokens


async def test_two_workers_fetch_the_token_once(settings, fake_wechat) -> None:
    # On PostgreSQL two Database objects and two clients, as two worker processes would
    # have; SQLite serves with one worker, so there the callers share one Database.
    db_a = Database(settings.database_url)
    many_workers = db_a.backend.supports_many_workers
    db_b = Database(settings.database_url) if many_workers else db_a
    a, b = WeChatOutbound(settings, db_a), WeChatOutbound(settings, db_b)
    try:
        results = await asyncio.gather(
            *(client.send_text(f"o_{i}", "您好") for i in range(4) for client in (a, b))
        )
        assert {r.status for r in results} == {"sent"}
        assert fake_wechat.token_fetches == 1
        assert len(fake_wechat.sent) == 8
        async with db_a.sessions() as session:
            row = await tokens.get(session, settings.wechat_appid)
        assert row is not None and row.token in fake_wechat.valid_tokens
    finally:
        await db_a.dispose()
        if many_workers:
            await db_b.dispose()


async def test_expired_token_is_refreshed_once_and_retried(settings, fake_wechat) -> None:
    db = Database(settings.database_url)
    outbound = WeChatOutbound(settings, db)
    try:
        assert (await outbound.send_text("o_1", "一")).status == "sent"
        fake_wechat.valid_tokens.clear()  # WeChat invalidated it (e.g. another app fetched one)
        assert (await outbound.send_text("o_1", "二")).status == "sent"
        assert fake_wechat.token_fetches == 2
        assert fake_wechat.texts_to("o_1") == ["一", "二"]
    finally:
        await db.dispose()


async def test_persistent_40001_gives_up_after_bounded_attempts(settings, fake_wechat) -> None:
    db = Database(settings.database_url)
    outbound = WeChatOutbound(settings, db, attempts=3)
    fake_wechat.always_error = 40001
    try:
        delivery = await asyncio.wait_for(outbound.send_text("o_1", "x"), timeout=10)
        assert (delivery.status, delivery.error_code) == ("failed", 40001)
        assert fake_wechat.token_fetches <= 3
    finally:
        await db.dispose()


async def test_outside_48_hours_is_recorded_not_retried(settings, fake_wechat) -> None:
    db = Database(settings.database_url)
    outbound = WeChatOutbound(settings, db)
    try:
        for code in (45015, 45047):
            fake_wechat.send_errors = [code, 0, 0]
            delivery = await outbound.send_text("o_1", "x")
            assert (delivery.status, delivery.error_code) == ("failed", code)
            assert fake_wechat.send_errors == [0, 0]  # exactly one call was made
        assert fake_wechat.sent == []
    finally:
        await db.dispose()


async def test_transient_error_is_retried(settings, fake_wechat) -> None:
    db = Database(settings.database_url)
    outbound = WeChatOutbound(settings, db)
    fake_wechat.send_errors = [-1, 0]  # "system busy", then fine
    try:
        assert (await outbound.send_text("o_1", "x")).status == "sent"
        assert fake_wechat.texts_to("o_1") == ["x"]
    finally:
        await db.dispose()


async def test_timeouts_are_bounded(settings, fake_wechat) -> None:
    db = Database(settings.database_url)
    outbound = WeChatOutbound(settings, db, timeout=0.2, attempts=2)
    try:
        await outbound.access_token()  # fetched while the fake is fast
        fake_wechat.delay_s = 2
        started = asyncio.get_running_loop().time()
        delivery = await outbound.send_text("o_1", "x")
        assert delivery.status == "failed"
        assert asyncio.get_running_loop().time() - started < 2
    finally:
        await db.dispose()


async def test_unconfigured_account_leaves_message_pending(settings) -> None:
    db = Database(settings.database_url)
    outbound = WeChatOutbound(replace(settings, wechat_appid="", wechat_secret=""), db)
    try:
        assert (await outbound.send_text("o_1", "x")).status == "pending"
    finally:
        await db.dispose()
