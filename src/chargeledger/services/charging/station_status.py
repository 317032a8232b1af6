"""The link state of stations: connected, booted, last heartbeat; what the operator sees.

Like every service, these are handed an open unit of work and never commit it (DESIGN §3):
the OCPP edge commits a CALL's effects with its stored answer, the connection's own
records and the periodic jobs run through ``services.transactions.in_transaction``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import ChargingState
from chargeledger.domain.station_link import ConnectorState, StationState
from chargeledger.errors import InvalidInputError
from chargeledger.services.catalog import get_station
from chargeledger.services.charging.session_capture import record_state
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.roaming.notices import (
    announce_location_changes,
    announce_status_change,
)
from chargeledger.services.roaming.station_view import RoamingView


async def _current(uow: UnitOfWork, clock: Clock, station: Station) -> StationState:
    state = await uow.station_links.state(station.id)
    return state or StationState(station_id=station.id, connected=True, updated_at=clock.now())


async def record_connected(
    uow: UnitOfWork, clock: Clock, station: Station, version: str, connection_id: str
) -> int:
    """The station is connected over ``connection_id``, which from now on is the only one
    that may record its disconnection. Returns the station's boot epoch, the scope of the
    answers its repeated messages get (see ``stations/link.py``)."""
    now = clock.now()
    state = await _current(uow, clock, station)
    await uow.station_links.save_state(
        dataclasses.replace(
            state, connected=True, ocpp_version=version, last_seen_at=now, updated_at=now
        )
    )
    await uow.station_links.claim_connection(station.id, connection_id)
    return await uow.station_links.boot_epoch(station.id)


async def record_connections(
    uow: UnitOfWork,
    clock: Clock,
    connections: Sequence[tuple[Station, str, str]],
    roaming: RoamingView | None = None,
) -> list[int]:
    """:func:`record_connected` of each ``(station, version, connection id)``, in one batch
    (a reconnect storm: ``stations/connections.py``); their boot epochs, in their order.
    Each station appears once (its connecting and disconnecting take turns)."""
    now = clock.now()
    epochs = await uow.station_links.record_connections(
        [(station.id, version, connection_id) for station, version, connection_id in connections],
        now,
    )
    await announce_location_changes(
        uow, clock, [(s.id, "connected", now) for s, _, _ in connections]
    )
    return [epochs[station.id] for station, _, _ in connections]


async def record_disconnections(
    uow: UnitOfWork,
    clock: Clock,
    connections: Sequence[tuple[Station, str]],
    roaming: RoamingView | None = None,
) -> list[bool]:
    """:func:`record_disconnected` of each ``(station, connection id)``, in one transaction;
    roaming partners hear of the stations that went away (``roaming.notices``)."""
    done = [
        await record_disconnected(uow, clock, station, connection_id)
        for station, connection_id in connections
    ]
    now = clock.now()
    pairs = zip(connections, done, strict=True)
    gone = [(station.id, "disconnected", now) for (station, _), down in pairs if down]
    await announce_location_changes(uow, clock, gone, roaming)
    return done


async def record_disconnected(
    uow: UnitOfWork, clock: Clock, station: Station, connection_id: str
) -> bool:
    """False (and nothing changed) when a newer connection of the station has taken over."""
    return await uow.station_links.mark_disconnected(station.id, connection_id, clock.now())


async def forget_stored_replies(uow: UnitOfWork, clock: Clock, kept_for: timedelta) -> int:
    """Stored OCPP answers are replayed to repeated messages for a bounded time only: a
    station repeats a message when an answer got lost, within minutes, not days."""
    return await uow.station_links.forget_replies(clock.now() - kept_for)


async def record_boot(
    uow: UnitOfWork,
    clock: Clock,
    station: Station,
    version: str,
    firmware: str | None,
    meter_serial: str | None = None,
) -> int:
    """BootNotification (1.6 §4.2, 2.0.1 B01): the station (re)started, so a new boot epoch
    begins, which is returned. A 1.6 station's ``meterSerialNumber`` becomes its meter serial
    when the catalog names none (``_note_meter_serial``)."""
    if meter_serial:
        await _note_meter_serial(uow, clock, station.id, meter_serial)
    return await uow.station_links.record_boot(station.id, version, firmware or None, clock.now())


async def _note_meter_serial(
    uow: UnitOfWork, clock: Clock, station_id: uuid.UUID, meter_serial: str
) -> None:
    """OCPP 1.6 §4.2 BootNotification ``meterSerialNumber``: "the main electricity meter of
    the Charge Point", the ``MS`` its signed records should name (``domain/ocmf_session.py``).
    Kept when the catalog has no meter serial; an operator's entry is never overwritten, and a
    serial the catalog cannot hold is left out rather than refusing the boot."""
    current = await uow.stations.get(station_id)
    if current is None or current.meter_serial:
        return
    try:
        noted = dataclasses.replace(current, meter_serial=meter_serial, updated_at=clock.now())
    except InvalidInputError:
        return
    await uow.stations.update(noted)


async def record_heartbeat(uow: UnitOfWork, clock: Clock, station: Station) -> None:
    """Heartbeat (1.6 §4.6, 2.0.1 G02)."""
    now = clock.now()
    state = await _current(uow, clock, station)
    await uow.station_links.save_state(
        dataclasses.replace(
            state, connected=True, last_heartbeat_at=now, last_seen_at=now, updated_at=now
        )
    )


async def record_connector_status(
    uow: UnitOfWork,
    clock: Clock,
    station: Station,
    state: ConnectorState,
    charging: ChargingState | None = None,
    roaming: RoamingView | None = None,
) -> None:
    """StatusNotification (1.6 §4.9, 2.0.1 G01). In 1.6 the status also tells whether the
    open session on that connector charges or idles (``charging``). Roaming partners that
    take location pushes are told (OCPI 2.2.1 §8.2.2, ``roaming.notices``)."""
    await uow.station_links.save_connector(state)
    await announce_status_change(uow, clock, state, roaming)
    if charging is not None and state.evse_id > 0:
        session = await uow.sessions.open_on_evse(station.id, state.evse_id)
        if session is not None:
            await record_state(uow, session, state.status_at, charging)


async def record_clock_offset(
    uow: UnitOfWork, clock: Clock, station: Station, offset_seconds: int
) -> None:
    state = await _current(uow, clock, station)
    if state.clock_offset_seconds != offset_seconds:
        await uow.station_links.save_state(
            dataclasses.replace(state, clock_offset_seconds=offset_seconds)
        )


@dataclass(frozen=True, slots=True)
class StationStatus:
    station: Station
    state: StationState | None
    connectors: list[ConnectorState]
    live: bool


async def station_status_now(
    uow: UnitOfWork, station_id: uuid.UUID, is_connected: Callable[[str], bool]
) -> StationStatus:
    """The station's status, ``live`` when ``is_connected`` (the command bus) reaches it."""
    station = await get_station(uow, station_id)
    return (await station_statuses(uow, [station], is_connected))[0]


async def station_status(uow: UnitOfWork, station_id: uuid.UUID, live: bool) -> StationStatus:
    station = await get_station(uow, station_id)
    return StationStatus(
        station=station,
        state=await uow.station_links.state(station_id),
        connectors=await uow.station_links.connectors(station_id),
        live=live,
    )


async def station_statuses(
    uow: UnitOfWork, stations: Sequence[Station], is_connected: Callable[[str], bool]
) -> list[StationStatus]:
    """:func:`station_status` of each of ``stations`` (already read from the catalog), in
    their order, with two reads for all of them instead of three per station: the office's
    stations list and overview show every station of the network (issue 16: pages under
    200 ms on the demo database; a thousand stations made them 3,000 queries)."""
    ids = [station.id for station in stations]
    states = await uow.station_links.states_of(ids)
    connectors = await uow.station_links.connectors_of(ids)
    return [
        StationStatus(
            station=station,
            state=states.get(station.id),
            connectors=connectors.get(station.id, []),
            live=is_connected(station.charge_point_id),
        )
        for station in stations
    ]
