"""Alembic migrations against real SQLite and PostgreSQL.

``tables.py`` says "Alembic migrations must match these; a test checks": this is that test.
A migration that drifts from the models would make the repositories write into columns that
do not exist (or miss a unique key that the stable duplicate codes rely on) only in
production, where the schema comes from migrations rather than ``metadata.create_all``.
"""

from __future__ import annotations

import asyncio
import uuid
import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db import schema as db_schema
from chargeledger.adapters.db.migrate import alembic_config, current_revision, head_revision
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.charging import Measurand, MeterSample
from tests.conftest import fast_hasher


def engine_of(runtime: Runtime) -> AsyncEngine:
    return runtime._factory.engine


def schema_diff(connection: Connection, metadata: MetaData) -> list[Any]:
    """Autogenerate's view of what ``metadata`` has that the database lacks (or vice versa).

    ``include_schemas=False`` keeps the comparison to the connection's default schema, which
    on PostgreSQL is the test's own schema (the runtime's search_path); other schemas on the
    shared server are never looked at. ``compare_type`` makes column types count too. SQLite
    cannot reflect an index on expressions (``ix_sites_position``): SQLAlchemy and Alembic skip
    it with a warning, silenced here; PostgreSQL compares it.
    """
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_schemas": False, "target_metadata": metadata},
    )
    with warnings.catch_warnings():
        if connection.dialect.name == "sqlite":
            warnings.filterwarnings("ignore", message=".*expression-based index")
        return list(compare_metadata(context, metadata))


def metadata_copy() -> MetaData:
    copy = MetaData(naming_convention=db_schema.metadata.naming_convention)
    for table in db_schema.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


async def diff_against(runtime: Runtime, metadata: MetaData) -> list[Any]:
    async with engine_of(runtime).connect() as connection:
        return await connection.run_sync(schema_diff, metadata)


async def table_names(runtime: Runtime) -> set[str]:
    async with engine_of(runtime).connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


def test_there_is_exactly_one_head() -> None:
    """Two heads (two branches that were never merged) would make ``upgrade head`` fail."""
    assert head_revision() is not None


async def test_upgrade_of_an_empty_database_reaches_head(empty_runtime: Runtime) -> None:
    assert await current_revision(engine_of(empty_runtime)) is None
    before, after = await empty_runtime.migrate()
    assert before is None
    assert after == head_revision()
    assert await current_revision(engine_of(empty_runtime)) == head_revision()
    assert set(db_schema.metadata.tables) <= await table_names(empty_runtime)


async def test_upgrading_again_is_a_no_op(empty_runtime: Runtime) -> None:
    """``serve`` migrates on every start; a second run must neither fail nor touch data."""
    await empty_runtime.migrate()
    async with engine_of(empty_runtime).begin() as connection:
        await connection.execute(
            db_schema.tables.api_keys.insert().values(
                id=uuid.uuid4(),
                name="kept",
                prefix="keep0001",
                secret_hash="0" * 64,
                scopes=["catalog:read"],
                created_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )
    names = await table_names(empty_runtime)

    before, after = await empty_runtime.migrate()

    assert before == after == head_revision()
    assert await table_names(empty_runtime) == names
    async with engine_of(empty_runtime).connect() as connection:
        kept = await connection.scalar(
            text("SELECT count(*) FROM api_keys WHERE prefix = 'keep0001'")
        )
    assert kept == 1
    assert await diff_against(empty_runtime, db_schema.metadata) == []


async def test_nodes_started_together_migrate_one_after_another(
    empty_runtime: Runtime, database: tuple[str, str | None], tmp_path: Path
) -> None:
    """Several ``serve`` nodes started at once on one empty database (issue 18; on SQLite
    the same file's writers take turns anyway): each start succeeds and the database is at
    head once, not half-migrated twice."""
    url, schema = database
    others = [
        build_runtime(
            Settings.from_env(
                {
                    "CHARGELEDGER_DATA_DIR": str(tmp_path / f"node-{n}"),
                    "CHARGELEDGER_DATABASE_URL": url,
                }
            ),
            schema=schema,
            hasher=fast_hasher(),
        )
        for n in range(2)
    ]
    try:
        results = await asyncio.gather(
            empty_runtime.migrate(), *(other.migrate() for other in others)
        )
    finally:
        for other in others:
            await other.aclose()
    assert [after for _, after in results] == [head_revision()] * 3
    assert await diff_against(empty_runtime, db_schema.metadata) == []


async def test_migrated_schema_matches_the_models(empty_runtime: Runtime) -> None:
    await empty_runtime.migrate()
    assert await diff_against(empty_runtime, db_schema.metadata) == []


async def test_the_comparison_sees_a_missing_table(empty_runtime: Runtime) -> None:
    """Guard against a vacuous pass: before migrating, every model table is reported."""
    diff = await diff_against(empty_runtime, db_schema.metadata)
    added = {entry[1].name for entry in diff if entry[0] == "add_table"}
    assert added == set(db_schema.metadata.tables)


async def test_the_comparison_sees_an_extra_column(empty_runtime: Runtime) -> None:
    """Guard against a vacuous pass: one column more in the models is a non-empty diff."""
    await empty_runtime.migrate()
    changed = metadata_copy()
    changed.tables["sites"].append_column(Column("extra_flag", Integer))
    diff = await diff_against(empty_runtime, changed)
    assert [(entry[0], entry[2], entry[3].name) for entry in diff] == [
        ("add_column", "sites", "extra_flag")
    ]


async def test_the_comparison_sees_a_changed_column_type(empty_runtime: Runtime) -> None:
    """Types count: a wider column in the models than in the migration is drift."""
    await empty_runtime.migrate()
    changed = metadata_copy()
    changed.tables["stations"].c.vendor.type = String(60)
    diff = await diff_against(empty_runtime, changed)
    assert len(diff) == 1
    (operation,) = diff[0]
    assert operation[0] == "modify_type"
    assert operation[2:4] == ("stations", "vendor")


async def test_the_comparison_sees_a_missing_unique_key(empty_runtime: Runtime) -> None:
    """Unique keys count: the stable duplicate codes depend on their names."""
    await empty_runtime.migrate()
    changed = metadata_copy()
    station_table = changed.tables["stations"]
    unique = next(c for c in station_table.constraints if c.name == "uq_stations_charge_point_id")
    station_table.constraints.remove(unique)
    diff = await diff_against(empty_runtime, changed)
    assert [(entry[0], entry[1].name) for entry in diff] == [
        ("remove_constraint", "uq_stations_charge_point_id")
    ]


async def test_the_comparison_sees_an_extra_table(empty_runtime: Runtime) -> None:
    await empty_runtime.migrate()
    changed = metadata_copy()
    Table("extra_things", changed, Column("id", Integer, primary_key=True))
    diff = await diff_against(empty_runtime, changed)
    assert [(entry[0], entry[1].name) for entry in diff] == [("add_table", "extra_things")]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_comparison_stays_in_the_test_schema(
    empty_runtime: Runtime, database: tuple[str, str | None]
) -> None:
    """The PostgreSQL server is shared: other schemas (other test runs, ``public``) hold
    tables with the same names. The migration and the comparison must both see only this
    test's schema, or the diff would be empty (or full) for the wrong reason."""
    _, schema = database
    assert schema is not None
    await empty_runtime.migrate()
    async with engine_of(empty_runtime).connect() as connection:
        assert await connection.scalar(text("SELECT current_schema()")) == schema
        located = await connection.scalar(
            text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_name = 'alembic_version' AND table_schema = :schema"
            ),
            {"schema": schema},
        )
        assert located == 1
        # A look-alike schema next to ours, with a table the models do not have and without
        # one they do, must not leak into the comparison.
        decoy = schema + "_decoy"
        await connection.execute(text(f'CREATE SCHEMA "{decoy}"'))
        try:
            await connection.execute(text(f'CREATE TABLE "{decoy}".unrelated (id integer)'))
            await connection.commit()
            diff = await connection.run_sync(schema_diff, db_schema.metadata)
        finally:
            await connection.rollback()
            await connection.execute(text(f'DROP SCHEMA "{decoy}" CASCADE'))
            await connection.commit()
    assert diff == []


async def test_downgrade_to_base_and_back(empty_runtime: Runtime) -> None:
    """A migration that cannot be undone blocks a rollback of a bad release."""
    await empty_runtime.migrate()

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "base")

    async with engine_of(empty_runtime).begin() as connection:
        await connection.run_sync(downgrade)
    assert await current_revision(engine_of(empty_runtime)) is None
    assert not (await table_names(empty_runtime)) & set(db_schema.metadata.tables)

    before, after = await empty_runtime.migrate()
    assert (before, after) == (None, head_revision())
    assert await diff_against(empty_runtime, db_schema.metadata) == []


async def test_stored_ocpp_answers_move_into_the_first_boot_epoch(empty_runtime: Runtime) -> None:
    """Revision 0009 scopes stored OCPP answers to the station's boot: answers stored before
    it belong to epoch 0 (every station's epoch until its next BootNotification), so a repeat
    of a message sent just before the upgrade still gets its stored answer; the same message
    id may then be stored again for a later boot."""

    def upgrade_to(revision: str) -> Any:
        def run(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), revision)

        return run

    engine = engine_of(empty_runtime)
    async with engine.begin() as connection:
        await connection.run_sync(upgrade_to("0006"))
        await connection.execute(
            text(
                "INSERT INTO ocpp_messages (charge_point_id, message_id, action, request_hash,"
                " response, received_at) VALUES ('CP-1', '17', 'Heartbeat', :hash, '[3]', :at)"
            ),
            {"hash": "0" * 64, "at": datetime(2030, 1, 1, tzinfo=UTC)},
        )
    await empty_runtime.migrate()

    async with empty_runtime.uow() as uow:
        kept = await uow.station_links.stored_reply("CP-1", 0, "17")
        assert kept is not None
        assert kept.response == "[3]"
        assert await uow.station_links.stored_reply("CP-1", 1, "17") is None
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO ocpp_messages (charge_point_id, boot_epoch, message_id, action,"
                " request_hash, response, received_at)"
                " VALUES ('CP-1', 1, '17', 'Heartbeat', :hash, '[3, 1]', :at)"
            ),
            {"hash": "1" * 64, "at": datetime(2030, 1, 2, tzinfo=UTC)},
        )
        key = await connection.run_sync(
            lambda sync: inspect(sync).get_pk_constraint("ocpp_messages")
        )
    assert key["constrained_columns"] == ["charge_point_id", "boot_epoch", "message_id"]
    assert await diff_against(empty_runtime, db_schema.metadata) == []


async def test_0016_keeps_the_sessions_samples_and_charges_of_a_populated_database(
    runtime: Runtime,
) -> None:
    """Revision 0016 adds columns to ``sessions``, ``invoices`` and ``invoice_lines`` of a
    database in use: in place, on both back ends. (SQLite's copy-and-move of ``sessions``
    would delete every meter sample through their cascading foreign key, and fail on the
    charges that reference the sessions.) Down to 0015 and up again, nothing is lost."""
    from tests.integration.billing_world import ChargeSpec, book_charges, new_world, utc

    world = await new_world(runtime, utc("2026-02-02T08:00"))
    spec = ChargeSpec(world.de, None, utc("2026-01-05T08:00"), {"Energy": "5.00"})
    booked = await book_charges(runtime, world.clock, {"s": spec})
    session_id = booked["s"].session_id
    async with runtime.uow() as uow:
        await uow.sessions.add_samples(
            session_id,
            [
                MeterSample(
                    timestamp=utc("2026-01-05T08:10"),
                    measurand=Measurand.ENERGY_IMPORT_REGISTER,
                    value=Decimal(2000),
                    unit="Wh",
                )
            ],
        )
        await uow.commit()

    async def counts() -> tuple[int, int, int]:
        async with engine_of(runtime).connect() as connection:
            found = []
            for table in ("sessions", "meter_samples", "charges"):
                result = await connection.execute(text(f"SELECT count(*) FROM {table}"))
                found.append(int(result.scalar_one()))
        return found[0], found[1], found[2]

    before = await counts()
    assert before == (1, 1, 1)

    def down_to_0015(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0015")

    async with engine_of(runtime).begin() as connection:
        await connection.run_sync(down_to_0015)
    assert await counts() == before
    await runtime.migrate()
    assert await counts() == before
    assert await diff_against(runtime, db_schema.metadata) == []
