"""Prometheus metrics, served at GET /metrics (prometheus-client).

With several worker processes (`doudi serve --workers N`) every worker writes its samples to
PROMETHEUS_MULTIPROC_DIR, set by `serve` before any worker starts, and a scrape of any worker
adds them all up (prometheus-client's multiprocess mode). One process keeps them in memory.

Gauges about the work itself (tickets waiting per centre) are not kept by any process: they
are read from the database when /metrics is scraped, so every worker answers the same.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from handlers.services import Delivery, Outbound
from storage.db import Database
from storage.models import Ticket

MESSAGES = Counter("doudi_messages", "Messages and events received, by kind", ["kind"])
TURN_SECONDS = Histogram(
    "doudi_turn_seconds",
    "From a webhook request's arrival to its turn's end (reply ready)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
)
DUPLICATES = Counter(
    "doudi_deduplicated_deliveries", "Re-deliveries answered from the record, not run again"
)
LATE_REPLIES = Counter(
    "doudi_late_replies",
    "Requests answered `success` whose reply goes through the API, by why",
    ["reason"],  # deadline: the turn ran long; queued: it could not start in time
)
SHED = Counter("doudi_shed_requests", "Requests refused (503) because the turn queue was full")
IN_FLIGHT = Gauge("doudi_turns_in_flight", "Turns running now", multiprocess_mode="livesum")
QUEUED = Gauge(
    "doudi_turns_queued",
    "Turns waiting to run after their request was answered",
    multiprocess_mode="livesum",
)
TICKETS_FILED = Counter("doudi_tickets_filed", "Tickets filed", ["incomplete"])
MATCHER_DECISIONS = Counter(
    "doudi_matcher_decisions", "Case-library searches by decision", ["decision"]
)
OUTBOUND_CALLS = Counter(
    "doudi_outbound_calls", "Customer-service API messages, by result", ["status"]
)
OUTBOUND_ERRORS = Counter(
    "doudi_outbound_errors",
    "Customer-service API messages that failed, by WeChat errcode",
    ["code"],
)


class MeteredOutbound:
    """Counts every outbound message and its result; otherwise the wrapped Outbound."""

    def __init__(self, inner: Outbound) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send_text(self, openid: str, text: str) -> Delivery:
        delivery = await self.inner.send_text(openid, text)
        OUTBOUND_CALLS.labels(delivery.status).inc()
        if delivery.status == "failed":
            OUTBOUND_ERRORS.labels(str(delivery.error_code or "network")).inc()
        return delivery


def observe_effects(registry: Any) -> None:
    """Count tickets filed (once committed) and the case matcher's decisions."""
    from dialogs.effects import FileTicket, SearchCases

    def tickets(run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def runner(ctx: Any, effect: FileTicket) -> Any:
            result = await run(ctx, effect)
            label = "true" if effect.incomplete else "false"

            async def count() -> None:
                TICKETS_FILED.labels(label).inc()

            ctx.after_commit.append(count)
            return result

        return runner

    def searches(run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def runner(ctx: Any, effect: SearchCases) -> Any:
            result = await run(ctx, effect)
            MATCHER_DECISIONS.labels(str((result or {}).get("decision", "none"))).inc()
            return result

        return runner

    registry.wrap(FileTicket, tickets)
    registry.wrap(SearchCases, searches)


async def queue_by_centre(db: Database) -> dict[str, int]:
    """Tickets waiting to be accepted (status new), per centre: the staff queues' length."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(Ticket.centre, func.count())
            .where(Ticket.status == "new")
            .group_by(Ticket.centre)
        )
        return {centre or "-": int(n) for centre, n in rows}


class _ScrapeTime:
    def __init__(self, queues: dict[str, int] | None) -> None:
        self.queues = queues

    def collect(self) -> Any:
        gauge = GaugeMetricFamily(
            "doudi_tickets_new",
            "Tickets with status new, per centre (read at scrape)",
            labels=["centre"],
        )
        for centre, n in sorted((self.queues or {}).items()):
            gauge.add_metric([centre], n)
        yield gauge
        up = GaugeMetricFamily("doudi_database_up", "Whether the database answered the scrape")
        up.add_metric([], 1 if self.queues is not None else 0)
        yield up


def render(queues: dict[str, int] | None) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTime(queues))
    return generate_latest(registry) + generate_latest(scrape)


def handler(db: Database) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def metrics(_request: web.Request) -> web.Response:
        try:
            queues: dict[str, int] | None = await queue_by_centre(db)
        except Exception:  # the counters are still worth serving without the database
            queues = None
        response = web.Response(body=render(queues))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return metrics
