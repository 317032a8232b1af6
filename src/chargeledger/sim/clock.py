"""Compressed simulated time: ``hours`` of station time played in ``duration`` real seconds.

Message timestamps come from the plan (whole simulated seconds), never from the wall clock, so
they are reproducible whatever the machine's speed; the wall clock only paces the run.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 UTC with ``Z`` (OCPP-J dateTime: UTC, RFC 3339 / ISO 8601)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SimClock:
    """Maps simulated seconds since ``start`` onto the event loop's monotonic clock."""

    def __init__(self, start: datetime, span_s: int, duration_s: float, t0: float) -> None:
        self.start = start.astimezone(UTC)
        self.span_s = span_s
        self.factor = span_s / duration_s
        self.t0 = t0

    def now_s(self) -> float:
        return (asyncio.get_running_loop().time() - self.t0) * self.factor

    def real_at(self, sim_s: float) -> float:
        """Event-loop time at which simulated second ``sim_s`` happens."""
        return self.t0 + sim_s / self.factor

    def at(self, sim_s: int, skew_s: int = 0) -> datetime:
        return self.start + timedelta(seconds=sim_s + skew_s)

    def stamp(self, sim_s: int, skew_s: int = 0) -> str:
        return iso_utc(self.at(sim_s, skew_s))

    def real_seconds(self, sim_s: float) -> float:
        return sim_s / self.factor

    async def sleep_until(self, sim_s: float, event: asyncio.Event | None = None) -> bool:
        """Wait until simulated second ``sim_s``; return True early if ``event`` is set."""
        delay = self.real_at(sim_s) - asyncio.get_running_loop().time()
        if event is None:
            if delay > 0:
                await asyncio.sleep(delay)
            return False
        if event.is_set():
            return True
        if delay <= 0:
            return False
        try:
            async with asyncio.timeout(delay):
                await event.wait()
        except TimeoutError:
            return False
        return True
