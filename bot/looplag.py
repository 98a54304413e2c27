"""How late the event loop runs what is due: the wait a request has had before its handler.

A request that arrives while the loop is busy (turns on the inline SQLite driver run on it)
waits in the socket and in the loop's queue before its handler starts; the handler cannot see
that wait. A callback scheduled every few milliseconds can: the delay with which it runs is
the time anything that became ready with it waited, and while it is overdue, how long it is
overdue is the wait so far. Admission reads it to decide whether a turn can still start in
time, and to let queued turns run only while the loop has room.
"""

from __future__ import annotations

import asyncio

TICK_S = 0.01
# A measured delay fades this fast: it concerns the requests that waited with the tick (they
# run right after it), not one that arrives once the loop is free again.
HALF_LIFE_S = 0.005


class LoopLag:
    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self._late = 0.0  # how late the last tick ran
        self._ran_at = 0.0  # when it ran (loop time)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []

    @property
    def seconds(self) -> float:
        """The loop's delay now: the pending tick's lateness, or the last one's, fading."""
        if self._loop is None or self._handle is None:
            return 0.0
        now = self._loop.time()
        faded = self._late * 0.5 ** ((now - self._ran_at) / HALF_LIFE_S)
        return max(now - self._due, faded, 0.0)

    def start(self) -> None:
        if self._handle is None:
            self._loop = asyncio.get_running_loop()
            self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        for _, waiter in self._waiters:  # nobody is left waiting for a monitor that stopped
            if not waiter.done():
                waiter.set_result(None)
        self._waiters = []

    async def below(self, limit_s: float) -> None:
        """Return once the lag is at most `limit_s` (at once when it is, or when not running)."""
        if self.seconds <= limit_s:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((limit_s, waiter))
        await waiter

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = self._loop.time() + self.tick_s
        self._handle = self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        assert self._loop is not None
        self._ran_at = self._loop.time()
        self._late = max(0.0, self._ran_at - self._due)
        self._schedule()
        if self._waiters:
            self._release(self.seconds)

    def _release(self, lag_s: float) -> None:
        keep = []
        for limit_s, waiter in self._waiters:
            if waiter.done():
                continue
            if lag_s <= limit_s:
                waiter.set_result(None)
            else:
                keep.append((limit_s, waiter))
        self._waiters = keep
