"""Admission control: under overload the webhook still answers within WeChat's deadline.

A worker runs at most `max_in_flight` turns at a time (kept below the database pool's size,
so a running turn never waits for a connection). A request whose turn cannot start before
its deadline (counted from the request's arrival) is put on a bounded queue and answered
`success` at once; the queue's consumers run it later, in order, and its reply goes out
through the customer-service API. While a citizen has a message on the queue, their next
messages queue behind it, so one citizen's turns still run in the order they were sent.

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
            budget = until - MIN_TURN_BUDGET_S - time.monotonic()
            if budget > 0:
                try:
                    async with asyncio.timeout(budget):
                        await self.slots.acquire()
                except TimeoutError:
                    pass
                else:
                    return asyncio.ensure_future(self._run(incoming))
        self._enqueue(incoming)
        return None

    def _enqueue(self, incoming: Incoming) -> None:
        try:
            self.queue.put_nowait(incoming)
        except asyncio.QueueFull:
            metrics.SHED.inc()
            raise QueueFull from None
        self._queued_for[incoming.openid] += 1
        metrics.QUEUED.inc()
        metrics.LATE_REPLIES.labels("queued").inc()

    async def _run(self, incoming: Incoming) -> TurnOutcome:
        """The turn, in a slot already acquired; the slot is released when it ends."""
        metrics.IN_FLIGHT.inc()
        try:
            return await self.turns.handle(incoming)
        finally:
            metrics.IN_FLIGHT.dec()
            self.slots.release()

    async def _consume(self) -> None:
        while True:
            incoming = await self.queue.get()
            try:
                await self.slots.acquire()
                started = time.monotonic()
                outcome = await self._run(incoming)
                metrics.TURN_SECONDS.observe(time.monotonic() - started)
                await self.turns.deliver_late(incoming, outcome)
            except Exception:
                log.exception("queued turn failed")
            finally:
                self._queued_for[incoming.openid] -= 1
                if self._queued_for[incoming.openid] <= 0:
                    del self._queued_for[incoming.openid]
                metrics.QUEUED.dec()
                self.queue.task_done()
