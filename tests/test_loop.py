"""`doudi serve` runs on uvloop when it is installed, on asyncio's loop otherwise."""

from __future__ import annotations

import asyncio
import builtins
import gc

import pytest

from bot import loop


def test_uvloop_when_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    new = loop.new_event_loop()
    try:
        assert isinstance(new, uvloop.Loop)
        assert new.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        new.close()


def test_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_uvloop(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "uvloop":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert loop.event_loop_factory() is None
    new = loop.new_event_loop()
    try:
        assert type(new).__module__.startswith("asyncio")
    finally:
        new.close()


def test_serve_freezes_the_startup_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web

    started: list[web.Application] = []
    monkeypatch.setattr(web, "run_app", lambda app, **_kwargs: started.append(app))
    app = web.Application()
    loop.serve(app, "127.0.0.1", 0)
    assert started == [app] and app.on_startup[-1] is loop.freeze_heap

    gc_was = gc.get_freeze_count()
    try:
        asyncio.run(loop.freeze_heap(app))
        assert gc.get_freeze_count() > gc_was
    finally:
        gc.unfreeze()
