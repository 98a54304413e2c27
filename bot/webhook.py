"""The /wechat endpoint: protocol in, turn, protocol out, within WeChat's 5-second deadline."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from bot import metrics
from bot.admission import Admission, QueueFull
from bot.inbound import to_incoming
from bot.protocol import MAX_BODY_BYTES, ProtocolError, WeChatProtocol
from handlers.turns import TurnOutcome, TurnService

log = logging.getLogger(__name__)

# Said instead of WeChat's generic "该公众号暂时无法提供服务" when the database is down.
UNAVAILABLE = "抱歉，系统正在维护，您刚才的消息没有收到。请过几分钟再发一次。"
# Short: it runs at the deadline, and the answer must still reach WeChat within 5 s.
PING_TIMEOUT_S = 0.3
# A turn that failed on these recorded nothing (disk full, database gone): apologise.
DATABASE_ERRORS = (DBAPIError, OSError)


class Webhook:
    def __init__(
        self,
        protocol: WeChatProtocol,
        turns: TurnService,
        deadline_s: float,
        admission: Admission | None = None,
    ) -> None:
        self.protocol = protocol
        self.turns = turns
        self.deadline_s = deadline_s
        self.admission = admission or Admission(turns)
        self._late: set[asyncio.Task[None]] = set()

    async def get(self, request: web.Request) -> web.Response:
        try:
            echostr = self.protocol.verify_url(dict(request.query))
        except ProtocolError as error:
            return self._refuse(request, error)
        return web.Response(text=echostr)

    async def post(self, request: web.Request) -> web.Response:
        # The deadline counts from the request's arrival, not from when its turn can start.
        arrived = time.monotonic()
        until = arrived + self.deadline_s
        try:
            if (request.content_length or 0) > MAX_BODY_BYTES:
                raise ProtocolError(413, "body too large")
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise ProtocolError(413, "body too large") from None
            envelope = self.protocol.open(dict(request.query), body)
            incoming = to_incoming(envelope.message)
        except ProtocolError as error:
            return self._refuse(request, error)

        metrics.MESSAGES.labels(incoming.kind).inc()
        try:
            turn = await self.admission.start_turn(incoming, until)
        except QueueFull:
            log.warning("turn queue full; refusing with 503 so that WeChat re-delivers")
            return web.Response(status=503, text="busy")
        if turn is None:  # queued: it runs when a slot frees, and replies through the API
            return web.Response(text="success")
        done, _ = await asyncio.wait({turn}, timeout=max(0.0, until - time.monotonic()))
        if not done and not await self._database_up():
            # Nothing can be recorded: say so now; the citizen sends it again later.
            turn.cancel()
            log.warning("database unavailable at the deadline; answered with an apology")
            return self._xml(self.protocol.seal(envelope, UNAVAILABLE))
        if not done:
            # Answer WeChat now; the reply follows through the customer-service API.
            log.warning("turn over %.1f s deadline; reply goes out asynchronously", self.deadline_s)
            metrics.LATE_REPLIES.labels("deadline").inc()
            late = asyncio.ensure_future(self._finish_late(turn, incoming))
            self._late.add(late)
            late.add_done_callback(self._late.discard)
            return web.Response(text="success")
        try:
            outcome: TurnOutcome = turn.result()
            metrics.TURN_SECONDS.observe(time.monotonic() - arrived)
            if outcome.duplicate:
                metrics.DUPLICATES.inc()
        except Exception as error:
            if isinstance(error, DATABASE_ERRORS) or not await self._database_up():
                log.warning(
                    "database unavailable (%s); answered with an apology", type(error).__name__
                )
                return self._xml(self.protocol.seal(envelope, UNAVAILABLE))
            log.exception("turn failed")
            # WeChat re-delivers on no answer; an empty 200 stops that for a turn that crashed
            # here and would crash again. The citizen's next message starts clean.
            return web.Response(text="success")
        return self._xml(self.protocol.seal(envelope, outcome.reply_text))

    async def _database_up(self) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                return await self.turns.services.db.ping()
        except TimeoutError:
            return False

    async def _finish_late(self, turn: asyncio.Future[TurnOutcome], incoming: object) -> None:
        try:
            outcome = await turn
            await self.turns.deliver_late(incoming, outcome)  # type: ignore[arg-type]
        except Exception:
            log.exception("late turn failed")

    async def drain(self) -> None:
        """Let replies still on their way out finish (at shutdown)."""
        await self.admission.stop()
        if self._late:
            await asyncio.wait(self._late, timeout=10)

    @staticmethod
    def _xml(body: str) -> web.Response:
        if body == "success":
            return web.Response(text=body)
        return web.Response(text=body, content_type="application/xml")

    @staticmethod
    def _refuse(request: web.Request, error: ProtocolError) -> web.Response:
        log.warning(
            "refused %s %s: %d %s", request.method, request.path, error.status, error.reason
        )
        return web.Response(status=error.status, text=error.reason)
