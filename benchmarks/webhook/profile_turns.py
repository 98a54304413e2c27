"""CPU per webhook message, in-process: N citizens do the whole intake against the real app.

    .venv/bin/python benchmarks/webhook/profile_turns.py 30            # SQLite
    .venv/bin/python benchmarks/webhook/profile_turns.py 30 --profile  # + pyinstrument
    .venv/bin/python benchmarks/webhook/profile_turns.py 30 \\
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/doudi_perf_bench

Every message is signed, encrypted XML over real HTTP (aiohttp's TestClient), so the figure
includes the client's part (~2-3 ms: sealing and opening). CPU time, not wall time: it is
steadier on a shared machine. --profile writes a pyinstrument profile (pip install
pyinstrument) to /tmp/doudi-profile.txt. The PostgreSQL database is emptied first (its
public schema dropped): do not point it at one that matters.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.loop import event_loop_factory  # noqa: E402
from bot.simulator import WeChatSide  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.conftest import WeChat  # noqa: E402
from tests.journey import ANSWERS, Citizen  # noqa: E402

SQLITE_FILE = Path("/tmp/doudi-profile.db")
PROFILE_OUT = Path("/tmp/doudi-profile.txt")
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
MESSAGES_PER_CITIZEN = len(ANSWERS) + 2  # the problem, the answers, 确认


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def main(
    citizens: int, database: str | None, profile: bool, sqlite_file: Path = SQLITE_FILE
) -> str | None:
    """Prints CPU per message; returns the profile's text when asked for one."""
    if database is None:
        database = f"sqlite+aiosqlite:///{sqlite_file}"
    else:
        await reset_postgres(database)
    upgrade(database)
    settings = Settings(
        database_url=database, wechat_token="t", wechat_aes_key=AES_KEY, wechat_appid="wx1"
    )
    async with TestClient(TestServer(build_app(settings))) as client:
        wechat = WeChat(client, WeChatSide("t", AES_KEY, "wx1"))
        await Citizen(wechat).file_request()  # warm up: imports, caches, connections
        profiler = None
        if profile:
            import pyinstrument

            profiler = pyinstrument.Profiler(async_mode="enabled")
            profiler.start()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(citizens):
            await Citizen(wechat).file_request()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profiler is not None:
            profiler.stop()
        count = citizens * MESSAGES_PER_CITIZEN
        print(
            f"{count} messages in {wall:.2f}s wall, {cpu:.2f}s cpu => "
            f"{1000 * cpu / count:.2f} ms cpu/msg (incl. client)"
        )
    return None if profiler is None else profiler.output_text(unicode=True, color=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("citizens", type=int, nargs="?", default=30)
    parser.add_argument("p", nargs="?", help="any value: same as --profile (old usage)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database", help="a PostgreSQL URL; default: a fresh SQLite file")
    parser.add_argument("--asyncio", action="store_true", help="asyncio's own loop, not uvloop")
    # Several people may profile on one machine: each with files of their own.
    parser.add_argument("--sqlite-file", type=Path, default=SQLITE_FILE)
    parser.add_argument("--profile-out", type=Path, default=PROFILE_OUT)
    args = parser.parse_args()
    if args.database is None:
        for path in args.sqlite_file.parent.glob(args.sqlite_file.name + "*"):  # -wal, -shm
            path.unlink()
    run = main(args.citizens, args.database, args.profile or args.p is not None, args.sqlite_file)
    with asyncio.Runner(loop_factory=None if args.asyncio else event_loop_factory()) as runner:
        text = runner.run(run)
    if text is not None:
        args.profile_out.write_text(text)
        print(f"profile written to {args.profile_out}")
