"""The floor of a turn's storage: its writes on the raw driver, without Doudi's layers.

What one ordinary message writes, as Doudi's turn does it (benchmarks/README.md): the arrival
UPDATE (delivery check, flood window, citizen row, RETURNING), the inbound and the reply
message, the citizen's dialog state as JSON, the idle timer upsert and the delivery record, in
one write transaction. Run on sqlite3 (WAL, synchronous=NORMAL, as Doudi's SQLite backend) and,
with --postgres, on asyncpg. It prints CPU ms per turn: the part of a turn no design can avoid,
to compare with what a Doudi turn costs (profile_turns.py) and what the protocol costs
(ceiling.py).

  PYTHONPATH=. python benchmarks/webhook/floor.py [--turns 20000] \
      [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time

SCHEMA = (
    "create table citizens (openid text primary key, state text, sent int, last_at text)",
    "create table messages (id bigserial primary key, openid text, conversation int,"
    " direction text, kind text, at text, body text)",
    "create table deliveries (key text primary key, at text, reply text, status text)",
    "create table timers (openid text, kind text, due text, primary key (openid, kind))",
)
ARRIVE = (
    "update citizens set sent = sent + 1, last_at = {0} where openid = {1}"
    " and not exists (select 1 from deliveries where key = {2}) returning state, sent"
)
MESSAGE = (
    "insert into messages (openid, conversation, direction, kind, at, body)"
    " values ({0}, 1, {1}, 'text', {2}, {3})"
)
STATE = "update citizens set state = {0} where openid = {1}"
TIMER = (
    "insert into timers values ({0}, 'idle', {1})"
    " on conflict (openid, kind) do update set due = excluded.due"
)
DELIVERY = "insert into deliveries values ({0}, {1}, {2}, 'done')"
CITIZENS = 1000
NOW = "2026-11-28T10:00:00"
SAID = "我家的房产证一直办不下来，跑了好几趟了"
REPLY = "好的。请问您之前去过哪些窗口？"


def next_state(raw: str, n: int) -> str:
    state = json.loads(raw)
    state["answers"][str(n % 9)] = SAID
    return json.dumps(state, ensure_ascii=False)


def initial_state() -> str:
    return json.dumps({"flow": "intake", "step": 1, "answers": {}})


def on_sqlite(turns: int) -> float:
    path = os.path.join(tempfile.mkdtemp(prefix="doudi-floor-"), "floor.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=normal")
    for ddl in SCHEMA:
        db.execute(ddl.replace("bigserial", "integer"))
    db.executemany(
        "insert into citizens values (?, ?, 0, ?)",
        [(f"o{i}", initial_state(), NOW) for i in range(CITIZENS)],
    )
    q = ("?", "?", "?", "?")
    arrive, message, state = ARRIVE.format(*q), MESSAGE.format(*q), STATE.format(*q)
    timer, delivery = TIMER.format(*q), DELIVERY.format(*q)
    start = time.process_time()
    for n in range(turns):
        openid, key = f"o{n % CITIZENS}", f"k{n}"
        db.execute("begin immediate")
        raw, _sent = db.execute(arrive, (NOW, openid, key)).fetchone()
        db.execute(message, (openid, "in", NOW, SAID))
        db.execute(message, (openid, "out", NOW, REPLY))
        db.execute(state, (next_state(raw, n), openid))
        db.execute(timer, (openid, NOW))
        db.execute(delivery, (key, NOW, REPLY))
        db.execute("commit")
    return (time.process_time() - start) / turns * 1000


async def on_postgres(admin_url: str, turns: int) -> float:
    import asyncpg

    admin = await asyncpg.connect(admin_url)
    await admin.execute("drop database if exists doudi_floor")
    await admin.execute("create database doudi_floor")
    await admin.close()
    db = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + "/doudi_floor")
    for ddl in SCHEMA:
        await db.execute(ddl)
    await db.executemany(
        "insert into citizens values ($1, $2, 0, $3)",
        [(f"o{i}", initial_state(), NOW) for i in range(CITIZENS)],
    )
    q = ("$1", "$2", "$3", "$4")
    arrive, message, state = ARRIVE.format(*q), MESSAGE.format(*q), STATE.format(*q)
    timer, delivery = TIMER.format(*q), DELIVERY.format(*q)
    start = time.process_time()
    for n in range(turns):
        openid, key = f"o{n % CITIZENS}", f"k{n}"
        async with db.transaction():
            row = await db.fetchrow(arrive, NOW, openid, key)
            await db.execute(message, openid, "in", NOW, SAID)
            await db.execute(message, openid, "out", NOW, REPLY)
            await db.execute(state, next_state(row["state"], n), openid)
            await db.execute(timer, openid, NOW)
            await db.execute(delivery, key, NOW, REPLY)
    spent = (time.process_time() - start) / turns * 1000
    await db.close()
    return spent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--turns", type=int, default=20000)
    p.add_argument("--postgres", default="", help="admin URL for asyncpg (plain postgresql://)")
    args = p.parse_args()
    print(f"sqlite3: {on_sqlite(args.turns):.3f} ms CPU per turn (this process)")
    if args.postgres:
        ms = asyncio.run(on_postgres(args.postgres, args.turns // 4))
        print(f"asyncpg: {ms:.3f} ms CPU per turn (this process; the server's own not counted)")


if __name__ == "__main__":
    main()
