"""Captured sessions for the billing bench's real path (issue 17): sessions as the OCPP edge
stores them (completed, under a stored tariff, with register samples every 15 minutes and
the charging/idle state changes), written in bulk so that only their charging is timed.

The charging itself runs through ``charge_completed_sessions``, the use case behind
``chargeledger invoice charge`` and the first step of every invoice run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pricing import tariff
from sqlalchemy import insert

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.repositories.charging import SqlSessionRepository
from chargeledger.adapters.db.tables import meter_samples, session_state_changes, sessions
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account
from chargeledger.domain.charging import ChargingState, Measurand, Session, SessionStatus
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariffs.assignment import StoredTariff

BATCH = 2000
SAMPLE_EVERY = timedelta(minutes=15)


async def stored_tariff(runtime: Runtime, at: datetime) -> uuid.UUID:
    """The bench's time-of-use tariff as a stored version every session starts under."""
    version = StoredTariff(id=uuid.uuid4(), tariff=tariff(), created_at=at)
    async with runtime.uow() as uow:
        await uow.tariffs.add(version)
        await uow.commit()
    return version.id


def _session_rows(
    index: int,
    rng: random.Random,
    station_id: uuid.UUID,
    tariff_id: uuid.UUID,
    owner: Account,
    at: datetime,
) -> tuple[dict[str, object], list[dict[str, object]], list[dict[str, object]]]:
    start = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(minutes=rng.randrange(27 * 24 * 60))
    charging = timedelta(minutes=rng.randint(20, 180))
    idle = timedelta(minutes=rng.choice([0, 0, 0, rng.randint(5, 40)]))
    stop = start + charging + idle
    kw = Decimal(rng.choice([7, 11, 22, 50]))
    begin_wh = Decimal(rng.randrange(1_000_000))
    readings = []
    moment = start
    while moment < start + charging:
        readings.append(moment)
        moment += SAMPLE_EVERY
    readings.append(start + charging)
    if idle:
        readings.append(stop)

    def wh_at(moment: datetime) -> Decimal:
        seconds = Decimal(int((min(moment, start + charging) - start).total_seconds()))
        return begin_wh + (kw * 1000 * seconds / 3600).quantize(Decimal(1))

    session = Session(
        station_id=station_id,
        evse_id=1,
        transaction_ref=f"cap-{index}",
        ocpp_version="2.0.1",
        started_at=start,
        meter_start_wh=begin_wh,
        account_id=owner.id,
        payment_route=PaymentRoute.INVOICE,  # postpaid owners
        status=SessionStatus.COMPLETED,
        stopped_at=stop,
        meter_stop_wh=wh_at(stop),
        tariff_id=tariff_id,
        created_at=at,
        updated_at=at,
    )
    samples = [
        {
            "session_id": session.id,
            "timestamp": moment,
            "measurand": Measurand.ENERGY_IMPORT_REGISTER.value,
            "value": wh_at(moment),
            "unit": "Wh",
            "context": "Sample.Periodic",
            "phase": "",
            "location": "",
        }
        for moment in readings
    ]
    changes = [{"session_id": session.id, "timestamp": start, "state": ChargingState.CHARGING}]
    if idle:
        changes.append(
            {"session_id": session.id, "timestamp": start + charging, "state": ChargingState.IDLE}
        )
    return SessionRepositoryRows.to_row(session), samples, changes


class SessionRepositoryRows:
    """The session row exactly as the session repository writes it."""

    to_row = SqlSessionRepository(None).to_row  # type: ignore[arg-type]


async def capture(
    engine_url: str,
    schema: str | None,
    count: int,
    station_id: uuid.UUID,
    tariff_id: uuid.UUID,
    owners: Sequence[Account],
    at: datetime,
) -> int:
    """Store ``count`` completed sessions with their samples; returns the samples stored."""
    rng = random.Random(17)
    engine = create_engine(engine_url, schema=schema)
    stored = 0
    try:
        for offset in range(0, count, BATCH):
            rows, samples, changes = [], [], []
            for index in range(offset, min(count, offset + BATCH)):
                row, its_samples, its_changes = _session_rows(
                    index, rng, station_id, tariff_id, owners[index % len(owners)], at
                )
                rows.append(row)
                samples += its_samples
                changes += its_changes
            async with engine.begin() as connection:
                await connection.execute(insert(sessions), rows)
                await connection.execute(insert(meter_samples), samples)
                await connection.execute(insert(session_state_changes), changes)
            stored += len(samples)
            print(f"\r    captured {offset + len(rows):,}/{count:,}", end="", flush=True)
    finally:
        await engine.dispose()
    print()
    return stored
