"""The meter key registry's use cases (issue 15): register a meter's key (a new key retires
the previous one, history kept), list a station's keys, find the key in force for a reading,
and record a key a station reported that the registry lacks (shown, never trusted).

None of them commits: the entry point that opened the unit of work does (DESIGN §3).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from chargeledger.domain.meter_keys import KeySource, MeterKey, key_at, new_meter_key, retired_by
from chargeledger.domain.ocmf import OcmfError
from chargeledger.domain.ocmf_keys import read_public_key
from chargeledger.errors import NotFoundError
from chargeledger.services.ports import Clock, UnitOfWork


async def register_meter_key(
    uow: UnitOfWork,
    clock: Clock,
    station_id: uuid.UUID,
    *,
    meter_serial: str,
    public_key: str,
    evse_id: int | None = None,
    valid_from: datetime | None = None,
    note: str | None = None,
    curve: str | None = None,
) -> MeterKey:
    """The operator's key of a meter (type plate, manufacturer's list). Registering the key
    already in force again changes nothing; another key retires it from ``valid_from`` on."""
    await _station_exists(uow, station_id)
    now = clock.now()
    # Two registrations for one meter at once must not both stay in force: hold the meter.
    await uow.ledger.hold_account(f"meter-keys:{station_id}:{meter_serial.strip()}")
    new = new_meter_key(
        station_id=station_id,
        meter_serial=meter_serial,
        public_key=public_key,
        source=KeySource.OPERATOR,
        valid_from=valid_from or now,
        now=now,
        evse_id=evse_id,
        note=note,
        curve=curve,
    )
    existing = await uow.meter_keys.of_meter(station_id, new.meter_serial)
    for key in existing:
        in_force = key.source is KeySource.OPERATOR and key.retired_at is None
        if in_force and key.public_key == new.public_key:
            return key
    for retired in retired_by(new, existing):
        await uow.meter_keys.retire(retired.id, retired.retired_at or new.valid_from)
    await uow.meter_keys.add(new)
    return new


async def meter_keys_of(uow: UnitOfWork, station_id: uuid.UUID) -> list[MeterKey]:
    """Every key of the station's meters, the operator's and the reported, with history."""
    await _station_exists(uow, station_id)
    return await uow.meter_keys.of_station(station_id)


async def key_for(
    uow: UnitOfWork, station_id: uuid.UUID, meter_serial: str, at: datetime
) -> MeterKey | None:
    """The operator's key of the meter in force at ``at``, or None (cannot confirm)."""
    return key_at(await uow.meter_keys.of_meter(station_id, meter_serial), meter_serial, at)


async def note_reported_key(
    uow: UnitOfWork,
    clock: Clock,
    station_id: uuid.UUID,
    meter_serial: str | None,
    public_key: str | None,
    curve: str | None,
) -> MeterKey | None:
    """Record a key the station sent with signed data when the registry has no entry with it
    (source ``station``: reported, not trusted; notes §4.1). Unreadable keys are left in the
    signed value itself, where the verdict shows them as ``malformed``."""
    if not meter_serial or not public_key:
        return None
    try:
        normalised = read_public_key(public_key, curve)
    except OcmfError:
        return None
    if normalised.curve is None:
        return None
    known = await uow.meter_keys.of_meter(station_id, meter_serial[:64])
    if any(key.public_key == normalised.spki_hex for key in known):
        return None
    now = clock.now()
    reported = new_meter_key(
        station_id=station_id,
        meter_serial=meter_serial[:64],
        public_key=normalised.spki_hex,
        source=KeySource.STATION,
        valid_from=now,
        now=now,
        note="reported by the station with signed meter data",
    )
    await uow.meter_keys.add(reported)
    return reported


async def _station_exists(uow: UnitOfWork, station_id: uuid.UUID) -> None:
    if await uow.stations.get(station_id) is None:
        raise NotFoundError("station not found", code="station_not_found")
