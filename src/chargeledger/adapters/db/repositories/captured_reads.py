"""What charging a batch of captured sessions reads, in set queries (issue 17,
``services.billing.charging_ports.CapturedBatch``): one query per table for the whole
batch (in ``IN`` lists of :data:`~.base.CHUNK` ids) instead of ~8 reads per session.

Rows are turned into domain objects by the repositories that own the tables, so a session,
a sample or a tariff reads exactly as it does one at a time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import charges
from chargeledger.adapters.db.repositories.base import TableRepository, chunks
from chargeledger.adapters.db.repositories.catalog import SqlSiteRepository, SqlStationRepository
from chargeledger.adapters.db.repositories.charging import SqlSessionRepository
from chargeledger.adapters.db.repositories.customers import SqlAccountRepository
from chargeledger.adapters.db.repositories.meter_rows import sample_of
from chargeledger.adapters.db.repositories.reservations import SqlReservationRepository
from chargeledger.adapters.db.repositories.tariffs import SqlTariffRepository
from chargeledger.adapters.db.reservation_tables import reservations
from chargeledger.adapters.db.tables import meter_samples, session_state_changes
from chargeledger.domain.charging import (
    ChargingState,
    MeterSample,
    StateChange,
)
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.services.billing.charging_ports import CapturedBatch


async def _rows(connection: AsyncConnection, query: Any, column: Any, ids: Collection[Any]) -> Any:
    """The rows of ``query`` whose ``column`` is one of ``ids``, chunk by chunk."""
    for chunk in chunks(ids):
        result = await connection.execute(query.where(column.in_(chunk)))
        for row in result.mappings():
            yield row


async def _by_id(
    repository: TableRepository[Any], ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    return {e.id: e for e in await repository.get_many(ids)} if ids else {}


async def _samples(
    connection: AsyncConnection, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[MeterSample]]:
    """Each session's samples in the order ``SqlSessionRepository.samples`` gives them."""
    found: dict[uuid.UUID, list[MeterSample]] = defaultdict(list)
    query = select(meter_samples).order_by(
        meter_samples.c.session_id, meter_samples.c.timestamp, meter_samples.c.id
    )
    async for row in _rows(connection, query, meter_samples.c.session_id, session_ids):
        found[row["session_id"]].append(sample_of(row))
    return found


async def _changes(
    connection: AsyncConnection, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[StateChange]]:
    found: dict[uuid.UUID, list[StateChange]] = defaultdict(list)
    c = session_state_changes.c
    query = select(session_state_changes).order_by(c.session_id, c.timestamp)
    async for row in _rows(connection, query, c.session_id, session_ids):
        found[row["session_id"]].append(
            StateChange(timestamp=row["timestamp"], state=ChargingState(row["state"]))
        )
    return found


async def captured_batch(
    connection: AsyncConnection,
    session_ids: Sequence[uuid.UUID],
    known_tariffs: Mapping[uuid.UUID, StoredTariff],
) -> CapturedBatch:
    """The sessions of ``session_ids`` and what pricing them reads; tariff versions in
    ``known_tariffs`` are not read again (a version never changes)."""
    sessions = await _by_id(SqlSessionRepository(connection), set(session_ids))
    ids = set(sessions)
    charged: set[uuid.UUID] = set()
    async for row in _rows(connection, select(charges.c.session_id), charges.c.session_id, ids):
        charged.add(row["session_id"])
    pending = ids - charged
    reservation_rows = SqlReservationRepository(connection)
    used = {}
    query = select(reservations)
    async for row in _rows(connection, query, reservations.c.session_id, pending):
        used[row["session_id"]] = reservation_rows.from_row(row)
    wanted = [sessions[i] for i in pending]
    tariff_ids = {s.tariff_id for s in wanted if s.tariff_id is not None}
    tariffs = {i: known_tariffs[i] for i in tariff_ids if i in known_tariffs}
    tariffs |= await _by_id(SqlTariffRepository(connection), tariff_ids - set(tariffs))
    stations = await _by_id(SqlStationRepository(connection), {s.station_id for s in wanted})
    sites = await _by_id(SqlSiteRepository(connection), {s.site_id for s in stations.values()})
    account_ids = {s.account_id for s in wanted if s.account_id is not None}
    return CapturedBatch(
        sessions=sessions,
        charged=frozenset(charged),
        samples=await _samples(connection, pending),
        changes=await _changes(connection, pending),
        reservations=used,
        tariffs=tariffs,
        stations=stations,
        sites=sites,
        accounts=await _by_id(SqlAccountRepository(connection), account_ids),
    )
