"""Batches of requests (``services/batching.py``, issue 17): what arrives together is run
together, each caller gets its own result, and one bad item cannot fail the others."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from chargeledger.services.batching import Batcher


class Doubler:
    """Doubles numbers in batches, remembering each batch; refuses negative numbers."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        if any(item < 0 for item in items):
            raise ValueError("negative")
        return [2 * item for item in items]


async def test_requests_arriving_together_are_run_as_one_batch_each_with_its_own_result() -> None:
    run = Doubler()
    batcher = Batcher(run, window=0.01)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)))
    assert results == [0, 2, 4, 6, 8]
    assert run.batches == [[0, 1, 2, 3, 4]]


async def test_a_batch_holds_at_most_cap_items() -> None:
    run = Doubler()
    batcher = Batcher(run, window=0.01, cap=2)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)))
    assert results == [0, 2, 4, 6, 8]
    assert run.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_batch_is_run_again_item_by_item_so_only_the_bad_one_fails() -> None:
    run = Doubler()
    batcher = Batcher(run, window=0.01)
    results = await asyncio.gather(*(batcher.submit(n) for n in (1, -1, 3)), return_exceptions=True)
    assert results[0] == 2
    assert results[2] == 6
    assert isinstance(results[1], ValueError)
    assert run.batches == [[1, -1, 3], [1], [-1], [3]]


async def test_a_request_after_a_batch_starts_a_new_one() -> None:
    run = Doubler()
    batcher = Batcher(run, window=0.001)
    assert await batcher.submit(1) == 2
    assert await batcher.submit(2) == 4
    assert run.batches == [[1], [2]]


async def test_a_caller_that_stops_waiting_is_left_out_of_the_batch() -> None:
    run = Doubler()
    batcher = Batcher(run, window=0.05)
    gone = asyncio.ensure_future(batcher.submit(1))
    staying = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await staying == 4
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert run.batches == [[2]]


async def test_callers_of_a_batch_cancelled_midway_are_not_left_waiting() -> None:
    started = asyncio.Event()

    async def never_done(items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.Event().wait()
        return list(items)

    batcher = Batcher(never_done, window=0)
    caller = asyncio.ensure_future(batcher.submit(1))
    await started.wait()
    drain = batcher._drain
    assert drain is not None
    drain.cancel()  # what a shutdown does to the tasks still running
    with pytest.raises(asyncio.CancelledError):
        await caller
