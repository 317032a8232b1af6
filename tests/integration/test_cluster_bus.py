"""The command bus of several nodes on one PostgreSQL (issue 18, ``adapters/db/cluster_bus.py``):
two buses on one database stand for two nodes (each with its own connections, as two
``serve`` processes have). A command sent on one node runs on the node holding the station
and its answer, error or silence comes back; presence follows connections, a station that
moved on keeps the newer node, and a node that dies without a word loses its stations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from chargeledger.adapters.bus import InProcessCommandBus
from chargeledger.adapters.db.cluster_bus import (
    PostgresCommandBus,
    command_bus,
    command_of,
    command_payload,
)
from chargeledger.adapters.db.engine import create_engine
from chargeledger.bootstrap import Runtime
from chargeledger.domain.station_link import CommandKind, CommandResult, ResetType, StationCommand
from chargeledger.errors import ConflictError
from tests.conftest import usable_backend

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: SQLite runs as one node."""
    return usable_backend("postgresql")


START = StationCommand(CommandKind.REMOTE_START, evse_id=1, id_tag="04A1B2C3")


@pytest.fixture
async def nodes(
    runtime: Runtime, database: tuple[str, str | None]
) -> AsyncIterator[tuple[PostgresCommandBus, PostgresCommandBus]]:
    url, schema = database
    first, second = (
        PostgresCommandBus(url, schema, "node-a"),
        PostgresCommandBus(url, schema, "node-b"),
    )
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def until(condition: Callable[[], bool]) -> None:
    """Wait for what a notification brings (it arrives a moment after the change)."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - the state a listener callback sets
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), 60)


async def present(runtime: Runtime) -> dict[str, str]:
    async with runtime._factory.engine.connect() as connection:
        rows = await connection.execute(text("SELECT charge_point_id, node FROM station_presence"))
        return {row[0]: row[1] for row in rows}


def test_a_command_travels_as_json_and_back() -> None:
    reserve = StationCommand(
        CommandKind.RESERVE_NOW,
        evse_id=2,
        id_tag="TAG",
        reservation_id=7,
        expires_at=datetime(2026, 12, 6, 21, 0, tzinfo=UTC),
    )
    reset = StationCommand(CommandKind.RESET, reset_type=ResetType.SOFT)
    for command in (START, reserve, reset):
        assert command_of(command_payload(command)) == command


async def test_a_command_reaches_the_node_holding_the_station_and_answers(
    nodes: tuple[PostgresCommandBus, PostgresCommandBus], runtime: Runtime
) -> None:
    first, second = nodes
    received: list[StationCommand] = []

    async def station(command: StationCommand) -> CommandResult:
        received.append(command)
        return CommandResult("Accepted", "started")

    first.register("CP-1", station)
    await until(lambda: second.is_connected("CP-1"))
    assert await present(runtime) == {"CP-1": "node-a"}
    assert await second.send("CP-1", START) == CommandResult("Accepted", "started")
    assert received == [START]
    assert await first.send("CP-1", START) == CommandResult("Accepted", "started")  # at home


async def test_the_holders_errors_and_silence_come_back(
    nodes: tuple[PostgresCommandBus, PostgresCommandBus],
) -> None:
    first, second = nodes
    never = asyncio.Event()

    async def refusing(command: StationCommand) -> CommandResult:
        raise ConflictError("the connector is faulted", code="connector_faulted")

    async def silent(command: StationCommand) -> CommandResult:
        await never.wait()
        raise AssertionError("unreachable")

    first.register("CP-REFUSES", refusing)
    first.register("CP-SILENT", silent)
    await until(lambda: second.is_connected("CP-REFUSES") and second.is_connected("CP-SILENT"))
    with pytest.raises(ConflictError) as refused:
        await second.send("CP-REFUSES", START)
    assert refused.value.code == "connector_faulted"
    with pytest.raises(ConflictError) as timed_out:
        await second.send("CP-SILENT", START, wait_seconds=0.2)  # it never answers
    assert timed_out.value.code == "station_timeout"
    with pytest.raises(ConflictError) as offline:
        await second.send("CP-NOWHERE", START)
    assert offline.value.code == "station_offline"


async def test_a_station_that_moved_on_keeps_the_newer_node(
    nodes: tuple[PostgresCommandBus, PostgresCommandBus], runtime: Runtime
) -> None:
    first, second = nodes

    async def old_link(command: StationCommand) -> CommandResult:
        return CommandResult("Accepted", "old")

    async def new_link(command: StationCommand) -> CommandResult:
        return CommandResult("Accepted", "new")

    first.register("CP-2", old_link)
    await until(lambda: second.is_connected("CP-2"))
    second.register("CP-2", new_link)  # it reconnected to the other node
    await until(lambda: first._elsewhere.get("CP-2") == "node-b")
    first.unregister("CP-2", old_link)  # the old link closes after
    await until(lambda: first._changes.empty())
    await first.beat()  # a round trip after the queued change was written
    assert await present(runtime) == {"CP-2": "node-b"}
    assert (await first.send("CP-2", START)).detail == "new"
    second.unregister("CP-2", new_link)
    await until(lambda: not first.is_connected("CP-2"))
    assert await present(runtime) == {}


async def test_a_node_that_dies_loses_its_stations(
    nodes: tuple[PostgresCommandBus, PostgresCommandBus], database: tuple[str, str | None]
) -> None:
    dying, survivor = nodes
    url, schema = database

    async def station(command: StationCommand) -> CommandResult:
        return CommandResult("Accepted")

    dying.register("CP-3", station)
    await until(lambda: survivor.is_connected("CP-3"))
    # SIGKILL: its connections end, nothing is cleaned up; then time passes.
    for task in dying._tasks:
        task.cancel()
    assert dying._worker is not None
    assert dying._listener is not None
    pids = [dying._worker.get_server_pid(), dying._listener.get_server_pid()]
    admin = create_engine(url, schema=schema)
    async with admin.begin() as connection:
        await connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(:p)"),
            {"p": pids},
        )
        await connection.execute(
            text("UPDATE cluster_nodes SET seen_at = now() - interval '1 hour' WHERE node = :n"),
            {"n": dying.node},
        )
    await admin.dispose()
    assert await survivor.beat() == ["CP-3"]
    await until(lambda: not survivor.is_connected("CP-3"))
    with pytest.raises(ConflictError) as offline:
        await survivor.send("CP-3", START)
    assert offline.value.code == "station_offline"


async def test_a_node_taken_for_dead_while_alive_comes_back_with_its_stations(
    nodes: tuple[PostgresCommandBus, PostgresCommandBus], runtime: Runtime
) -> None:
    """Its beats failed for a while (a stalled process, a lost route to the database): the
    others removed it and its stations; its next beat brings both back."""
    stalled, other = nodes

    async def station(command: StationCommand) -> CommandResult:
        return CommandResult("Accepted")

    stalled.register("CP-4", station)
    await until(lambda: other.is_connected("CP-4"))
    async with runtime._factory.engine.begin() as connection:
        await connection.execute(
            text("UPDATE cluster_nodes SET seen_at = now() - interval '1 hour' WHERE node = :n"),
            {"n": stalled.node},
        )
    assert await other.beat() == ["CP-4"]
    await until(lambda: not other.is_connected("CP-4"))
    assert await stalled.beat() == []
    await until(lambda: other.is_connected("CP-4"))
    assert await present(runtime) == {"CP-4": stalled.node}
    assert await other.send("CP-4", START) == CommandResult("Accepted")


async def test_a_storm_of_connections_is_written_and_announced_in_batches(
    nodes: tuple[PostgresCommandBus, PostgresCommandBus], runtime: Runtime
) -> None:
    """After a restart thousands of stations connect at once: their presence is written
    together and announced in notifications small enough for PostgreSQL (8,000 bytes)."""
    first, second = nodes
    names = [f"CP-STORM-{n:04d}-{'x' * 40}" for n in range(300)]  # long ids, as some vendors'

    async def station(command: StationCommand) -> CommandResult:
        return CommandResult("Accepted")

    for name in names:
        first.register(name, station)
    await until(lambda: all(second.is_connected(name) for name in names))
    assert set(await present(runtime)) == set(names)
    for name in names:
        first.unregister(name, station)
    await until(lambda: not any(second.is_connected(name) for name in names))
    assert await present(runtime) == {}


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("postgres://u@db/cl", PostgresCommandBus),
        ("postgresql://u@db/cl", PostgresCommandBus),
        ("postgresql+asyncpg://u@db/cl", PostgresCommandBus),
        ("sqlite+aiosqlite:///cl.sqlite3", InProcessCommandBus),
    ],
)
def test_the_bus_follows_the_database(url: str, kind: type) -> None:
    """Every spelling of a PostgreSQL URL joins the cluster; SQLite is one process."""
    assert type(command_bus(url)) is kind
