"""The load generator: many citizens talking to a webhook over real HTTP (a separate process).

Every request is what WeChat sends in safe mode: signed, AES-encrypted XML (bot/simulator.py).
It also serves a small fake of WeChat's API (token + customer-service messages), so replies
that a server sends through the API (after answering `success`) reach the citizen too.

Modes (results are printed as one JSON object on stdout):
  journey  C citizens at a time each do the whole intake, message after message, until N
           citizens have filed; a share of messages is re-delivered as WeChat does, and the
           re-delivery's reply must equal the first.
  ping     C connections send N text messages (for the ceiling server, which has no dialog).
  open     open loop: R new citizens a second for T seconds, each sending its first message
           (the request, which searches the case library), whether or not the server keeps up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.simulator import WeChatSide, message_xml
from handlers.tickets import number as tn

PROBLEMS = [
    "我父亲的养老金资格认证一直通不过，他瘫痪在床去不了社保窗口，跑了好几次都办不成",
    "公司想办食品经营许可证，市场监管说要先有消防验收，消防又说要先有许可证，来回踢皮球",
    "孩子上学要开居住证明，社区说归派出所管，派出所说归社区开，一直开不出来",
    "老房子没有产权证想办不动产登记，不动产中心说材料不全，但当年的单位已经不在了",
    "我在外地交了十年社保想转回来，两边都说要对方先出手续，转移办了半年还没办成",
    "残疾证到期换证要做鉴定，医院说要残联的单子，残联说先去医院，腿脚不便跑不动",
]
VISITED = ["去过社保中心窗口", "去过市场监管局", "找过社区和派出所", "没去过"]
REASONS = ["说要本人到场", "说材料不全", "说不归他们管", "不清楚"]
CENTRES = ["鼓楼", "台江", "仓山", "晋安", "马尾", "长乐", "福清", "闽侯", "1"]
NAMES = ["王阿姨", "李先生", "张女士", "陈师傅", "跳过"]


def script(rng: random.Random, index: int) -> list[str]:
    """What one citizen types, in order: the request, the answers, then the confirmation."""
    phone = f"139{index % 10**8:08d}"
    return [
        rng.choice(PROBLEMS),
        rng.choice(VISITED),
        rng.choice(REASONS),
        rng.choice(CENTRES),
        "1",  # applying as a person
        rng.choice(NAMES),
        phone,
        "1",  # consent
        "确认",
    ]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    late: int = 0  # answered `success`: the reply came through the API
    redelivered: int = 0
    redelivery_mismatch: int = 0
    tickets: dict[str, str] = field(default_factory=dict)  # openid -> ticket number
    started: float = 0.0
    finished: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else 0.0

        elapsed = self.finished - self.started
        return {
            "requests": len(lat),
            "elapsed_s": round(elapsed, 2),
            "throughput_rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 2) if lat else 0.0,
            "statuses": dict(self.statuses),
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "late_replies": self.late,
            "redelivered": self.redelivered,
            "redelivery_mismatch": self.redelivery_mismatch,
            "tickets": len(self.tickets),
        }


class FakeApi:
    """WeChat's token and customer-service endpoints; remembers what was sent to whom."""

    def __init__(self) -> None:
        self.inbox: dict[str, list[str]] = defaultdict(list)
        self.arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.sent = 0

    async def token(self, _request: web.Request) -> web.Response:
        return web.json_response({"access_token": "bench-token", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        data = await request.json()
        openid = data["touser"]
        self.inbox[openid].append(data["text"]["content"])
        self.sent += 1
        self.arrived[openid].set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def next_for(self, openid: str, within: float) -> str | None:
        event = self.arrived[openid]
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            return None
        event.clear()
        return self.inbox[openid][-1]

    async def start(self, port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.side = WeChatSide(args.token, args.aes_key, args.appid)
        self.stats = Stats()
        self.api = FakeApi()
        self.rng = random.Random(args.seed)
        self.trace: list[tuple[float, float, int]] = []

    async def post(self, http: aiohttp.ClientSession, xml: str, step: int = 0) -> tuple[int, str]:
        query, body = self.side.seal(xml)  # sealed before the clock starts: WeChat's cost
        return await self.send(http, query, body, step)

    async def send(
        self, http: aiohttp.ClientSession, query: dict[str, str], body: bytes | str, step: int = 0
    ) -> tuple[int, str]:
        start = time.perf_counter()
        try:
            async with http.post(self.args.url, params=query, data=body) as response:
                raw = await response.text()
                status = response.status
        except Exception as error:  # connection refused or reset, timeout
            self._took(start, step)
            self.stats.errors.append(type(error).__name__)
            return 0, ""
        self._took(start, step)
        self.stats.statuses[status] += 1
        if status != 200:
            self.stats.errors.append(f"HTTP {status}: {raw[:80]}")
        return status, raw

    def _took(self, start: float, step: int) -> None:
        took = time.perf_counter() - start
        self.stats.latencies.append(took)
        if self.args.trace:  # when it started (s into the run), how long, which message
            self.trace.append((round(start - self.stats.started, 4), round(took, 4), step))

    def open_reply(self, raw: str) -> str | None:
        return self.side.open_reply(raw, {})

    async def citizen(self, http: aiohttp.ClientSession, index: int) -> None:
        openid = f"o_bench_{self.args.run}_{index:06d}"
        clock = int(time.time()) - 3600
        lines = script(self.rng, index)
        for n, text in enumerate(lines):
            clock += 20  # citizens type seconds apart; the dialog merges bursts under 2 s
            xml = message_xml(openid, "text", Content=text, CreateTime=clock)
            status, raw = await self.post(http, xml, n)
            if status != 200:
                return
            last = n == len(lines) - 1
            if raw == "success":
                self.stats.late += 1
                reply = await self.api.next_for(openid, within=30)
                if reply is None:
                    self.stats.errors.append("no reply through the API")
                    return
            elif last or self.rng.random() < self.args.redeliver:
                reply = self.open_reply(raw)
            else:
                reply = "(not opened)"
            if self.rng.random() < self.args.redeliver:
                # WeChat's re-delivery of the same message: it must get the same answer.
                self.stats.redelivered += 1
                _, raw2 = await self.post(http, xml, n)
                again = self.open_reply(raw2) if raw2 != "success" else None
                if raw != "success" and again != self.open_reply(raw):
                    self.stats.redelivery_mismatch += 1
            if last:
                number = tn.find(reply or "")
                if number is None or not tn.is_valid(number):
                    self.stats.errors.append(f"no ticket number in the last reply: {reply!r:.80}")
                else:
                    self.stats.tickets[openid] = number

    async def run_journeys(self, http: aiohttp.ClientSession) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(self.args.citizens):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                await self.citizen(http, queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(self.args.concurrency)))

    async def run_ping(self, http: aiohttp.ClientSession) -> None:
        left = self.args.citizens

        async def worker(w: int) -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await self.post(http, message_xml(f"o_ping_{w}", "text", Content="你好"))

        await asyncio.gather(*(worker(w) for w in range(self.args.concurrency)))

    async def run_open(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        """R arrivals a second for T seconds, each a new citizen's request."""
        rate, seconds = self.args.rate, self.args.seconds
        tasks: list[asyncio.Task[None]] = []
        passive = 0

        # Every request is sealed before the first is sent: at thousands a second, sealing on
        # the way would make this process, not the server, what falls behind (one core each).
        total = int(rate * seconds)
        sealed = [
            self.side.seal(
                message_xml(
                    f"o_open_{self.args.run}_{index:06d}",
                    "text",
                    Content=self.rng.choice(PROBLEMS),
                )
            )
            for index in range(total)
        ]

        # WeChat's servers keep their connections to an account open; so does this one. Without
        # it the first second of arrivals also opens as many connections as it sends requests.
        async def connect() -> None:
            async with http.get(self.args.url) as response:  # refused: no signature; kept open
                await response.read()

        await asyncio.gather(*(connect() for _ in range(min(self.args.concurrency, total))))

        async def one(index: int) -> None:
            nonlocal passive
            status, raw = await self.send(http, *sealed[index])
            if status == 200 and raw == "success":
                self.stats.late += 1
            elif status == 200:
                passive += 1

        start = time.perf_counter()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        self.stats.finished = time.perf_counter()
        # Every message answered `success` must still get its reply, through the API.
        for _ in range(int(self.args.drain_s * 5)):  # the count grows in the fake API
            if self.api.sent >= self.stats.late:
                break
            await asyncio.sleep(0.2)
        return {
            "offered": total,
            "offered_rps": rate,
            "passive_replies": passive,
            "api_replies": self.api.sent,
            "drained_s": round(time.perf_counter() - self.stats.finished, 1),
        }

    async def main(self) -> dict[str, Any]:
        runner = await self.api.start(self.args.api_port) if self.args.api_port else None
        connector = aiohttp.TCPConnector(limit=self.args.concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=self.args.timeout)
        extra: dict[str, Any] = {}
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            self.stats.started = time.perf_counter()
            if self.args.mode == "journey":
                await self.run_journeys(http)
            elif self.args.mode == "ping":
                await self.run_ping(http)
            else:
                extra = await self.run_open(http)
            if not self.stats.finished:
                self.stats.finished = time.perf_counter()
        if runner is not None:
            await runner.cleanup()
        return {**self.stats.summary(), **extra, "ticket_numbers": self.stats.tickets}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--mode", choices=["journey", "ping", "open"], default="journey")
    p.add_argument("--citizens", type=int, default=500, help="journeys, or requests for ping")
    p.add_argument("--concurrency", type=int, default=32, help="connections")
    p.add_argument("--redeliver", type=float, default=0.02, help="share of messages re-sent")
    p.add_argument("--rate", type=float, default=100.0, help="open loop: arrivals a second")
    p.add_argument("--seconds", type=float, default=10.0, help="open loop: for how long")
    p.add_argument("--drain-s", type=float, default=120.0, help="open loop: wait for API replies")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--api-port", type=int, default=0, help="serve the fake WeChat API here")
    p.add_argument("--run", default=str(os.getpid()), help="tag in the citizens' openids")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--trace",
        default="",
        help="write every request's [start s, latency s, message index in its intake] here",
    )
    p.add_argument("--token", default=os.environ.get("DOUDI_WECHAT_TOKEN", "bench-token"))
    p.add_argument("--aes-key", default=os.environ.get("DOUDI_WECHAT_AES_KEY", ""))
    p.add_argument("--appid", default=os.environ.get("DOUDI_WECHAT_APPID", "wxbench0000000000"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import uvloop  # the generator's own CPU is taken from the server on a small machine

        uvloop.install()
    except ImportError:
        pass
    generator = Generator(args)
    result = asyncio.run(generator.main())
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump(generator.trace, f)
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
