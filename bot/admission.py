"""Admission control: under overload the webhook still answers within WeChat's deadline.

A worker runs at most `max_in_flight` turns at a time (kept below the database pool's size,
so a running turn never waits for a connection). A request whose turn cannot finish before
its deadline is put on a bounded queue and answered `success` at once; the queue's
consumers run it later, in order, and its reply goes out through the customer-service API.
While a citizen has a message on the queue, their next messages queue behind it, so one
citizen's turns still run in the order they were sent.

"Cannot finish" is decided up front, from those already waiting for a slot and how often a
turn finishes now (Little's law: turns that hold the event loop, as the inline SQLite
driver's do, finish one at a time whatever the number of slots), not by waiting for a slot
until the deadline draws near. On one event loop every turn let wait delays every request
behind it, even one only to be answered `success`; so few may wait (MAX_WAIT_S), and queued
turns run when the loop has room: paced to a share of it while requests are being queued.
A request that came in while the loop was held had already waited before its handler
started; the loop's lag (`bot.looplag`) tells how long. With the inline driver's turns,
which never yield, each handler found a slot free and a 3x overload (2,400 requests a
second) ran almost every turn in its handler: 30 s at the slowest; now under 1 s.

When even the queue is full the request is refused with 503 and not recorded: WeChat
re-delivers it (up to 3 times), and the delivery record makes sure it runs once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable

from bot import metrics
from bot.looplag import LoopLag
from handlers.incoming import Incoming
from handlers.turns import TurnOutcome, TurnService

log = logging.getLogger(__name__)

# A turn that starts with less than this left before the deadline is queued instead: it
# could not finish in time anyway, and queueing it leaves the slot to one that can.
MIN_TURN_BUDGET_S = 0.25
# How fast the estimate of a turn's duration follows new turns (an exponential average).
TURN_S_WEIGHT = 0.1
# Until turns have been timed: a turn in its slot takes milliseconds to tens of them.
TURN_S_PRIOR = 0.05
# The share of a request's time left that it may spend waiting for a slot (see start_turn).
WAIT_SHARE = 0.5
# And never longer than this: turns that hold the event loop delay every request behind
# them, even one that is only to be answered `success`, so the turns let wait must stay few.
MAX_WAIT_S = 0.5
# Above this loop lag a handler starts no turn (it queues it): a request's unseen wait is
# already that long, and every turn started makes the next request's longer.
LAG_LIMIT_S = 1.0
# Queued turns run only while the lag is below this, or once they have deferred this long:
# they yield to requests still waiting for their answer, but never stop.
CONSUMER_LAG_S = 0.02
CONSUMER_DEFER_S = 0.2
# While requests are being queued (and for this long after), queued turns together use at
# most this share of the loop's time: the rest answers the requests still coming in. A loop
# that keeps up shows little lag even when nearly full, so the lag alone cannot keep that room.
CONSUMER_SHARE = 0.25
OVERLOAD_HOLD_S = 1.0


class QueueFull(Exception):
    pass


def _nothing(count: int) -> None:
    return None


class Admission:
    def __init__(
        self,
        turns: TurnService,
        max_in_flight: int = 16,
        queue_size: int = 1000,
        consumers: int = 4,
        announce: Callable[[int], None] | None = None,
    ) -> None:
        self.turns = turns
        # Tells the database how many started turns are about to write (a hint).
        self._announce = announce or _nothing
        self.slots = asyncio.Semaphore(max_in_flight)
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=queue_size)
        self.consumers = max(1, min(consumers, max_in_flight))
        self._queued_for: collections.Counter[str] = collections.Counter()
        self.max_in_flight = max_in_flight
        self.waiting = 0  # requests and consumers waiting for a slot
        self.in_flight = 0  # turns holding a slot
        self.turn_s = TURN_S_PRIOR  # a turn's recent duration in its slot, seconds (averaged)
        # Seconds between two turns finishing while others were waiting or running (averaged):
        # turn_s / slots when turns overlap (waiting on PostgreSQL), turn_s when they cannot
        # (each holds the loop).
        self.gap_s = TURN_S_PRIOR / max_in_flight
        self._last_done = 0.0
        self._busy_since_last = False
        self.lag = LoopLag()
        self._overloaded_until = 0.0  # monotonic time until which consumers are paced
        self._consumers_free_at = 0.0  # when the next queued turn may start, while paced
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.lag.start()
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._consume()) for _ in range(self.consumers)]

    async def stop(self, drain_s: float = 10.0) -> None:
        """Give queued turns a moment to finish (at shutdown), then stop the consumers."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_s):
                await self.queue.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.lag.stop()

    async def start_turn(
        self, incoming: Incoming, until: float
    ) -> asyncio.Future[TurnOutcome] | None:
        """The running turn, or None when it was queued (it could not start before `until`).

        Raises QueueFull when it could neither start nor be queued.
        """
        unseen = self.lag.seconds  # how long requests coming in now have already waited
        if self._queued_for[incoming.openid] == 0 and unseen <= LAG_LIMIT_S:
            if self.waiting == 0 and not self.slots.locked():  # a slot is free: no wait
                await self.slots.acquire()
                return self._started(incoming)
            # Wait for a slot only while the turn is expected to finish in time, too, and then
            # for half the time left at most: the estimate may be off by half, and the rest
            # covers time not seen here (before the handler ran, the answer's way back).
            left = until - unseen - MIN_TURN_BUDGET_S - self.turn_s - time.monotonic()
            budget = min(left * WAIT_SHARE, MAX_WAIT_S)
            if 0 < budget and self.expected_wait() < budget:
                self.waiting += 1
                try:
                    async with asyncio.timeout(budget):
                        await self.slots.acquire()
                except TimeoutError:
                    pass
                else:
                    return self._started(incoming)
                finally:
                    self.waiting -= 1
        self._enqueue(incoming)
        return None

    def expected_wait(self) -> float:
        """Seconds until a slot frees for a request that starts waiting now: those ahead of it
        (and itself) over the turns finished a second."""
        if self.waiting == 0 and not self.slots.locked():
            return 0.0
        return (self.waiting + 1) * max(self.gap_s, self.turn_s / self.max_in_flight)

    def _enqueue(self, incoming: Incoming) -> None:
        try:
            self.queue.put_nowait(incoming)
        except asyncio.QueueFull:
            metrics.SHED.inc()
            raise QueueFull from None
        self._queued_for[incoming.openid] += 1
        self._overloaded_until = time.monotonic() + OVERLOAD_HOLD_S
        metrics.QUEUED.inc()
        metrics.LATE_REPLIES.labels("queued").inc()

    def _started(self, incoming: Incoming) -> asyncio.Future[TurnOutcome]:
        """The turn as a task of its own, announced to the database: turns started in one
        iteration of the event loop run in the next, and SQLite's writer commits them together
        (storage/backends/sqlite_writer.py)."""
        self._announce(1)
        return asyncio.ensure_future(self._run(incoming, announced=True))

    async def _run(
        self, incoming: Incoming, late: bool = False, announced: bool = False
    ) -> TurnOutcome:
        """The turn, in a slot already acquired; the slot is released when it ends."""
        if announced:  # runs now (without giving the loop back before its transaction)
            self._announce(-1)
        metrics.IN_FLIGHT.inc()
        self.in_flight += 1
        started = time.monotonic()
        try:
            return await self.turns.handle(incoming, late=late)
        finally:
            done = time.monotonic()
            self.turn_s += (done - started - self.turn_s) * TURN_S_WEIGHT
            if self._busy_since_last:  # no idle time since the last turn finished
                self.gap_s += (done - self._last_done - self.gap_s) * TURN_S_WEIGHT
            self._last_done = done
            self._busy_since_last = bool(self.waiting) or self.in_flight > 1
            self.in_flight -= 1
            metrics.IN_FLIGHT.dec()
            self.slots.release()

    async def _consume(self) -> None:
        while True:
            incoming = await self.queue.get()
            # Requests waiting for their answer come first: a queued turn's is on its way.
            await asyncio.sleep(0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONSUMER_DEFER_S):
                    await self.lag.below(CONSUMER_LAG_S)
            paced = time.monotonic() < self._overloaded_until
            if paced and self._consumers_free_at > time.monotonic():
                await asyncio.sleep(self._consumers_free_at - time.monotonic())
            try:
                self.waiting += 1
                try:
                    await self.slots.acquire()
                finally:
                    self.waiting -= 1
                started = time.monotonic()
                # Answered `success` already: the reply is queued for the API in the turn's
                # own transaction and sent after it (one transaction, not two).
                await self._run(incoming, late=True)
                done = time.monotonic()
                metrics.TURN_SECONDS.observe(done - started)
                if paced:  # this turn's time, then three times as long for the others
                    self._consumers_free_at = done + (done - started) * (1 / CONSUMER_SHARE - 1)
            except Exception:
                log.exception("queued turn failed")
            finally:
                self._queued_for[incoming.openid] -= 1
                if self._queued_for[incoming.openid] <= 0:
                    del self._queued_for[incoming.openid]
                metrics.QUEUED.dec()
                self.queue.task_done()
