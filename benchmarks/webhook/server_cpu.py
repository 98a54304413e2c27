"""The server's CPU per webhook message, without the client: requests sealed up front.

    .venv/bin/python benchmarks/webhook/server_cpu.py 100 5          # 5 rounds of 100 citizens
    .venv/bin/python benchmarks/webhook/server_cpu.py 60 1 --ready /tmp/cg   # for callgrind

Like profile_turns.py (N citizens do the whole intake against the real app, on a fresh SQLite
file), but every request of a round is signed, encrypted and built as an aiohttp request
before the clock starts, and handed to the app's handler (middlewares, webhook, turn) without
HTTP or a socket: what is timed is the server's work alone. It prints CPU ms per message for
each round and the lowest, which is the steadier figure when other processes share the cores.

--ready FILE: before the timed round it writes FILE and waits for FILE.on; afterwards it
writes FILE.done and waits for FILE.off. With `valgrind --tool=callgrind --instr-atstart=no`
and `callgrind_control -i on/off PID` in between, callgrind counts the timed round's
instructions only (repeatable whatever else runs on the machine; see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.loop import event_loop_factory, freeze_heap  # noqa: E402
from bot.simulator import WeChatSide, message_xml  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.conftest import new_openid  # noqa: E402
from tests.journey import ANSWERS, PROBLEM  # noqa: E402

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class _Body:
    """The request body as aiohttp's request reads it."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def readany(self) -> bytes:
        body, self.body = self.body, b""
        return body

    async def read(self, n: int = -1) -> bytes:
        return await self.readany()

    def at_eof(self) -> bool:
        return not self.body

    def set_read_chunk_size(self, size: int) -> None:
        return None


def _journeys(side: WeChatSide, citizens: int) -> list[tuple[str, bytes]]:
    sealed = []
    clock = int(time.time()) - 3600
    for _ in range(citizens):
        openid = new_openid()
        for text in (PROBLEM, *ANSWERS, "确认"):
            clock += 20  # seconds apart: not one burst for the dialog
            query, body = side.seal(message_xml(openid, "text", Content=text, CreateTime=clock))
            sealed.append(("/wechat?" + urlencode(query), body))
    return sealed


def _signal_and_wait(signal: Path, wait_for: Path) -> None:
    """On a thread, so that the loop (and its lag monitor) keeps running meanwhile."""
    signal.write_text("")
    while not wait_for.exists():
        time.sleep(0.2)


async def main(citizens: int, rounds: int, database: Path, ready: Path | None) -> list[float]:
    for path in database.parent.glob(database.name + "*"):  # -wal, -shm
        path.unlink()
    url = f"sqlite+aiosqlite:///{database}"
    upgrade(url)
    settings = Settings(
        database_url=url, wechat_token="t", wechat_aes_key=AES_KEY, wechat_appid="wx1"
    )
    app = build_app(settings)
    app.on_startup.append(freeze_heap)  # as `doudi serve` does
    runner = web.AppRunner(app)
    await runner.setup()  # the startup hooks: library, admission, ...
    side = WeChatSide("t", AES_KEY, "wx1")

    def request(path: str, body: bytes) -> Any:
        headers = {"Content-Length": str(len(body)), "Content-Type": "text/xml"}
        return make_mocked_request("POST", path, headers, app=app, payload=_Body(body))

    async def post(req: Any) -> None:
        response = await app._handle(req)
        assert response.status == 200 and response.text != "success", response.text

    try:
        for path, body in _journeys(side, 3):  # warm up: first compiles, caches
            await post(request(path, body))
        results = []
        for _ in range(rounds):
            requests = [request(path, body) for path, body in _journeys(side, citizens)]
            await asyncio.sleep(0.5)  # building them held the loop: let its lag settle
            if ready is not None:
                on = ready.with_name(ready.name + ".on")
                await asyncio.to_thread(_signal_and_wait, ready, on)
            cpu = time.process_time()
            for req in requests:
                await post(req)
            results.append(1000 * (time.process_time() - cpu) / len(requests))
            if ready is not None:
                done, off = (ready.with_name(ready.name + suffix) for suffix in (".done", ".off"))
                await asyncio.to_thread(_signal_and_wait, done, off)
        return results
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("citizens", type=int, nargs="?", default=100)
    parser.add_argument("rounds", type=int, nargs="?", default=5)
    parser.add_argument("--sqlite-file", type=Path, default=Path("/tmp/doudi-server-cpu.db"))
    parser.add_argument("--ready", type=Path, help="files to coordinate callgrind (see above)")
    args = parser.parse_args()
    run = main(args.citizens, args.rounds, args.sqlite_file, args.ready)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        results = runner.run(run)
    print(
        f"{args.citizens * 9} messages a round; server CPU ms per message: "
        + " ".join(f"{r:.3f}" for r in results)
        + f"; lowest {min(results):.3f}"
    )
