"""The named locks behind money operations and invoice runs (``adapters/db/locks.py``), held
by another process: busy while it lives, free once it is killed (kill -9: no ``finally`` runs,
the kernel or the PostgreSQL server lets go), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from chargeledger.adapters.db.locks import PostgresLocks, SqliteLocks
from chargeledger.bootstrap import Runtime
from chargeledger.services.ports import LockBusyError

NAME = "payment:0b8f3a52-51a4-4e0e-8f43-6a1a43e8e7c2"
HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from chargeledger.adapters.db.locks import PostgresLocks, SqliteLocks

    async def main(kind: str, where: str, namespace: str, name: str) -> None:
        locks = PostgresLocks(where, namespace) if kind == "postgresql" else SqliteLocks(where)
        async with locks.hold(name, 60):
            print("held", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main(*sys.argv[1:]))
    """
)


def locks_of(runtime: Runtime, database: tuple[str, str | None]) -> tuple[str, str, str]:
    """What the holder process needs to open the same locks as ``runtime``."""
    url, schema = database
    if runtime.database_backend == "postgresql":
        return "postgresql", url, schema or ""
    return "sqlite", str(Path(url.split("///", 1)[1])), ""


@pytest.fixture
def holder(runtime: Runtime, database: tuple[str, str | None]) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``NAME``, once it has said so."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *locks_of(runtime, database), NAME],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_a_lock_held_by_a_process_is_busy_until_it_is_killed(
    runtime: Runtime, holder: subprocess.Popen[str]
) -> None:
    locks = runtime.locks
    with pytest.raises(LockBusyError):
        async with locks.hold(NAME, 0):
            pytest.fail("held by two processes at once")
    with pytest.raises(LockBusyError):  # a bounded wait ends busy too
        async with locks.hold(NAME, 0.2):
            pytest.fail("held by two processes at once")
    async with locks.hold("payment:another", 0):
        pass  # other names are free

    holder.send_signal(signal.SIGKILL)
    await asyncio.to_thread(holder.wait)
    entered = False
    async with locks.hold(NAME, 60):  # freed by the kernel / the server, however soon
        entered = True
    assert entered


async def test_one_name_is_held_once_in_a_process_and_waiters_queue(runtime: Runtime) -> None:
    locks = runtime.locks
    inside: list[int] = []
    order: list[int] = []

    async def worker(number: int) -> None:
        async with locks.hold(NAME, 60):
            inside.append(number)
            assert len(inside) == 1, inside
            order.append(number)
            await asyncio.sleep(0)
            inside.remove(number)

    await asyncio.gather(*(worker(n) for n in range(6)))
    assert sorted(order) == list(range(6))


def test_every_runtime_on_one_sqlite_file_shares_its_locks(tmp_path: Path) -> None:
    """Two runtimes of one process on one file (fcntl locks are the process's: the second
    must not slip through because the first holds the byte range)."""

    async def check() -> None:
        first, second = SqliteLocks(str(tmp_path / "db")), SqliteLocks(str(tmp_path / "db"))
        try:
            async with first.hold(NAME, 0):
                with pytest.raises(LockBusyError):
                    async with second.hold(NAME, 0):
                        pytest.fail("held twice")
            async with second.hold(NAME, 0):
                pass
        finally:
            await first.aclose()
            await second.aclose()

    asyncio.run(check())


def test_postgres_keys_depend_on_the_schema() -> None:
    one = PostgresLocks("postgresql://localhost/x", "s1")
    assert one.key(NAME) == PostgresLocks("postgresql://localhost/x", "s1").key(NAME)
    assert one.key(NAME) != PostgresLocks("postgresql://localhost/x", "s2").key(NAME)
    assert one.key(NAME) != one.key("payment:another")
