"""One station's simulated time, paced by the compressed clock *and* by the server.

Everything a station does at a simulated second (a sample, a stop, an outage beginning or
ending, a heartbeat) waits for a step of its timeline. Steps happen one at a time in simulated
time order, each no earlier than the compressed clock allows (the fastest pace) and only once
the server has answered everything the station queued before (``Link.settled``; during a
planned outage nothing can be answered and the day goes on offline). A slow server or a busy
machine therefore makes a station's day take longer, never reorders it and never drops a step;
the timestamps come from the plan either way.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable

from chargeledger.sim.clock import SimClock


class Timeline:
    """The steps a station waits for, released in simulated-time order by ``run``."""

    def __init__(self, clock: SimClock, settled: Callable[[], Awaitable[None]]) -> None:
        self.clock = clock
        self.settled = settled
        self.now_s = 0.0  # the latest simulated second a step was released at
        self._steps: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._added = asyncio.Event()
        self._taken = asyncio.Event()  # the task of the released step is on its way

    async def until(self, sim_s: float, event: asyncio.Event | None = None) -> bool:
        """Wait for the step at ``sim_s``; True as soon as ``event`` is set instead (a CSMS
        stop cuts a session short whatever the timeline is doing)."""
        if event is not None and event.is_set():
            return True
        step: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._steps, (sim_s, next(self._order), step))
        self._added.set()
        stopped = None if event is None else asyncio.ensure_future(event.wait())
        try:
            if stopped is None:
                await step
            else:
                await asyncio.wait((step, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopped is not None:
                stopped.cancel()
            if step.done() and not step.cancelled():
                # Released: the timeline waits for this, and this task runs on to its next
                # wait before the timeline does (setting an event only schedules it).
                self._taken.set()
            else:
                step.cancel()  # not waited for any more: the timeline drops it
        return event is not None and event.is_set()

    async def run(self) -> None:
        """Release steps until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._steps:
                self._added.clear()
                await self._added.wait()
                continue
            sim_s, _, step = self._steps[0]
            if step.done():  # its waiter stopped waiting
                heapq.heappop(self._steps)
                continue
            delay = self.clock.real_at(sim_s) - loop.time()
            if delay > 0:
                await self._wait_for_earlier_step(delay)
                continue
            await self.settled()
            if self._steps[0][2] is not step or step.done():
                # An earlier step came in meanwhile, or this one's waiter stopped waiting while
                # the server settled (a CSMS stop, a cancelled task): releasing a cancelled
                # step would raise and end the timeline, and the station would wait forever.
                continue
            heapq.heappop(self._steps)
            self.now_s = max(self.now_s, sim_s)
            # The released task takes its step (queues its messages, begins an outage) before
            # the next step is considered.
            self._taken.clear()
            step.set_result(None)
            await self._taken.wait()

    async def _wait_for_earlier_step(self, delay: float) -> None:
        self._added.clear()
        try:
            async with asyncio.timeout(delay):
                await self._added.wait()
        except TimeoutError:
            pass
