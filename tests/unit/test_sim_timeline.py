"""The simulator's timeline (``sim/timeline.py``) keeps releasing steps whatever its waiters do.

A demo run once hung for good: a station's session was stopped by the CSMS while the timeline
waited for the server to settle, the step's waiter stopped waiting (its step cancelled), and
releasing that cancelled step raised inside ``Timeline.run`` — the timeline task died and every
later step of the station waited forever. The server's pace is simulated here by a gate the test
opens, and the clock puts every step in the past, so nothing depends on wall-clock time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from chargeledger.sim.clock import SimClock
from chargeledger.sim.timeline import Timeline


def past_clock() -> SimClock:
    """Every simulated second is already due: steps wait only for the server."""
    return SimClock(datetime(2026, 3, 1, tzinfo=UTC), 86_400, 60.0, t0=-1e9)


class SlowServer:
    """``Link.settled`` of a server that answers only when the test says so."""

    def __init__(self) -> None:
        self.settling = asyncio.Event()  # the timeline is waiting for the server
        self.answered = asyncio.Event()

    async def settled(self) -> None:
        self.settling.set()
        await self.answered.wait()


async def test_a_step_given_up_while_the_server_settles_does_not_end_the_timeline() -> None:
    server = SlowServer()
    timeline = Timeline(past_clock(), server.settled)
    runner = asyncio.create_task(timeline.run())
    stop = asyncio.Event()
    session = asyncio.create_task(timeline.until(100.0, stop))
    await server.settling.wait()  # the timeline holds the step until the server has answered
    stop.set()  # the CSMS stops the session meanwhile: its waiter gives the step up
    assert await session is True
    server.answered.set()
    later = asyncio.create_task(timeline.until(200.0))
    done, _ = await asyncio.wait((later, runner), return_when=asyncio.FIRST_COMPLETED)
    assert runner not in done, runner.exception() if runner.done() else None
    assert later in done
    assert timeline.now_s == 200.0
    runner.cancel()


async def test_a_cancelled_waiter_does_not_end_the_timeline() -> None:
    server = SlowServer()
    timeline = Timeline(past_clock(), server.settled)
    runner = asyncio.create_task(timeline.run())
    waiter = asyncio.create_task(timeline.until(50.0))
    await server.settling.wait()
    waiter.cancel()  # the station's task is cancelled (a disconnect) while the server settles
    await asyncio.gather(waiter, return_exceptions=True)
    server.answered.set()
    later = asyncio.create_task(timeline.until(60.0))
    done, _ = await asyncio.wait((later, runner), return_when=asyncio.FIRST_COMPLETED)
    assert runner not in done, runner.exception() if runner.done() else None
    assert timeline.now_s == 60.0
    runner.cancel()


async def test_steps_are_released_in_simulated_time_order() -> None:
    async def settled() -> None:
        return None

    timeline = Timeline(past_clock(), settled)
    order: list[float] = []

    async def step(at: float) -> None:
        await timeline.until(at)
        order.append(at)

    waiters = [asyncio.create_task(step(at)) for at in (30.0, 10.0, 20.0)]
    await asyncio.sleep(0)  # every waiter has queued its step before the timeline starts
    runner = asyncio.create_task(timeline.run())
    await asyncio.gather(*waiters)
    assert order == [10.0, 20.0, 30.0]
    runner.cancel()
