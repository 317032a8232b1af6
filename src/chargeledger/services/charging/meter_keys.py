"""The meter key registry's use cases (issue 15): register a meter's key (a new key retires
the previous one, history kept), list a station's keys, find the key in force for a reading,
record a key a station reported that the registry lacks (shown, never trusted), and confirm a
reported key as the operator's after checking it against the type plate. Keys a station's
configuration states are recorded by ``configured_keys.py``.

None of them commits: the entry point that opened the unit of work does (DESIGN §3).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from chargeledger.domain.meter_keys import (
    KeySource,
    MeterKey,
    key_at,
    new_meter_key,
    reported_key_at,
    retired_by,
)
from chargeledger.domain.ocmf import OcmfError
from chargeledger.domain.ocmf_keys import read_public_key
from chargeledger.domain.text import optional_text
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
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
    existing = await uow.meter_keys.of_meter(station_id, new.meter_serial or "")
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


async def reported_key_for(
    uow: UnitOfWork, station_id: uuid.UUID, meter_serial: str, at: datetime
) -> MeterKey | None:
    """The key the station last reported for the meter and had not withdrawn at ``at``: what
    a record without a carried key is compared with, for an answer that stays unconfirmed."""
    return reported_key_at(
        await uow.meter_keys.of_meter(station_id, meter_serial), meter_serial, at
    )


async def confirm_meter_key(
    uow: UnitOfWork,
    clock: Clock,
    station_id: uuid.UUID,
    key_id: uuid.UUID,
    *,
    meter_serial: str | None = None,
    valid_from: datetime | None = None,
    note: str | None = None,
) -> MeterKey:
    """Promote a key the station reported to the operator's (``register_meter_key``), once the
    operator has checked it against the meter's type plate (notes §4.1: only a key known from
    elsewhere than the station confirms a signature). ``meter_serial`` names the meter when
    the report did not (a key filed under its EVSE) and must agree with it when it did;
    ``valid_from`` defaults to when the station first reported the key (pass the meter's
    commissioning to cover records signed before). The reported record stays as it was.
    Confirming again returns the operator's key already in force."""
    await _station_exists(uow, station_id)
    reported = await uow.meter_keys.get(key_id)
    if reported is None or reported.station_id != station_id:
        raise NotFoundError("meter key not found", code="meter_key_not_found")
    if not reported.source.reported:
        raise ConflictError(
            "this key is the operator's already; only a reported key is confirmed",
            code="meter_key_not_reported",
        )
    if reported.retired_at is not None:
        raise ConflictError(
            "the station no longer reports this key (retired); register it with its "
            "validity instead",
            code="meter_key_retired",
        )
    serial = optional_text(meter_serial, "meter_serial", 64)
    if serial is not None and reported.meter_serial and serial != reported.meter_serial:
        raise InvalidInputError(
            f"the station reported this key for meter {reported.meter_serial}, not {serial}",
            code="meter_serial_mismatch",
            field="meter_serial",
        )
    serial = serial or reported.meter_serial
    if serial is None:
        raise InvalidInputError(
            "the station did not name this key's meter: give the serial from the type plate",
            code="meter_serial_required",
            field="meter_serial",
        )
    return await register_meter_key(
        uow,
        clock,
        station_id,
        meter_serial=serial,
        public_key=reported.public_key,
        evse_id=reported.evse_id,
        valid_from=valid_from or reported.valid_from,
        note=note or f"confirmed from the key the station reported ({reported.source.value})",
    )


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
