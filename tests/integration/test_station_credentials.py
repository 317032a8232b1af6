"""Station passwords under the station scheme (issue 17; DESIGN §6: machine secrets with a
keyed fast hash): what is stored, argon2 hashes replaced once at the next login, the key kept
across restarts, and a storm of wrong passwords from one address refused before any work.
Real uvicorn, real websockets, real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from chargeledger.adapters.security import HmacStationSecrets
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.errors import ConfigurationError
from chargeledger.services.charging.station_access import upgrade_station_hash
from chargeledger.services.ports import Clock
from chargeledger.services.transactions import in_transaction
from tests.conftest import fast_hasher
from tests.integration.ocpp_server import (
    STATION_PASSWORD,
    Network,
    basic_auth,
    running_server,
    seed_network,
)
from tests.integration.ocpp_support import CP16, CP201, bounded

BOTH_VERSIONS = [Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]
WRONG = "wrong-password-000000"
REPLACED = "replaced a station's argon2 password hash by the station scheme"


async def handshake(
    url: str, charge_point_id: str, password: str, source: str = "127.0.0.1"
) -> InvalidStatus | None:
    """None when the upgrade is accepted (closed again at once), else the refusal."""
    try:
        ws = await bounded(
            websockets.connect(
                f"{url}/{charge_point_id}",
                subprotocols=BOTH_VERSIONS,
                additional_headers=basic_auth(charge_point_id, password),
                local_addr=(source, 0),
            )
        )
    except InvalidStatus as refused:
        return refused
    await ws.close()
    return None


def status(refusal: InvalidStatus | None) -> int:
    return 101 if refusal is None else int(refusal.response.status_code)


async def stored_hash(runtime: Runtime, charge_point_id: str) -> str | None:
    async with runtime.uow() as uow:
        station = await uow.stations.get_by_charge_point_id(charge_point_id)
    assert station is not None
    return station.password_hash


async def give_argon2_hash(runtime: Runtime, network: Network, charge_point_id: str) -> str:
    """The station's hash as stored before the station scheme: argon2 of its password."""
    station = network.stations[charge_point_id]
    older = await runtime.hasher.hash(STATION_PASSWORD)
    assert station.password_hash is not None
    async with runtime.uow() as uow:
        assert await uow.stations.replace_password_hash(station.id, station.password_hash, older)
        await uow.commit()
    return older


MakeRuntime = Callable[..., Awaitable[Runtime]]


class StoppedClock:
    """Time stands still: a door closed by failures stays closed for the whole test."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current


@pytest.fixture
async def make_runtime(
    database: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[MakeRuntime]:
    """Migrated runtimes on one database and data directory, with the given settings."""
    url, schema = database
    made: list[Runtime] = []

    async def make(clock: Clock | None = None, **settings: str) -> Runtime:
        env = {
            "CHARGELEDGER_DATA_DIR": str(tmp_path / "data"),
            "CHARGELEDGER_DATABASE_URL": url,
            **{f"CHARGELEDGER_{name}": value for name, value in settings.items()},
        }
        runtime = build_runtime(
            Settings.from_env(env), schema=schema, hasher=fast_hasher(), clock=clock
        )
        made.append(runtime)
        await runtime.migrate()
        return runtime

    yield make
    for runtime in made:
        await runtime.aclose()


async def test_a_station_password_is_stored_as_a_salted_keyed_digest(runtime: Runtime) -> None:
    network = await seed_network(runtime)
    first, second = (network.stations[cpid].password_hash or "" for cpid in (CP16, CP201))
    scheme, salt, digest = first.split("$")
    assert (scheme, len(salt), len(digest)) == ("hmac-sha256", 22, 43)  # 128-bit salt
    assert first.split("$")[1] != second.split("$")[1]  # same password, other salt
    assert STATION_PASSWORD not in first
    async with running_server(runtime) as url:
        assert status(await handshake(url, CP16, STATION_PASSWORD)) == 101
        refused = await handshake(url, CP16, WRONG)
        unknown = await handshake(url, "CP-NOBODY", STATION_PASSWORD)
    for refusal in (refused, unknown):
        assert refusal is not None
        assert refusal.response.status_code == 401
        assert refusal.response.headers["WWW-Authenticate"].startswith("Basic ")


async def test_an_argon2_station_hash_is_replaced_once_at_the_next_login(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    network = await seed_network(runtime)
    older = await give_argon2_hash(runtime, network, CP16)
    async with running_server(runtime) as url:
        assert status(await handshake(url, CP16, WRONG)) == 401
        assert await stored_hash(runtime, CP16) == older  # a wrong password replaces nothing

        with caplog.at_level(logging.INFO, logger="chargeledger.stations"):
            statuses = await asyncio.gather(
                *(handshake(url, CP16, STATION_PASSWORD) for _ in range(3))
            )
            assert [status(s) for s in statuses] == [101, 101, 101]
            replaced = await stored_hash(runtime, CP16)
            assert status(await handshake(url, CP16, STATION_PASSWORD)) == 101
    assert replaced is not None
    assert replaced.startswith("hmac-sha256$")
    assert runtime.station_secrets.verify(replaced, STATION_PASSWORD)
    assert await stored_hash(runtime, CP16) == replaced  # once: later logins keep it
    assert [r.getMessage() for r in caplog.records].count(REPLACED) == 1


async def test_concurrent_replacements_of_one_hash_write_once(runtime: Runtime) -> None:
    """The compare-and-set: of replacements racing from the same older hash exactly one
    writes, and a password changed meanwhile is never overwritten."""
    network = await seed_network(runtime)
    older = await give_argon2_hash(runtime, network, CP16)
    station = dataclasses.replace(network.stations[CP16], password_hash=older)
    candidates = [runtime.station_secrets.hash(STATION_PASSWORD) for _ in range(4)]
    won = await asyncio.gather(
        *(in_transaction(runtime.uow, upgrade_station_hash, station, older, c) for c in candidates)
    )
    assert sorted(won) == [False, False, False, True]
    assert await stored_hash(runtime, CP16) == candidates[won.index(True)]
    assert not await in_transaction(runtime.uow, upgrade_station_hash, station, older, "x")


async def test_the_station_key_survives_a_restart_and_can_be_set(
    make_runtime: MakeRuntime, tmp_path: Path
) -> None:
    first = await make_runtime()
    network = await seed_network(first)
    stored = network.stations[CP16].password_hash
    await first.aclose()
    again = await make_runtime()  # same data directory: the generated key is kept
    assert again.station_secrets.verify(stored, STATION_PASSWORD)
    assert (tmp_path / "data" / "station-secret-key").stat().st_mode & 0o077 == 0

    configured = await make_runtime(STATION_SECRET_KEY="k" * 32)  # another key: no match
    assert not configured.station_secrets.verify(stored, STATION_PASSWORD)
    with pytest.raises(ConfigurationError) as short:
        Settings.from_env({"CHARGELEDGER_STATION_SECRET_KEY": "too-short-a-key"})
    assert short.value.code == "invalid_setting"


async def test_a_storm_of_wrong_passwords_from_one_address_is_refused_without_work(
    make_runtime: MakeRuntime,
) -> None:
    """Past the address's free failures its handshakes get 429 before any read or hash,
    while a station behind another address connects as always."""
    runtime = await make_runtime(StoppedClock(), STATION_FAILURES_PER_ADDRESS="3")
    await seed_network(runtime)
    checked: list[str | None] = []
    real = runtime.station_secrets

    class Counting(HmacStationSecrets):
        def verify(self, password_hash: str | None, password: str) -> bool:
            checked.append(password_hash)
            return real.verify(password_hash, password)

    runtime.station_secrets = Counting(b"unused" * 8)
    async with running_server(runtime) as url:
        storm = [
            status(await handshake(url, f"CP-GUESS-{n}", WRONG, source="127.0.0.2"))
            for n in range(8)
        ]
        assert storm == [401] * 4 + [429] * 4
        assert len(checked) == 4  # the refused ones cost no check
        assert status(await handshake(url, CP16, STATION_PASSWORD)) == 101  # elsewhere
        assert status(await handshake(url, CP201, STATION_PASSWORD, source="127.0.0.2")) == 429
