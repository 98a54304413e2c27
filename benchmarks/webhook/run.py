"""The webhook benchmark: one script, rerun it anywhere (see benchmarks/README.md).

    PYTHONPATH=. .venv/bin/python -m benchmarks.webhook.run [--citizens 300] [--postgres URL]

It starts each server as its own process, drives it with the load generator (another
process), and reads the database afterwards:
  ceiling    aiohttp + wechatpy only (signature, decrypt, parse, fixed reply, encrypt)
  sqlite-1   Doudi, one worker, SQLite: citizens doing the whole intake, 32 connections
  pg-1/pg-2  Doudi on PostgreSQL with 1 and 2 workers (with --postgres)
  overload   open loop at 3x the measured SQLite throughput: slowest answer, replies by API
  memory     server RSS before and after opening --intakes intakes (scaled to 10,000)
  queue      the staff queue query over 100,000 tickets, on SQLite (and PostgreSQL)
Server CPU time per request is reported beside throughput: on a shared machine it is the
steadier of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
TOKEN, AES_KEY, APPID = (
    "bench-token",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "wxbench0000000000",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(database_url: str, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOUDI_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        PYTHONPATH=str(ROOT),
        DOUDI_DATABASE_URL=database_url,
        DOUDI_WECHAT_TOKEN=TOKEN,
        DOUDI_WECHAT_AES_KEY=AES_KEY,
        DOUDI_WECHAT_APPID=APPID,
        DOUDI_WECHAT_SECRET="bench-secret",
        DOUDI_WECHAT_API_BASE=f"http://127.0.0.1:{api_port}/cgi-bin/",
        DOUDI_LOG_LEVEL="ERROR",
    )
    return env


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def tree(pid: int) -> list[int]:
    """The server process and its workers."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    # multiprocessing's spawn also starts a resource tracker: not a worker, but tiny.
    return [pid, *children]


@contextlib.contextmanager
def server(argv: list[str], env: dict[str, str], port: int) -> Iterator[list[int]]:
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        time.sleep(1.5)  # all workers up
        yield tree(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def doudi(database_url: str, port: int, api_port: int, workers: int = 1):  # type: ignore[no-untyped-def]
    argv = [PY, "-c", "from bot.cli import main; main()", "serve", "--port", str(port)]
    return server([*argv, "--workers", str(workers)], env_for(database_url, api_port), port)


def loadgen(url: str, api_port: int, *args: str) -> dict[str, Any]:
    argv = [PY, "-m", "benchmarks.webhook.loadgen", "--url", url, "--api-port", str(api_port)]
    argv += ["--token", TOKEN, "--aes-key", AES_KEY, "--appid", APPID, *args]
    out = subprocess.run(argv, cwd=ROOT, env=env_for("", 0), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout)


def open_loop(
    port: int,
    api_port: int,
    rate: float,
    seconds: float,
    concurrency: int,
    run: str,
    trace: str = "",
) -> dict[str, Any]:
    """New citizens arriving at a fixed rate, whatever the server's pace (overload, memory)."""
    return loadgen(
        f"http://127.0.0.1:{port}/wechat",
        api_port,
        *("--mode", "open", "--rate", str(rate), "--seconds", str(seconds)),
        *("--concurrency", str(concurrency), "--run", run),
        *(("--trace", f"{trace}/{run}.json") if trace else ()),
    )


def on_database(url: str, work: Any, autocommit: bool = False) -> Any:
    """Run `await work(connection)` in one transaction on `url` (from synchronous code)."""

    async def go() -> Any:
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        engine = create_async_engine(url, **options)
        try:
            async with engine.begin() as connection:
                return await work(connection)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def migrate(url: str) -> None:
    subprocess.run(
        [PY, "-c", "from bot.cli import main; main()", "db", "upgrade"],
        env=env_for(url, 0),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def check_database(url: str, result: dict[str, Any]) -> dict[str, Any]:
    """Every citizen got one valid ticket, the one it was told; no message ran twice."""
    from handlers.tickets import number as tn

    async def read(db: AsyncConnection) -> tuple[dict[str, str], int, int]:
        tickets = dict((await db.execute(text("SELECT openid, number FROM tickets"))).all())
        twice = await db.scalar(
            text(
                "SELECT count(*) FROM (SELECT wechat_msg_id FROM messages WHERE direction='in' "
                "AND wechat_msg_id != '' GROUP BY wechat_msg_id HAVING count(*) > 1) t"
            )
        )
        doubled = (
            await db.execute(text("SELECT openid FROM tickets GROUP BY openid HAVING count(*) > 1"))
        ).all()
        return tickets, int(twice or 0), len(doubled)

    tickets, twice, per_citizen = on_database(url, read)
    told = result["ticket_numbers"]
    valid = all(tn.is_valid(n) for n in tickets.values())
    return {
        "citizens_with_ticket": sum(1 for o, n in told.items() if tickets.get(o) == n),
        "citizens": len(told),
        "all_numbers_valid": valid,
        "citizens_with_two_tickets": per_citizen,
        "messages_processed_twice": twice,
    }


def processed(url: str) -> dict[str, int]:
    """Inbound messages stored, and how many of them more than once (each must run once)."""

    async def read(db: AsyncConnection) -> dict[str, int]:
        stored = await db.scalar(text("SELECT count(*) FROM messages WHERE direction='in'"))
        twice = await db.scalar(
            text(
                "SELECT count(*) FROM (SELECT wechat_msg_id FROM messages WHERE direction='in' "
                "GROUP BY wechat_msg_id HAVING count(*) > 1) t"
            )
        )
        return {"messages_in": int(stored or 0), "messages_processed_twice": int(twice or 0)}

    return on_database(url, read)  # type: ignore[no-any-return]


def database_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))

    async def size(db: AsyncConnection) -> int:
        return int(await db.scalar(text("SELECT pg_database_size(current_database())")) or 0)

    return int(on_database(url, size))


def fresh_postgres(admin_url: str, name: str) -> str:
    async def create(db: AsyncConnection) -> None:
        await db.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await db.execute(text(f'CREATE DATABASE "{name}"'))

    on_database(admin_url, create, autocommit=True)
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    migrate(url)
    return url


def measure(label: str, url: str, run: dict[str, Any], cpu: float) -> dict[str, Any]:
    summary = {k: v for k, v in run.items() if k != "ticket_numbers"}
    summary["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, run["requests"]), 3)
    if run.get("ticket_numbers"):
        summary["database"] = check_database(url, run)
        summary["database_bytes"] = database_bytes(url)
    print(f"{label}: {json.dumps(summary, ensure_ascii=False)}", flush=True)
    return summary


def journey_run(label: str, url: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    port, api = free_port(), free_port()
    with doudi(url, port, api, workers) as pids:
        before = cpu_seconds(pids)
        run = loadgen(
            f"http://127.0.0.1:{port}/wechat",
            api,
            "--citizens",
            str(args.citizens),
            "--concurrency",
            str(args.concurrency),
            "--run",
            label,
            *(("--trace", f"{args.trace}/{label}.json") if args.trace else ()),
        )
        cpu = cpu_seconds(pids) - before
    return measure(label, url, run, cpu)


def queue_query(url: str, tickets: int = 100_000) -> dict[str, Any]:
    """The staff queue over `tickets` tickets: a centre's newest 50 with status new."""
    centres = ["鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区", "福清市", "闽侯县"]
    statuses = ["new"] * 2 + ["accepted", "in_progress"] + ["resolved", "closed"] * 3
    rng = random.Random(1)
    start = datetime.now(UTC) - timedelta(days=365)
    pg = url.startswith("postgresql")
    rows = [
        {
            "number": f"Q{i:011d}",
            "openid": f"o_q_{i % 20000}",
            "status": rng.choice(statuses),
            "centre": rng.choice(centres),
            "title": "养老金资格认证办不成",
            "fields": "{}",
            "phone": "13900000000",
            "attachments": "[]",
            "case_suggestions": "[]",
            "incomplete": False,
            "created": (start + timedelta(seconds=i * 315)).replace(tzinfo=None)
            if pg
            else (start + timedelta(seconds=i * 315)).strftime("%Y-%m-%d %H:%M:%S.%f"),
        }
        for i in range(tickets)
    ]

    async def fill(db: AsyncConnection) -> None:
        await db.execute(text("DELETE FROM ticket_events"))
        await db.execute(text("DELETE FROM tickets"))
        for chunk in range(0, len(rows), 5000):
            await db.execute(
                text(
                    "INSERT INTO tickets (number, openid, status, centre, title, fields, phone,"
                    " attachments, case_suggestions, incomplete, classification_received,"
                    " classification, category_received, category, created_at, updated_at)"
                    " VALUES (:number, :openid, :status, :centre, :title, :fields, :phone,"
                    " :attachments, :case_suggestions, :incomplete, '', '', '', '',"
                    " :created, :created)"
                ),
                rows[chunk : chunk + 5000],
            )

    on_database(url, fill)
    query = (
        "SELECT id, number, title, status, created_at FROM tickets"
        " WHERE centre = :centre AND status = :status ORDER BY created_at DESC LIMIT 50"
    )
    overdue = (
        "SELECT id, number, title, status, created_at FROM tickets"
        " WHERE centre = :centre AND status = :status ORDER BY created_at ASC LIMIT 50"
    )
    timings: dict[str, Any] = {}

    async def measure_queries(db: AsyncConnection) -> None:
        at = {"centre": "鼓楼区", "status": "new"}
        if pg:
            await db.execute(text("ANALYZE tickets"))
            plan = await db.execute(text("EXPLAIN " + query), at)
        else:
            await db.execute(text("ANALYZE"))
            plan = await db.execute(text("EXPLAIN QUERY PLAN " + query), at)
        timings["plan"] = " | ".join(str(r[-1]) for r in plan)
        for name, sql in (("newest_50_ms", query), ("oldest_50_ms", overdue)):
            samples = []
            for i in range(30):
                t = time.perf_counter()
                at = {"centre": centres[i % 8], "status": "new"}
                got = (await db.execute(text(sql), at)).all()
                samples.append((time.perf_counter() - t) * 1000)
                assert len(got) == 50
            timings[name] = {
                "median": round(statistics.median(samples), 3),
                "max": round(max(samples), 3),
            }

    on_database(url, measure_queries)
    timings["tickets"] = tickets
    print(f"queue ({url.split(':')[0]}): {json.dumps(timings, ensure_ascii=False)}", flush=True)
    return timings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--citizens", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--ceiling-requests", type=int, default=5000)
    p.add_argument("--intakes", type=int, default=2000, help="open intakes for the memory run")
    p.add_argument("--overload-seconds", type=float, default=10.0)
    p.add_argument(
        "--postgres",
        default="",
        help="admin URL, e.g. postgresql+asyncpg://postgres@127.0.0.1/postgres",
    )
    p.add_argument(
        "--pg-prefix", default="doudi_bench", help="names of the databases it (re)creates"
    )
    p.add_argument("--overload-rate", type=float, default=0.0, help="default: 3x sqlite-1's")
    p.add_argument("--only", default="ceiling,sqlite,pg,overload,memory,queue")
    p.add_argument("--trace", default="", help="a directory: each journey run's per-request trace")
    p.add_argument("--out", default=str(ROOT / "benchmarks/webhook/results.json"))
    args = p.parse_args()
    only = set(args.only.split(","))
    results: dict[str, Any] = {
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": next(
                (
                    line.split(":", 1)[1].strip()
                    for line in open("/proc/cpuinfo")
                    if line.startswith("model name")
                ),
                "?",
            ),
            "python": sys.version.split()[0],
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_at_start": os.getloadavg(),
        }
    }
    work = Path(tempfile.mkdtemp(prefix="doudi-bench-"))
    try:
        if "ceiling" in only:
            port, api = free_port(), free_port()
            argv = [PY, "-m", "benchmarks.webhook.ceiling", "--port", str(port)]
            with server(argv, env_for("", api), port) as pids:
                before = cpu_seconds(pids)
                run = loadgen(
                    f"http://127.0.0.1:{port}/wechat",
                    api,
                    "--mode",
                    "ping",
                    "--citizens",
                    str(args.ceiling_requests),
                    "--concurrency",
                    str(args.concurrency),
                )
                results["ceiling"] = measure("ceiling", "", run, cpu_seconds(pids) - before)
        if "sqlite" in only:
            url = f"sqlite+aiosqlite:///{work}/sqlite1.db"
            migrate(url)
            results["sqlite-1"] = journey_run("sqlite1", url, 1, args)
            if "ceiling" in results:
                c, d = results["ceiling"], results["sqlite-1"]
                results["sqlite-1"]["ratio_to_ceiling"] = round(
                    d["throughput_rps"] / c["throughput_rps"], 3
                )
                results["sqlite-1"]["cpu_ratio_to_ceiling"] = round(
                    c["server_cpu_ms_per_request"] / d["server_cpu_ms_per_request"], 3
                )
        if "pg" in only and args.postgres:
            for workers in (1, 2):
                url = fresh_postgres(args.postgres, f"{args.pg_prefix}_{workers}")
                results[f"pg-{workers}"] = journey_run(f"pg{workers}", url, workers, args)
        if "overload" in only:
            url = f"sqlite+aiosqlite:///{work}/overload.db"
            migrate(url)
            rate = args.overload_rate or 3 * results.get("sqlite-1", {}).get("throughput_rps", 50.0)
            port, api = free_port(), free_port()
            with doudi(url, port, api) as pids:
                before = cpu_seconds(pids)
                run = open_loop(port, api, rate, args.overload_seconds, 1000, "ovl", args.trace)
                cpu = cpu_seconds(pids) - before
            run["database"] = processed(url)
            results["overload"] = measure("overload", url, run, cpu)
        if "memory" in only:
            url = f"sqlite+aiosqlite:///{work}/memory.db"
            migrate(url)
            port, api = free_port(), free_port()
            with doudi(url, port, api) as pids:
                loadgen(f"http://127.0.0.1:{port}/wechat", api, "--citizens", "5", "--run", "warm")
                rss0, size0 = rss_mb(pids), database_bytes(url)
                run = open_loop(port, api, 60, args.intakes / 60, 64, "mem")
                rss1, size1 = rss_mb(pids), database_bytes(url)
            scale = 10_000 / max(1, run["requests"])
            results["memory"] = {
                "open_intakes": run["requests"],
                "rss_mb_before": rss0,
                "rss_mb_after": rss1,
                "rss_mb_per_10k_intakes": round((rss1 - rss0) * scale, 1),
                "database_mb_per_10k_intakes": round((size1 - size0) * scale / 2**20, 1),
            }
            print(f"memory: {results['memory']}", flush=True)
        if "sqlite-1" in results:
            d = results["sqlite-1"]
            per_ticket = d["database_bytes"] / max(1, d["database"]["citizens_with_ticket"])
            results["database_mb_per_10k_tickets_sqlite"] = round(per_ticket * 10_000 / 2**20, 1)
        if "pg-1" in results:
            d = results["pg-1"]
            per_ticket = d["database_bytes"] / max(1, d["database"]["citizens_with_ticket"])
            results["database_mb_per_10k_tickets_pg_incl_empty_db"] = round(
                per_ticket * 10_000 / 2**20, 1
            )
        if "queue" in only:
            url = f"sqlite+aiosqlite:///{work}/queue.db"
            migrate(url)
            results["queue-sqlite"] = queue_query(url)
            if args.postgres:
                results["queue-pg"] = queue_query(
                    fresh_postgres(args.postgres, f"{args.pg_prefix}_queue")
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # A partial run (--only) updates its parts and keeps the others' last results; each part
    # carries the machine and time it was measured at.
    out = Path(args.out)
    merged = json.loads(out.read_text()) if out.exists() else {}
    merged.pop("machine", None)  # the layout before parts carried their own
    machine = results.pop("machine")
    for name, part in results.items():
        merged[name] = {**part, "measured": machine} if isinstance(part, dict) else part
    merged["last_run"] = machine
    out.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n")
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
