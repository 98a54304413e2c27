"""Admission control: under overload the webhook still answers within WeChat's deadline.

A worker runs at most `max_in_flight` turns at a time (kept below the database pool's size,
so a running turn never waits for a connection). A request whose turn cannot finish before
its deadline is put on a bounded queue and answered `success` at once; the queue's
consumers run it later, in order, and its reply goes out through the customer-service API.
While a citizen has a message on the queue, their next messages queue behind it, so one
citizen's turns still run in the order they were sent.

"Cannot finish" is decided up front, from those already waiting for a slot and how long a
turn takes now (Little's law), not by waiting for a slot until the deadline draws near.
The deadline counts from when the handler starts; a request that came in while turns held
the event loop (on SQLite they run on it) had already waited, unseen, before that. Under
sustained overload every request would wait out its budget and answer at the deadline,
plus that unseen time: past WeChat's 5 s (a 3x overload measured 27 s). Now most are
answered in milliseconds, and none waits for a slot more than half its remaining time.

When even the queue is full the request is refused with 503 and not recorded: WeChat
re-delivers it (up to 3 times), and the delivery record makes sure it runs once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time

from bot import metrics
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


class QueueFull(Exception):
    pass


class Admission:
    def __init__(
        self,
        turns: TurnService,
        max_in_flight: int = 16,
        queue_size: int = 1000,
        consumers: int = 4,
    ) -> None:
        self.turns = turns
        self.slots = asyncio.Semaphore(max_in_flight)
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=queue_size)
        self.consumers = max(1, min(consumers, max_in_flight))
        self._queued_for: collections.Counter[str] = collections.Counter()
        self.max_in_flight = max_in_flight
        self.waiting = 0  # requests and consumers waiting for a slot
        self.turn_s = TURN_S_PRIOR  # a turn's recent duration in its slot, seconds (averaged)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
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

    async def start_turn(
        self, incoming: Incoming, until: float
    ) -> asyncio.Future[TurnOutcome] | None:
        """The running turn, or None when it was queued (it could not start before `until`).

        Raises QueueFull when it could neither start nor be queued.
        """
        if self._queued_for[incoming.openid] == 0:
            if self.waiting == 0 and not self.slots.locked():  # a slot is free: no wait
                await self.slots.acquire()
                return asyncio.ensure_future(self._run(incoming))
            # Wait for a slot only while the turn is expected to finish in time, too, and then
            # for half the time left at most: the estimate may be off by half, and the rest
            # covers time not seen here (before the handler ran, the answer's way back).
            budget = (until - MIN_TURN_BUDGET_S - self.turn_s - time.monotonic()) * WAIT_SHARE
            if 0 < budget and self.expected_wait() < budget:
                self.waiting += 1
                try:
                    async with asyncio.timeout(budget):
                        await self.slots.acquire()
                except TimeoutError:
                    pass
                else:
                    return asyncio.ensure_future(self._run(incoming))
                finally:
                    self.waiting -= 1
        self._enqueue(incoming)
        return None

    def expected_wait(self) -> float:
        """Seconds until a slot frees for a request that starts waiting now: those ahead of it
        (and itself) over the turns finished a second (slots over a turn's duration)."""
        if self.waiting == 0 and not self.slots.locked():
            return 0.0
        return (self.waiting + 1) * self.turn_s / self.max_in_flight

    def _enqueue(self, incoming: Incoming) -> None:
        try:
            self.queue.put_nowait(incoming)
        except asyncio.QueueFull:
            metrics.SHED.inc()
            raise QueueFull from None
        self._queued_for[incoming.openid] += 1
        metrics.QUEUED.inc()
        metrics.LATE_REPLIES.labels("queued").inc()

    async def _run(self, incoming: Incoming, late: bool = False) -> TurnOutcome:
        """The turn, in a slot already acquired; the slot is released when it ends."""
        metrics.IN_FLIGHT.inc()
        started = time.monotonic()
        try:
            return await self.turns.handle(incoming, late=late)
        finally:
            self.turn_s += (time.monotonic() - started - self.turn_s) * TURN_S_WEIGHT
            metrics.IN_FLIGHT.dec()
            self.slots.release()

    async def _consume(self) -> None:
        while True:
            incoming = await self.queue.get()
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
                metrics.TURN_SECONDS.observe(time.monotonic() - started)
            except Exception:
                log.exception("queued turn failed")
            finally:
                self._queued_for[incoming.openid] -= 1
                if self._queued_for[incoming.openid] <= 0:
                    del self._queued_for[incoming.openid]
                metrics.QUEUED.dec()
                self.queue.task_done()
