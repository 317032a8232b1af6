"""Requests that arrive within a few milliseconds of each other, handled as one batch.

Why (issue 17): after a restart thousands of stations connect at once, and each handshake read
its station and wrote its connection record in a transaction of its own; on SQLite every one
of those took its turn on the one writer, so the storm queued behind itself. Handed over as a
batch they cost one statement (or one transaction) for many stations. Nothing is cached: each
request is answered by a batch that started after it arrived, so it sees what was committed
when it asked, as a query of its own would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("chargeledger.services")

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False, slots=True)
class _Waiting(Generic[Item, Result]):
    item: Item
    answer: asyncio.Future[Result]


class Batcher(Generic[Item, Result]):
    """Hands the items submitted within ``window`` seconds (at most ``cap`` at a time) to
    ``run``, which returns one result per item, in their order. Should a batch fail as a whole,
    each of its items is run again alone, so one bad item cannot fail the others. Batches run
    one after another; no task runs while nothing waits."""

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        window: float = 0.002,
        cap: int = 500,
    ) -> None:
        self._run = run
        self._window = window
        self._cap = cap
        self._waiting: list[_Waiting[Item, Result]] = []
        self._drain: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: Item) -> Result:
        """The result of ``item``, from the batch it joins."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (a runtime used by several loops, as in tests): what the old
            # one left can never finish here.
            self._loop, self._waiting, self._drain = loop, [], None
        waiting: _Waiting[Item, Result] = _Waiting(item, loop.create_future())
        self._waiting.append(waiting)
        if self._drain is None:
            self._drain = asyncio.create_task(self._drain_all())
        return await waiting.answer

    async def _drain_all(self) -> None:
        try:
            while self._waiting:
                if len(self._waiting) < self._cap:
                    await asyncio.sleep(self._window)
                batch = [w for w in self._waiting[: self._cap] if not w.answer.done()]
                del self._waiting[: self._cap]
                if batch:
                    await self._settle(batch)
        finally:
            self._drain = None
            for waiting in self._waiting:  # cancelled (shutdown): nothing was run
                waiting.answer.cancel()
            self._waiting.clear()

    async def _settle(self, batch: list[_Waiting[Item, Result]]) -> None:
        try:
            results = await self._run([waiting.item for waiting in batch])
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0].answer, error)
                return
            log.warning("a batch of %d failed; running each alone", len(batch), exc_info=True)
            for waiting in batch:
                await self._settle([waiting])
            return
        except BaseException:  # cancelled (shutdown): nobody may wait for it forever
            for waiting in batch:
                waiting.answer.cancel()
            raise
        for waiting, result in zip(batch, results, strict=True):
            _set(waiting.answer, result)


def _set(future: asyncio.Future[Result], result: Result) -> None:
    if not future.done():  # else its caller stopped waiting
        future.set_result(result)


def _fail(future: asyncio.Future[Result], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
