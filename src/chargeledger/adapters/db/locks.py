"""Named locks (the ``Locks`` port) on the database's terms.

* **PostgreSQL** (N nodes on one server): a session-level ``pg_advisory_lock`` taken on a
  connection of its own, in autocommit, so no transaction stays open while the lock is held
  across a PSP call. The key is 64 bits of SHA-256 over the schema and the name. It is released
  in ``finally``; the server drops it with the connection, so a node that dies frees its locks.
  A wait is bounded by ``lock_timeout`` (SQLSTATE 55P03 → busy). Each lock held or awaited
  costs one server connection, at most ``MAX_CONNECTIONS`` per process (more wait their
  turn); the connections must reach the server directly or through a session-mode pooler
  (PgBouncer's transaction mode would hand the session, and the lock, to someone else).
* **SQLite** (one file): within the process an asyncio lock per name, which is all one process
  needs. ``serve`` and a CLI command (``payments refund``, ``invoice run``) may use the same
  file at once, so the holder also takes a byte-range lock (POSIX ``fcntl``) of the file
  ``<database>-locks`` at an offset hashed from the name; the kernel drops it when the process
  ends, kill -9 included. Byte-range locks belong to the process, so the process's holders of
  one offset are counted and the range is unlocked by the last.

In both, the tasks of one process queue on the asyncio lock first, in order, so one name costs
at most one waiting connection (or poll) per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from chargeledger.adapters.db.engine import normalise_url
from chargeledger.services.ports import LockBusyError

log = logging.getLogger(__name__)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
MAX_CONNECTIONS = 10  # advisory locks held (or awaited) at once by one process
_POLL_FIRST, _POLL_MAX = 0.005, 0.1  # seconds between tries of a file lock held elsewhere


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def _busy(name: str) -> LockBusyError:
    return LockBusyError(f"{name} is locked by another operation", code="lock_busy")


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def deadline_after(wait_seconds: float) -> float:
    """The loop time by which a lock must be had; a past one still allows a free lock."""
    return asyncio.get_running_loop().time() + max(wait_seconds, 0)


class NameLocks:
    """The process's asyncio lock per name; entries live only while someone holds or waits."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: str, deadline: float) -> AsyncIterator[None]:
        entry = self._entries.setdefault(name, _Entry())
        entry.users += 1
        try:
            await _acquire(entry.lock, name, deadline)
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if not entry.users:
                del self._entries[name]


async def _acquire(lock: asyncio.Lock | asyncio.Semaphore, name: str, deadline: float) -> None:
    """A free lock is taken at once, even past the deadline; a taken one is waited for until
    the deadline."""
    try:
        async with asyncio.timeout_at(deadline):
            await lock.acquire()
    except TimeoutError:
        raise _busy(name) from None


class PostgresLocks:
    """Advisory locks, each on a connection of its own that is closed afterwards (no pool:
    a connection never goes back to a pool with a lock on it)."""

    def __init__(self, url: str, namespace: str = "") -> None:
        self.engine = create_async_engine(
            normalise_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self._namespace = namespace
        self._local = NameLocks()
        self._connections = asyncio.Semaphore(MAX_CONNECTIONS)

    def key(self, name: str) -> int:
        """The advisory lock's bigint: the same on every node using this schema."""
        return int.from_bytes(_digest(f"{self._namespace}/{name}")[:8], "big", signed=True)

    @contextlib.asynccontextmanager
    async def hold(self, name: str, wait_seconds: float) -> AsyncIterator[None]:
        deadline = deadline_after(wait_seconds)
        async with self._local.hold(name, deadline):
            await _acquire(self._connections, name, deadline)
            try:
                async with self._advisory(name, deadline):
                    yield
            finally:
                self._connections.release()

    @contextlib.asynccontextmanager
    async def _advisory(self, name: str, deadline: float) -> AsyncIterator[None]:
        key = self.key(name)
        connection = await self.engine.connect()
        held = False
        try:
            held = await _lock(connection, key, deadline - asyncio.get_running_loop().time())
            if not held:
                raise _busy(name)
            yield
        finally:
            try:
                if held:
                    await _unlock(connection, key)
            finally:
                await connection.close()  # no pool: the session ends, and any lock with it

    async def aclose(self) -> None:
        await self.engine.dispose()


async def _lock(connection: AsyncConnection, key: int, wait_seconds: float) -> bool:
    if wait_seconds <= 0:
        found = await connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        return bool(found.scalar())
    timeout = f"{max(int(wait_seconds * 1000), 1)}ms"
    await connection.execute(text("SELECT set_config('lock_timeout', :t, false)"), {"t": timeout})
    try:
        await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False
    return True


async def _unlock(connection: AsyncConnection, key: int) -> None:
    """Unlock at once, so a waiter on another node is not kept waiting for the session's end;
    a connection lost by now has freed it anyway."""
    try:
        await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    except Exception:
        log.warning("advisory unlock failed; closing the connection frees it", exc_info=True)


class _LockFile:
    """One database file's locks in this process: names, and counted byte ranges."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.names = NameLocks()
        self.users = 0
        self._fd: int | None = None
        self._held: dict[int, int] = {}

    def _descriptor(self) -> int:
        if self._fd is None:
            assert self.path is not None
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def _try(self, offset: int) -> bool:
        try:
            fcntl.lockf(self._descriptor(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:  # EACCES / EAGAIN: another process holds it
            return False
        return True

    async def take(self, name: str, offset: int, deadline: float) -> None:
        if self.path is None or self._held.get(offset):
            self._held[offset] = self._held.get(offset, 0) + 1
            return
        loop, pause = asyncio.get_running_loop(), _POLL_FIRST
        while not self._try(offset):
            if loop.time() + pause > deadline:
                raise _busy(name)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)
        self._held[offset] = 1

    def give_back(self, offset: int) -> None:
        self._held[offset] -= 1
        if self._held[offset]:
            return
        del self._held[offset]
        if self.path is not None:
            fcntl.lockf(self._descriptor(), fcntl.LOCK_UN, 1, offset)

    @property
    def idle(self) -> bool:
        return not self._held

    def close(self) -> None:
        """Only when idle: closing any descriptor of the file drops all the process's locks."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_FILES: dict[str, _LockFile] = {}  # every runtime of this process on one file shares its locks


class SqliteLocks:
    """Locks of one SQLite database (``database``: its file; None for a memory database)."""

    def __init__(self, database: str | None) -> None:
        path = Path(database).resolve() if database and database != ":memory:" else None
        self._path = None if path is None else path.with_name(path.name + "-locks")
        key = str(self._path) if self._path else f"memory:{id(self)}"
        self._file = _FILES.setdefault(key, _LockFile(self._path))
        self._file.users += 1
        self._key = key

    @contextlib.asynccontextmanager
    async def hold(self, name: str, wait_seconds: float) -> AsyncIterator[None]:
        deadline = deadline_after(wait_seconds)
        offset = int.from_bytes(_digest(name)[:5], "big")  # 2^40 ranges: collisions only wait
        async with self._file.names.hold(name, deadline):
            await self._file.take(name, offset, deadline)
            try:
                yield
            finally:
                self._file.give_back(offset)

    async def aclose(self) -> None:
        self._file.users -= 1
        if self._file.users <= 0 and self._file.idle:
            self._file.close()
            _FILES.pop(self._key, None)


def named_locks(url: str, engine: AsyncEngine, schema: str | None) -> PostgresLocks | SqliteLocks:
    """Advisory locks on PostgreSQL (every node), a lock file beside the SQLite database."""
    if engine.dialect.name == "postgresql":
        return PostgresLocks(url, namespace=schema or "")
    return SqliteLocks(engine.url.database)
