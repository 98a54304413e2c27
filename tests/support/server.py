"""`doudi serve` as a real subprocess on a free port, for tests that need whole processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator

import aiohttp


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def doudi_serve(env: dict[str, str], workers: int = 1) -> AsyncIterator[str]:
    """Yield the /wechat URL of a running `doudi serve --workers N`; stop it afterwards."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="doudi-serve-", suffix=".log", delete=False)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("DOUDI_")}
    child_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    child_env.update({"DOUDI_LOG_LEVEL": "WARNING", **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        env=child_env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                if process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(base + "/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("doudi serve did not become healthy")
        if process.returncode is not None:
            raise AssertionError(f"doudi serve exited: {_read(log.name)[-2000:]}")
        yield base + "/wechat"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()
        output = _read(log.name)
        os.unlink(log.name)
        # Surface crashes in the server's own log, not only as a symptom in the test.
        assert "Traceback" not in output, output[-4000:]
