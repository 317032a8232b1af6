"""Password hashing in a pool of its own (issue 11 item 2): argon2 runs in the pool's named
threads (never on the event loop, never in asyncio's default executor), the backlog is bounded
and refused at once, and a missing credential costs a real argon2 verification."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from argon2 import extract_parameters

from chargeledger.adapters.security import (
    THREAD_NAME_PREFIX,
    Argon2Core,
    Argon2PasswordHasher,
    PooledPasswordHasher,
)
from chargeledger.errors import ServiceBusyError

DEADLINE_S = 30.0


class GatedCore:
    """A blocking hasher whose calls wait on a threading.Event the test releases; it records
    the thread each call ran in."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.threads: list[str] = []
        self.entered = 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, password_hash: str | None, password: str) -> bool:
        with self._lock:
            self.entered += 1
            self.threads.append(threading.current_thread().name)
        if not self.gate.wait(DEADLINE_S):
            raise TimeoutError("the test never released the gate")
        return password_hash == f"hashed:{password}"


async def until(condition: Callable[[], bool]) -> None:
    """Poll (the loop stays free meanwhile) with a generous safety deadline."""

    async def poll() -> None:
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), DEADLINE_S)


def test_argon2_core_verifies_and_a_missing_hash_costs_a_real_verification() -> None:
    core = Argon2Core(time_cost=1, memory_cost=1024)
    stored = core.hash("correct horse battery staple")
    assert core.verify(stored, "correct horse battery staple")
    assert not core.verify(stored, "wrong")
    assert not core.verify("not a hash", "wrong")
    assert not core.verify(None, "correct horse battery staple")
    # The dummy is a real argon2id hash with the very parameters of a stored one: verifying
    # against it is the same work as verifying a wrong password.
    assert extract_parameters(core.dummy_hash()) == extract_parameters(stored)


async def test_work_runs_in_the_pools_own_threads_and_not_on_the_loop() -> None:
    core = GatedCore()
    hasher = PooledPasswordHasher(core, workers=3, backlog=10)
    loop_thread = threading.current_thread().name
    try:
        checks = [asyncio.ensure_future(hasher.verify("hashed:pw", "pw")) for _ in range(3)]
        await until(lambda: core.entered == 3)  # the loop keeps running meanwhile
        assert hasher.pending == 3
        default_executor_probe = await asyncio.to_thread(threading.current_thread)
        core.gate.set()
        assert await asyncio.gather(*checks) == [True, True, True]
    finally:
        hasher.close()
    assert all(name.startswith(THREAD_NAME_PREFIX) for name in core.threads), core.threads
    assert loop_thread not in core.threads
    assert not default_executor_probe.name.startswith(THREAD_NAME_PREFIX)
    assert hasher.pending == 0


async def test_a_full_backlog_is_refused_at_once() -> None:
    core = GatedCore()
    hasher = PooledPasswordHasher(core, workers=1, backlog=2)
    try:
        waiting = [asyncio.ensure_future(hasher.verify(None, "pw")) for _ in range(2)]
        await until(lambda: core.entered == 1)  # one runs, one queues
        with pytest.raises(ServiceBusyError) as busy:
            await hasher.verify(None, "pw")
        assert (busy.value.code, busy.value.http_status, busy.value.retry_after) == (
            "authentication_busy",
            503,
            1,
        )
        core.gate.set()
        assert await asyncio.gather(*waiting) == [False, False]
        assert await hasher.verify("hashed:pw", "pw")  # room again
    finally:
        hasher.close()


async def test_abandoned_work_still_counts_until_its_thread_finishes() -> None:
    """A caller that goes away (client disconnect) cannot stop argon2 in its thread: the
    backlog keeps counting that work, so it bounds what the pool really holds."""
    core = GatedCore()
    hasher = PooledPasswordHasher(core, workers=1, backlog=1)
    try:
        abandoned = asyncio.ensure_future(hasher.verify(None, "pw"))
        await until(lambda: core.entered == 1)
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        assert hasher.pending == 1
        with pytest.raises(ServiceBusyError):
            await hasher.verify(None, "pw")
        core.gate.set()
        await until(lambda: hasher.pending == 0)
    finally:
        hasher.close()


async def test_the_argon2_hasher_hashes_and_verifies_through_its_pool() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=1024, workers=1)
    try:
        stored = await hasher.hash("a long enough password")
        assert stored.startswith("$argon2id$")
        assert await hasher.verify(stored, "a long enough password")
        assert not await hasher.verify(stored, "another password")
        assert not await hasher.verify(None, "a long enough password")
    finally:
        hasher.close()
