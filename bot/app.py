"""The composition root: builds the services, wires one router per feature, serves HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot import api, console, metrics
from bot.admission import Admission
from bot.config import Settings
from bot.outbound import WeChatOutbound
from bot.protocol import MAX_BODY_BYTES, WeChatProtocol
from bot.webhook import Webhook
from dialogs.config import DialogConfig
from handlers import conversation, events, outbox, privacy, timers
from handlers.caselib import runners as case_runners
from handlers.caselib.library import CaseLibrary
from handlers.dispatcher import Dispatcher
from handlers.effects import EffectRegistry
from handlers.services import Outbound, Services
from handlers.staff import jobs as staff_jobs
from handlers.staff.notify import queue_ticket_filed
from handlers.staff.runtime import StaffRuntime, attach
from handlers.staff.workdays import deadlines_now, local_date
from handlers.tickets import filing, lookup
from handlers.tickets import number as numbers
from handlers.turns import TurnService
from storage import health
from storage.columns import utcnow
from storage.db import Database
from storage.repositories import deliveries

log = logging.getLogger(__name__)

DB_KEY = web.AppKey("db", Database)
SERVICES_KEY = web.AppKey("services", Services)
TURNS_KEY = web.AppKey("turns", TurnService)
TIMER_EVERY_KEY = web.AppKey("timer_every_s", float)
MAINTENANCE_EVERY_S = 300


def build_effects() -> EffectRegistry:
    """Every effect the dialogs can ask for, with the feature module that carries it out."""
    registry = EffectRegistry()
    for feature in (filing, lookup, timers, case_runners, privacy):
        registry.include(feature.effects)
    return registry


def build_app(settings: Settings, *, outbound: Outbound | None = None) -> web.Application:
    db = Database(settings.database_url)
    effects = build_effects()
    metrics.observe_effects(effects)
    services = Services(
        db=db,
        outbound=metrics.MeteredOutbound(outbound or WeChatOutbound(settings, db)),
        effects=effects,
        dialog_config=DialogConfig(),
        ticket_key=settings.ticket_key,
        deadlines=deadlines_now,
        queue_ticket_filed=queue_ticket_filed,
    )
    attach(services, StaffRuntime.from_settings(settings))
    dispatcher = Dispatcher(events.router, timers.router, conversation.router)
    turns = TurnService(services, dispatcher)
    protocol = WeChatProtocol(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
    extra = settings.extra
    admission = Admission(
        turns,
        max_in_flight=int(extra.get("DOUDI_MAX_TURNS_IN_FLIGHT", "16")),
        queue_size=int(extra.get("DOUDI_TURN_QUEUE", "10000")),
        announce=db.backend.announce_writes,
    )
    webhook = Webhook(protocol, turns, settings.turn_deadline_s, admission)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[DB_KEY] = db
    app[SERVICES_KEY] = services
    app[TURNS_KEY] = turns
    app[TIMER_EVERY_KEY] = float(extra.get("DOUDI_TIMER_EVERY_S", "5.0"))
    app.router.add_get("/wechat", webhook.get)
    app.router.add_post("/wechat", webhook.post)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics.handler(db))
    app.on_startup.append(_load_library)
    app.on_startup.append(_warm_ticket_numbers)
    api.setup(app, services)
    console.setup(app, services, poll_ms=_poll_ms(settings))
    app.cleanup_ctx.append(_maintenance)
    app.cleanup_ctx.append(_timer_loop)
    app.cleanup_ctx.append(_outbox_loop)

    async def close(_app: web.Application) -> None:
        await webhook.drain()
        await db.dispose()

    async def start_admission(_app: web.Application) -> None:
        admission.start()

    app.on_startup.append(start_admission)
    app.on_cleanup.append(close)
    return app


def _poll_ms(settings: Settings) -> int:
    """How often an open console queue asks whether it changed (DOUDI_CONSOLE_POLL_MS)."""
    try:
        return max(200, int(settings.extra.get("DOUDI_CONSOLE_POLL_MS", "10000")))
    except ValueError:
        return 10000


async def healthz(request: web.Request) -> web.Response:
    ok, reason = await health.check(request.app[DB_KEY])
    return web.json_response(
        {"status": "ok" if ok else "unavailable", "database": ok, "reason": reason},
        status=200 if ok else 503,
    )


async def _load_library(app: web.Application) -> None:
    services = app[SERVICES_KEY]
    try:
        services.library = await CaseLibrary.load(services.db)
    except Exception:
        # No database yet, or unreachable: the bot still takes requests, without quick answers.
        log.exception("case library not loaded; searches answer 'none' until restart")


async def _warm_ticket_numbers(app: web.Application) -> None:
    """Today's tables of the ticket numbers' permutation, made before the first filing needs
    them: 3,072 HMACs, ~10 ms that the first filing after a start (and every request queued
    behind it) waited for. A filing on a later day makes that day's, as before."""
    key = app[SERVICES_KEY].ticket_key
    await asyncio.to_thread(numbers.make_number, local_date(utcnow()), 0, key)


async def _timer_loop(app: web.Application):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(timers.run_forever(app[TURNS_KEY], app[TIMER_EVERY_KEY]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _outbox_loop(app: web.Application):  # type: ignore[no-untyped-def]
    """Retries what WeChat's API did not take (handlers/outbox.py)."""
    task = asyncio.create_task(outbox.run_forever(app[SERVICES_KEY], app[TIMER_EVERY_KEY]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _maintenance(app: web.Application):  # type: ignore[no-untyped-def]
    """Periodic housekeeping: expired delivery records and staff sessions, closing resolved
    tickets nobody rated, notifications left queued."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(MAINTENANCE_EVERY_S)
            try:
                async with app[DB_KEY].transaction() as session:
                    await deliveries.purge_expired(session, utcnow())
            except Exception:
                log.exception("maintenance failed; will try again")
            try:
                await staff_jobs.run_periodic(app[SERVICES_KEY])
            except Exception:
                log.exception("staff maintenance failed; will try again")

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
