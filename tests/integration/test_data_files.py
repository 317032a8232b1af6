"""The SQLite database holds password hashes and every customer's data: the data directory a
runtime creates is 0700, the database file and its -wal/-shm files are 0600 whatever the
umask, and a database file an older version left 0644 is made 0600 on start (issue 11 item 6).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chargeledger.bootstrap import build_runtime
from chargeledger.config import Settings
from chargeledger.domain.identity import Role
from chargeledger.services import identity
from tests.conftest import TEST_PASSWORD, fast_hasher


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default umask (022), under which SQLite would create its files 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
async def test_a_fresh_data_directory_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    runtime = build_runtime(
        Settings.from_env({"CHARGELEDGER_DATA_DIR": str(data_dir)}), hasher=fast_hasher()
    )
    try:
        await runtime.migrate()
        async with runtime.uow() as uow:  # a write, so the WAL and its index exist
            await identity.create_user(
                uow,
                runtime.clock,
                runtime.hasher,
                email="root@example.org",
                password=TEST_PASSWORD,
                role=Role.ADMIN,
            )
            await uow.commit()
        files = sorted(p.name for p in data_dir.iterdir())
        assert files == [
            "chargeledger.sqlite3",
            "chargeledger.sqlite3-shm",
            "chargeledger.sqlite3-wal",
            "chargeledger.sqlite3.migrate-lock",  # migrations take turns on it (issue 18)
            "jwt-secret",
            "sandbox-webhook-secret",
            "station-secret-key",  # the key of station password hashes (issue 17)
        ]
        assert mode(data_dir) == 0o700
        assert {name: mode(data_dir / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        await runtime.aclose()


@pytest.mark.usefixtures("permissive_umask")
async def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    settings = Settings.from_env({"CHARGELEDGER_DATA_DIR": str(tmp_path)})
    database = tmp_path / "chargeledger.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    leftover_wal = tmp_path / "chargeledger.sqlite3-wal"
    leftover_wal.touch()
    leftover_wal.chmod(0o644)
    runtime = build_runtime(settings, hasher=fast_hasher())
    try:
        await runtime.migrate()
        assert (mode(database), mode(leftover_wal)) == (0o600, 0o600)
    finally:
        await runtime.aclose()
