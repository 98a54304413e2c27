"""`doudi serve --workers N`: N worker processes serving one port (SO_REUSEPORT).

Each worker is a whole Doudi (aiohttp app, database pool, timer loop) listening on the same
host:port with `reuse_port=True`; the kernel spreads incoming connections over them. There
is nothing to share between workers but the database: dialog state, delivery records,
per-citizen locks (advisory locks), the access token, timers (claimed with SKIP LOCKED) and
ticket counters all live there. Metrics are the exception: each worker writes its samples
to PROMETHEUS_MULTIPROC_DIR, a directory this supervisor creates, and any worker's /metrics
adds them up.

The supervisor restarts a worker that dies, stops all of them on SIGTERM/SIGINT, and gives
up if workers keep dying as they start (a port already taken, a bad database URL).

Why not gunicorn's aiohttp worker: it would add a dependency and a second configuration
surface for what aiohttp's reuse_port and this small supervisor already do; workers are
started with "spawn", so none inherits an event loop or a database connection.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from multiprocessing.process import BaseProcess
from typing import Any

from bot.config import Settings

log = logging.getLogger("doudi")

QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after starting counts as failing
MAX_QUICK_DEATHS = 5


def _worker(settings: Settings, host: str, port: int) -> None:
    from bot.app import build_app
    from bot.logs import configure_logging
    from bot.loop import serve

    configure_logging()
    serve(build_app(settings), host, port, reuse_port=True)


def run_workers(settings: Settings, host: str, port: int, workers: int) -> int:
    """Run `workers` worker processes until a signal; returns the exit code."""
    metrics_dir = tempfile.mkdtemp(prefix="doudi-metrics-")
    # Set before any worker starts: prometheus-client picks its multiprocess mode at import.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    context = multiprocessing.get_context("spawn")
    running: dict[int, tuple[BaseProcess, float]] = {}
    stopping = False
    quick_deaths = 0

    def start(slot: int) -> None:
        process = context.Process(
            target=_worker, args=(settings, host, port), name=f"doudi-worker-{slot}", daemon=False
        )
        process.start()
        running[slot] = (process, time.monotonic())
        log.info("worker %d started (pid %s)", slot, process.pid)

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for slot in range(workers):
            start(slot)
        while not stopping:
            time.sleep(0.2)
            for slot, (process, started) in list(running.items()):
                if process.is_alive() or stopping:
                    continue
                _mark_dead(process.pid)
                log.error("worker %d (pid %s) exited with %s", slot, process.pid, process.exitcode)
                if time.monotonic() - started < QUICK_DEATH_S:
                    quick_deaths += 1
                    if quick_deaths >= MAX_QUICK_DEATHS:
                        log.error("workers keep dying as they start; giving up")
                        return 1
                start(slot)
        return 0
    finally:
        for process, _ in running.values():
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)  # aiohttp shuts down gracefully on it
        for process, _ in running.values():
            process.join(timeout=20)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _mark_dead(pid: int | None) -> None:
    if pid is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
