"""``/healthz``'s database answer is reused for a second (issue 17): one check serves every
probe meanwhile, and a check that goes stale is run again, once for every waiting probe."""

from __future__ import annotations

import asyncio

from chargeledger.api.health import RecentAnswer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_answer_is_reused_until_it_is_older_than_its_age() -> None:
    clock = Clock()
    recent = RecentAnswer(1.0, now=clock)
    calls: list[bool] = []

    async def check() -> bool:
        calls.append(True)
        return len(calls) != 2  # the second check finds the database gone

    assert await recent(check) is True
    clock.now += 0.9
    assert await recent(check) is True
    assert len(calls) == 1
    clock.now += 0.1
    assert await recent(check) is False  # an outage shows within the age
    assert await recent(check) is False
    clock.now += 1.0
    assert await recent(check) is True  # and so does the recovery
    assert len(calls) == 3


async def test_probes_arriving_during_a_check_share_it() -> None:
    recent = RecentAnswer(1.0, now=Clock())
    release = asyncio.Event()
    calls: list[bool] = []

    async def check() -> bool:
        calls.append(True)
        await release.wait()
        return True

    probes = [asyncio.ensure_future(recent(check)) for _ in range(5)]
    await asyncio.sleep(0)  # one turn of the loop: every probe reaches the shared check
    probes[0].cancel()  # a probe that goes away does not cancel the others' check
    release.set()
    answers = await asyncio.gather(*probes[1:])
    assert answers == [True] * 4
    assert len(calls) == 1
