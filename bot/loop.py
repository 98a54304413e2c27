"""The event loop `doudi serve` runs on: uvloop when installed, else asyncio's own; the
listening socket's backlog; the garbage collector after startup; and serving an app with all
three (one worker or each prefork worker)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

# Connections the kernel accepts for the server before it takes them (aiohttp's default is
# 128). WeChat opens many connections at once under load; past the backlog the kernel drops
# the SYN and the client retries after 1 s, then 3 s: time the deadline never sees. In
# run.py's 3x overload (~1,100 new connections a second) 145 SYNs were dropped and the
# slowest answer took 2.9 s; with this backlog none, 2.1 s. The kernel caps it at
# net.core.somaxconn (4096 on current kernels).
LISTEN_BACKLOG = 2048


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's new_event_loop, or None (asyncio's default) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    factory = event_loop_factory() or asyncio.new_event_loop
    return factory()


async def freeze_heap(_app: web.Application) -> None:
    """Once started (an on_startup hook, after the app's own), keep what startup built out of
    every later garbage collection.

    Startup leaves ~200,000 objects the collector tracks (the case matcher's index is most of
    them) that live as long as the process. CPython's full collection walks every one of them:
    ~90 ms with the event loop stopped, once every few hundred turns (measured in
    profile_turns.py: one in a run of 360 messages). Frozen, they are never walked; objects
    made later are collected as before.
    """
    gc.collect()
    gc.freeze()


def serve(app: web.Application, host: str, port: int, *, reuse_port: bool = False) -> None:
    """Run ``app`` until SIGINT/SIGTERM on the loop and backlog above (no banner, no access log:
    the webhook logs its own masked lines), its startup heap frozen."""
    from aiohttp import web

    app.on_startup.append(freeze_heap)
    web.run_app(
        app,
        host=host,
        port=port,
        reuse_port=reuse_port,
        backlog=LISTEN_BACKLOG,
        print=None,
        access_log=None,
        loop=new_event_loop(),
    )
