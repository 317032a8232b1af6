"""Capturing sessions from what stations report, exactly once.

These use cases do not commit: the OCPP edge commits their effects together with the reply it
stores for the message, so a message is applied once and a duplicate gets the same answer
(DESIGN §2, exactly once). Station timestamps are trusted for billing periods; replayed
offline messages arrive late and out of order and are ordered here.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import (
    ChargingState,
    MeterSample,
    QuarantineReason,
    ReadingContext,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.meter_checks import charging_and_idle, quality_issues, registers_in_order
from chargeledger.domain.station_link import SignedMeterValue, TransactionEvent
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.tariffs import tariff_for_session

# 1.6 ChargePointStatus values during which no energy flows although the car is plugged in.
IDLE_STATUSES = frozenset({"SuspendedEV", "SuspendedEVSE", "Finishing"})
CHARGING_STATUSES = frozenset({"Charging"})
NO_STOP_REASON = "NoStopReceived"  # the stop reason of a session the sweep closed


@dataclass(frozen=True, slots=True)
class StartRequest:
    evse_id: int
    connector_id: int
    id_tag: str | None
    started_at: datetime
    meter_start_wh: Decimal
    transaction_ref: str | None = None  # 2.0.1: the station's id; 1.6: we assign one


def _touch(session: Session, samples: Sequence[MeterSample], now: datetime) -> Session:
    latest = max((s.timestamp for s in samples), default=None)
    if latest is not None and (session.last_sample_at is None or latest > session.last_sample_at):
        session = dataclasses.replace(session, last_sample_at=latest)
    return dataclasses.replace(session, updated_at=now)


async def account_for_tag(uow: UnitOfWork, id_tag: str | None) -> uuid.UUID | None:
    """The customer account behind an idTag, if it is one of our tokens."""
    if not id_tag:
        return None
    token = await uow.tokens.get_by_uid(id_tag)
    return token.account_id if token else None


async def start_session(
    uow: UnitOfWork, clock: Clock, station: Station, request: StartRequest
) -> Session:
    """Open a session, or return the one this start already opened (a retried start).

    The tariff valid at the start is frozen onto the session here (DESIGN §2).
    """
    if request.transaction_ref is None:
        existing = await uow.sessions.find_started(
            station.id,
            request.evse_id,
            request.started_at,
            request.id_tag,
            request.meter_start_wh,
        )
    else:
        existing = await uow.sessions.get_by_ref(station.id, request.transaction_ref)
    if existing is not None:
        return existing
    await _close_abandoned(uow, clock, station, request.evse_id, request.started_at)
    now = clock.now()
    ref = request.transaction_ref or str(
        await uow.sessions.next_transaction_number(station.id, now)
    )
    account_id = await account_for_tag(uow, request.id_tag)
    tariff = await tariff_for_session(
        uow, station, request.evse_id, request.connector_id, account_id, request.started_at
    )
    session = Session(
        station_id=station.id,
        evse_id=request.evse_id,
        connector_id=request.connector_id,
        transaction_ref=ref,
        ocpp_version=station.ocpp_version.value,
        id_tag=request.id_tag,
        account_id=account_id,
        started_at=request.started_at,
        meter_start_wh=request.meter_start_wh,
        last_sample_at=request.started_at,
        tariff_id=tariff.id if tariff else None,
        created_at=now,
        updated_at=now,
    )
    await uow.sessions.add(session)
    return session


async def _close_abandoned(
    uow: UnitOfWork, clock: Clock, station: Station, evse_id: int, before: datetime
) -> None:
    """A new start on an EVSE whose previous session never stopped: that one will not stop
    any more, so close it from its last sample and hold it for review."""
    previous = await uow.sessions.open_on_evse(station.id, evse_id)
    if previous is not None and previous.started_at < before:
        await close_without_stop(uow, clock, previous)


async def add_meter_values(
    uow: UnitOfWork, clock: Clock, session: Session, samples: Sequence[MeterSample]
) -> Session:
    """Keep samples (duplicates are skipped). Late samples of a closed session are checked
    again, because a replayed reading may reveal a register that ran backwards."""
    if samples:
        await uow.sessions.add_samples(session.id, samples)
    session = _touch(session, samples, clock.now())
    if not session.is_open and session.stopped_at is not None:
        if session.meter_stop_inferred and samples:
            session = await _reinfer_stop(uow, session)
        session = await _judge(uow, session)
    await uow.sessions.update(session)
    return session


async def _reinfer_stop(uow: UnitOfWork, session: Session) -> Session:
    """A stop reading we took from the samples is taken again now that more have arrived
    (a 2.0.1 Ended without a meter value overtook offline Updated events)."""
    assert session.stopped_at is not None
    swept = session.stop_reason == NO_STOP_REASON
    samples = await uow.sessions.samples(session.id)
    in_session = samples if swept else [s for s in samples if s.timestamp <= session.stopped_at]
    readings = registers_in_order(in_session)
    if not readings:
        return session
    last_at, last_wh = readings[-1]
    stopped_at = max(session.stopped_at, last_at) if swept else session.stopped_at
    return dataclasses.replace(session, meter_stop_wh=last_wh, stopped_at=stopped_at)


async def record_state(
    uow: UnitOfWork, session: Session, timestamp: datetime, state: ChargingState
) -> None:
    await uow.sessions.add_state_change(session.id, StateChange(timestamp, state))


def state_for_status(status: str) -> ChargingState | None:
    """Map a 1.6 connector status to charging/idle; None when it says nothing about it."""
    if status in CHARGING_STATUSES:
        return ChargingState.CHARGING
    if status in IDLE_STATUSES:
        return ChargingState.IDLE
    return None


async def stop_session(
    uow: UnitOfWork,
    clock: Clock,
    session: Session,
    *,
    stopped_at: datetime,
    meter_stop_wh: Decimal,
    reason: str | None,
    samples: Sequence[MeterSample] = (),
    inferred: bool = False,
) -> Session:
    """Close the session with the station's final reading and judge its meter data
    (``inferred``: the reading was taken from the samples, no stop reading came)."""
    if not session.is_open and session.stop_reason == NO_STOP_REASON:
        return await _late_stop(uow, clock, session, stopped_at, meter_stop_wh, reason, samples)
    if not session.is_open:
        # A second stop for the same transaction changes nothing but may bring samples.
        return await add_meter_values(uow, clock, session, samples) if samples else session
    return await _close(
        uow,
        clock,
        session,
        samples,
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        meter_stop_inferred=inferred,
        stop_reason=reason,
    )


async def _close(
    uow: UnitOfWork,
    clock: Clock,
    session: Session,
    samples: Sequence[MeterSample],
    **stop: Any,
) -> Session:
    """Keep the stop's samples, apply the stop, judge the meter data, store."""
    if samples:
        await uow.sessions.add_samples(session.id, samples)
    session = dataclasses.replace(
        _touch(session, samples, clock.now()), status=SessionStatus.COMPLETED, **stop
    )
    session = await _judge(uow, session)
    await uow.sessions.update(session)
    return session


async def _late_stop(
    uow: UnitOfWork,
    clock: Clock,
    session: Session,
    stopped_at: datetime,
    meter_stop_wh: Decimal,
    reason: str | None,
    samples: Sequence[MeterSample],
) -> Session:
    """The real stop of a session the sweep closed (the station was offline for longer than
    the sweep waits): the station's own reading replaces the one taken from samples."""
    reasons = tuple(
        r for r in session.quarantine_reasons if r is not QuarantineReason.NO_STOP_RECEIVED
    )
    return await _close(
        uow,
        clock,
        session,
        samples,
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        meter_stop_inferred=False,
        stop_reason=reason,
        quarantine_reasons=reasons,
    )


async def stop_unknown_transaction(
    uow: UnitOfWork,
    clock: Clock,
    station: Station,
    *,
    transaction_ref: str,
    stopped_at: datetime,
    meter_stop_wh: Decimal,
    reason: str | None,
    id_tag: str | None,
    samples: Sequence[MeterSample] = (),
) -> Session:
    """A stop for a transaction we never saw start: keep it, flagged for review, never drop."""
    now = clock.now()
    readings = registers_in_order(samples)
    started_at = min((s.timestamp for s in samples), default=stopped_at)
    meter_start = readings[0][1] if readings else meter_stop_wh
    session = Session(
        station_id=station.id,
        evse_id=0,
        transaction_ref=transaction_ref,
        ocpp_version=station.ocpp_version.value,
        id_tag=id_tag,
        account_id=await account_for_tag(uow, id_tag),
        started_at=min(started_at, stopped_at),
        meter_start_wh=meter_start,
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        stop_reason=reason,
        last_sample_at=stopped_at,
        status=SessionStatus.QUARANTINED,
        quarantine_reasons=(QuarantineReason.UNKNOWN_TRANSACTION,),
        created_at=now,
        updated_at=now,
    )
    await uow.sessions.add(session)
    if samples:
        await uow.sessions.add_samples(session.id, samples)
    return session


async def close_without_stop(uow: UnitOfWork, clock: Clock, session: Session) -> Session:
    """Close a session whose stop never came, from its last sample (issue 3: the sweep)."""
    readings = registers_in_order(await uow.sessions.samples(session.id))
    last_at, last_wh = readings[-1] if readings else (session.started_at, session.meter_start_wh)
    stopped_at = max(session.last_sample_at or session.started_at, last_at)
    session = dataclasses.replace(
        session,
        stopped_at=stopped_at,
        meter_stop_wh=last_wh,
        meter_stop_inferred=True,
        stop_reason=NO_STOP_REASON,
        status=SessionStatus.COMPLETED,
        updated_at=clock.now(),
    )
    session = await _judge(uow, session, extra=(QuarantineReason.NO_STOP_RECEIVED,))
    await uow.sessions.update(session)
    return session


async def _judge(
    uow: UnitOfWork, session: Session, extra: tuple[QuarantineReason, ...] = ()
) -> Session:
    """Derive charging/idle time and run the meter data checks on a closed session."""
    assert session.stopped_at is not None
    assert session.meter_stop_wh is not None
    changes = await uow.sessions.state_changes(session.id)
    charging, idle = charging_and_idle(session.started_at, session.stopped_at, changes)
    max_power = await max_power_kw(uow, session)
    samples = await uow.sessions.samples(session.id)
    found = quality_issues(
        meter_start_wh=session.meter_start_wh,
        meter_stop_wh=session.meter_stop_wh,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        max_power_kw=max_power,
        samples=samples,
    )
    reasons = tuple(dict.fromkeys((*session.quarantine_reasons, *extra, *found)))
    released = session.resolution is not None
    status = SessionStatus.QUARANTINED if reasons and not released else SessionStatus.COMPLETED
    return dataclasses.replace(
        session,
        charging_seconds=int(charging.total_seconds()),
        idle_seconds=int(idle.total_seconds()),
        quarantine_reasons=reasons,
        status=status,
    )


async def max_power_kw(uow: UnitOfWork, session: Session) -> Decimal:
    evse = await uow.evses.get_by_station_evse(session.station_id, session.evse_id)
    if evse is not None:
        return evse.max_power_kw
    page = await uow.evses.list(station_id=session.station_id, limit=100, offset=0)
    powers = [e.max_power_kw for e in page.items]
    # An EVSE missing from the catalog: bound by the station's strongest one, or by the
    # strongest connector there is (MCS) when the station has none registered.
    return max(powers, default=Decimal("3750"))


async def record_transaction_event(
    uow: UnitOfWork, session: Session, event: TransactionEvent
) -> bool:
    """2.0.1 exactly once: False when this seqNo of the transaction was already applied."""
    return await uow.sessions.add_transaction_event(session.id, event)


async def keep_signed_values(
    uow: UnitOfWork, session: Session, values: Sequence[SignedMeterValue]
) -> None:
    for value in values:
        await uow.sessions.add_signed_value(session.id, value)


def begin_register(samples: Sequence[MeterSample]) -> Decimal | None:
    """The register at Transaction.Begin, else the earliest register reading."""
    readings = registers_in_order(
        [s for s in samples if s.context is ReadingContext.TRANSACTION_BEGIN]
    ) or registers_in_order(samples)
    return readings[0][1] if readings else None


def end_register(samples: Sequence[MeterSample]) -> Decimal | None:
    """The register at Transaction.End, else the latest register reading."""
    readings = registers_in_order(
        [s for s in samples if s.context is ReadingContext.TRANSACTION_END]
    ) or registers_in_order(samples)
    return readings[-1][1] if readings else None
