"""The meter keys a station's configuration states, asked for when it boots (issue 15): which
EVSEs to ask about, and recording what the station answered as reported keys
(``domain/configured_keys.py`` decides what changes; nothing here is ever trusted).

None of them commits: the code that opened the unit of work does (DESIGN §3).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from chargeledger.domain.configured_keys import (
    ConfigurationChanges,
    KeyReading,
    configuration_changes,
    configured_keys,
    configured_meter_key,
)
from chargeledger.errors import NotFoundError
from chargeledger.services.ports import Clock, UnitOfWork

MAX_EVSES_ASKED = 32  # a station with more EVSEs is asked about its first 32


async def meter_key_places_of(
    uow: UnitOfWork, station_ids: Sequence[uuid.UUID]
) -> list[tuple[int, ...]]:
    """The EVSE ids to ask each booting station of ``station_ids`` for keys, in their order,
    in one read (the boots of a reconnect storm): the catalog's EVSEs of the station (OCPP 1.6
    addresses them as connectors, ``MeterPublicKey<id>``), or EVSE 1 when the catalog lists
    none yet (the note §3.3.1: a single-connector station always has ``MeterPublicKey1``)."""
    found = await uow.evses.evse_ids(set(station_ids), MAX_EVSES_ASKED)
    return [tuple(found.get(station_id, ())) or (1,) for station_id in station_ids]


async def record_configured_keys(
    uow: UnitOfWork,
    clock: Clock,
    station_id: uuid.UUID,
    readings: Sequence[KeyReading],
    boot_serial: str | None = None,
) -> ConfigurationChanges:
    """Record the keys of ``readings`` as the station's report (source ``station_config``):
    a key already known adds nothing, a key no longer stated where it was is retired from now
    on. ``boot_serial`` is the meter serial the station sent with this boot (1.6
    ``meterSerialNumber``); the catalog's meter serial stands in when it sent none."""
    station = await uow.stations.get(station_id)
    if station is None:
        raise NotFoundError("station not found", code="station_not_found")
    # Two reads of one station at once (a reconnect racing the last boot's read) must not
    # both add the same key.
    await uow.ledger.hold_account(f"meter-keys:{station_id}:configuration")
    configured = configured_keys(readings, boot_serial or station.meter_serial)
    changes = configuration_changes(configured, await uow.meter_keys.of_station(station_id))
    now = clock.now()
    for retired in changes.retired:
        await uow.meter_keys.retire(retired.id, now)
    for added in changes.added:
        await uow.meter_keys.add(configured_meter_key(added, station_id, now))
    return changes
