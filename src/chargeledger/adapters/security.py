"""Password hashing with argon2id (DESIGN §6) in a worker pool of its own, behind the
PasswordHasher port.

argon2 is slow on purpose (RFC 9106 §4: with the library's defaults tens of milliseconds of
CPU and 64 MiB per call). Run on the event loop it stalls every station and request; run in
asyncio's default executor it competes with the ``ocpp`` library, which validates every frame
there. So hashing has a ThreadPoolExecutor of its own with a fixed number of workers
(argon2-cffi releases the GIL while it hashes) and a bounded backlog: work beyond the backlog
is refused at once with ``service_busy`` instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chargeledger.errors import ServiceBusyError

T = TypeVar("T")
THREAD_NAME_PREFIX = "password-hash"
DEFAULT_BACKLOG = 64


def default_workers() -> int:
    """Half the cores, 1 to 4: hashing never takes every core from the event loop."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class BlockingPasswordHasher(Protocol):
    """The slow part that runs in the pool's threads (never on the event loop)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str | None, password: str) -> bool: ...


class Argon2Core:
    """argon2id, with the library's defaults (RFC 9106 second recommended option) unless
    costs are given (tests use the minimum)."""

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = _Argon2()
        self._hasher = _Argon2(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
        )
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """A missing credential is checked against a dummy hash of the same parameters: the
        same work as a wrong password, and never a match."""
        target = self.dummy_hash() if password_hash is None else password_hash
        try:
            matched = self._hasher.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def dummy_hash(self) -> str:
        """A hash of a random secret nobody knows, made once (in a worker, at first need)."""
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(32))
            return self._dummy


class PooledPasswordHasher:
    """The PasswordHasher port over a blocking hasher run in a bounded pool of its own.

    The backlog counts work submitted and not yet finished, including work whose caller has
    gone away (a thread cannot be interrupted), so it bounds what the pool really holds.
    """

    def __init__(
        self, core: BlockingPasswordHasher, *, workers: int = 1, backlog: int = DEFAULT_BACKLOG
    ) -> None:
        if workers < 1 or backlog < 1:
            raise ValueError("a password hashing pool needs at least one worker and one slot")
        self._core = core
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # started at first need, again after close
        self._backlog = backlog
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Hashes and verifications submitted and not finished yet."""
        return self._pending

    async def hash(self, password: str) -> str:
        return await self._run(self._core.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._run(self._core.verify, password_hash, password)

    def close(self) -> None:
        """Stop the pool's threads; like the database engine's ``dispose``, the hasher still
        works afterwards (a new pool starts at the next need)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _started(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix=THREAD_NAME_PREFIX
                )
            return self._pool

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._pending >= self._backlog:
                raise ServiceBusyError(
                    "too many password checks are waiting; try again in a moment",
                    code="authentication_busy",
                    retry_after=1,
                )
            self._pending += 1
        try:
            future = self._started().submit(work, *args)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return await asyncio.wrap_future(future)

    def _finished(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1


class Argon2PasswordHasher(PooledPasswordHasher):
    """argon2id in its own pool: what the runtime uses unless a test gives another hasher."""

    def __init__(
        self,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        *,
        workers: int | None = None,
        backlog: int = DEFAULT_BACKLOG,
    ) -> None:
        super().__init__(
            Argon2Core(time_cost, memory_cost),
            workers=workers or default_workers(),
            backlog=backlog,
        )
