"""The loop's lag: how long what became ready waited while something held the event loop."""

from __future__ import annotations

import asyncio
import time

from bot.looplag import LoopLag


async def test_a_blocked_loop_shows_as_lag_and_calms_down() -> None:
    lag = LoopLag(tick_s=0.005)
    lag.start()
    try:
        await asyncio.sleep(0.02)
        assert lag.seconds < 0.05  # an idle loop runs its ticks on time (give or take)
        time.sleep(0.08)  # noqa: ASYNC251 - the point: nothing else runs meanwhile
        assert lag.seconds >= 0.06  # the tick due meanwhile is that overdue
        await asyncio.sleep(0)  # the tick runs, late; what ran with it had waited as long
        assert lag.seconds >= 0.03
        started = time.monotonic()
        await asyncio.wait_for(lag.below(0.01), timeout=2)
        assert lag.seconds <= 0.01
        assert time.monotonic() - started < 1.0  # it decays in a few ticks once unblocked
    finally:
        lag.stop()


async def test_waiting_for_calm_ends_when_the_monitor_stops() -> None:
    lag = LoopLag(tick_s=0.005)
    lag.start()
    time.sleep(0.05)  # noqa: ASYNC251 - the loop is held: the lag exceeds any small limit
    waiter = asyncio.ensure_future(lag.below(0.0))
    await asyncio.sleep(0)
    assert not waiter.done()
    lag.stop()  # at shutdown nobody is left waiting
    await asyncio.wait_for(waiter, timeout=1)
