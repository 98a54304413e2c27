"""Faults against `doudi serve` as a real process: killed mid-turn with SIGKILL, started on a
read-only or full disk, losing the disk while running."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.simulator import WeChatSide, message_xml
from bot.webhook import UNAVAILABLE
from storage.db import Database
from storage.models import Message
from tests.conftest import AES_KEY, APPID, TOKEN, new_openid

DOUDI = str(Path(sys.executable).parent / "doudi")
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, api_base: str = "http://127.0.0.1:9/cgi-bin/") -> dict[str, str]:
    return {
        **os.environ,
        "DOUDI_DATABASE_URL": database_url,
        "DOUDI_WECHAT_TOKEN": TOKEN,
        "DOUDI_WECHAT_AES_KEY": AES_KEY,
        "DOUDI_WECHAT_APPID": APPID,
        "DOUDI_WECHAT_SECRET": "test-secret",
        "DOUDI_WECHAT_API_BASE": api_base,
        "DOUDI_TURN_DEADLINE_S": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def start(env: dict[str, str], port: int, preexec: Callable[[], None] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [DOUDI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )


async def healthz(port: int) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()


async def wait_up(port: int, process, within: float = 30) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while True:
            assert process.poll() is None, process.communicate()[1]
            with contextlib.suppress(aiohttp.ClientError):
                if (await healthz(port))[0] == 200:
                    return
            await asyncio.sleep(0.2)


@contextlib.contextmanager
def stopped(process):  # type: ignore[no-untyped-def]
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


async def post(port: int, side: WeChatSide, xml: str) -> tuple[int, str | None]:
    query, body = side.seal(xml)
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}/wechat"
        async with http.post(url, params=query, data=body) as response:
            raw = await response.text()
            return response.status, side.open_reply(raw, query)


@contextlib.asynccontextmanager
async def citizen_lock(database_url: str, openid: str) -> AsyncIterator[None]:
    """Hold the citizen's lock from outside the server, as a long turn would."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")  # SQLite: the one write lock
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "SELECT pg_advisory_lock(hashtextextended('citizen:' || $1, 0))", openid
        )
        yield
    finally:
        await connection.close()  # releases the session-level lock


async def count(database_url: str, openid: str, direction: str) -> int:
    db = Database(database_url)
    try:
        async with db.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(
                        Message.openid == openid, Message.direction == direction
                    )
                )
            )
    finally:
        await db.dispose()


# --- (a) SIGKILL in the middle of a turn


async def test_killed_mid_turn_redelivery_completes_exactly_once(database_url, fake_wechat):
    env = server_env(database_url, fake_wechat.base_url)
    side = WeChatSide(TOKEN, AES_KEY, APPID)
    openid = new_openid()
    xml = message_xml(openid, "text", Content="你好")  # one MsgId: WeChat re-sends the same
    port = free_port()
    with stopped(start(env, port)) as first:
        await wait_up(port, first)
        async with citizen_lock(database_url, openid):
            # The turn blocks on the lock; at the deadline WeChat gets "success".
            assert await post(port, side, xml) == (200, None)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
    assert await count(database_url, openid, "in") == 0  # the killed turn left nothing

    port = free_port()
    with stopped(start(env, port)) as second:
        await wait_up(port, second)
        status, reply = await post(port, side, xml)  # WeChat's re-delivery
        assert status == 200 and reply and "查询进度" in reply
        assert await post(port, side, xml) == (200, reply)  # and once more: the same answer
    assert await count(database_url, openid, "in") == 1
    assert await count(database_url, openid, "out") == 1
    assert fake_wechat.sent == []  # the killed server never sent anything late


# --- (d) a database file that cannot be written


def _drop_dac_override() -> None:
    """In the child: even root now obeys file permissions (a read-only file stays read-only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0 and os.geteuid() == 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _disk_full() -> None:
    """In the child: no file may grow (RLIMIT_FSIZE 0), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))


def _copy_db(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "doudi.db"
    shutil.copy(sqlite_template, path)
    return path


@pytest.mark.parametrize(
    ("fault", "words"),
    [("read-only", "readonly database"), ("disk full", "disk I/O error")],
)
def test_serve_refuses_an_unwritable_database_with_one_line(
    sqlite_template, tmp_path, fault, words
) -> None:
    path = _copy_db(sqlite_template, tmp_path)
    if fault == "read-only":
        path.chmod(0o444)
        preexec = _drop_dac_override
    else:
        preexec = _disk_full
    process = start(server_env(f"sqlite+aiosqlite:///{path}"), free_port(), preexec)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 3
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("doudi: cannot start:") and words in lines[0]
    assert "Traceback" not in stderr


async def test_healthz_reports_a_full_disk_and_recovers(sqlite_template, tmp_path) -> None:
    path = _copy_db(sqlite_template, tmp_path)
    port = free_port()
    with stopped(start(server_env(f"sqlite+aiosqlite:///{path}"), port)) as server:
        await wait_up(port, server)
        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
        status, body = await healthz(port)
        assert status == 503 and body["database"] is False
        assert "does not take writes" in body["reason"]
        # A citizen writing now gets the apology rather than silence.
        side = WeChatSide(TOKEN, AES_KEY, APPID)
        openid = new_openid()
        status, reply = await post(port, side, message_xml(openid, "text", Content="你好"))
        assert (status, reply) == (200, UNAVAILABLE)
        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        await wait_up(port, server, within=10)
        status, reply = await post(port, side, message_xml(openid, "text", Content="你好"))
        assert status == 200 and "查询进度" in (reply or "")
