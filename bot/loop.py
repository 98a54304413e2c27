"""The event loop `doudi serve` runs on: uvloop when installed, else asyncio's own; and the
listening socket's backlog."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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
