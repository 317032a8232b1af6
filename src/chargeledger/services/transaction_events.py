"""OCPP 2.0.1 TransactionEvent (Part 2 §E): Started, Updated and Ended events of one
transaction, each with a seqNo, possibly replayed late (offline) and out of order."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import ChargingState, MeterSample, Session
from chargeledger.domain.station_link import SignedMeterValue, TransactionEvent
from chargeledger.services import session_capture as capture
from chargeledger.services.ports import Clock, UnitOfWork

# 2.0.1 ChargingStateEnumType → our two states (EVConnected: plugged, no energy requested).
CHARGING_STATES = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEV": ChargingState.IDLE,
    "SuspendedEVSE": ChargingState.IDLE,
    "EVConnected": ChargingState.IDLE,
    "Idle": ChargingState.IDLE,
}


@dataclass(frozen=True, slots=True)
class EventReport:
    """Everything one TransactionEventRequest tells us, already in domain types."""

    transaction_ref: str
    event: TransactionEvent
    evse_id: int | None
    connector_id: int | None
    id_tag: str | None
    charging_state: str | None
    stopped_reason: str | None
    samples: Sequence[MeterSample]
    signed_values: Sequence[SignedMeterValue] = ()


async def apply_transaction_event(
    uow: UnitOfWork, clock: Clock, station: Station, report: EventReport
) -> Session:
    """Apply one event exactly once; any event may be the first we see of a transaction."""
    session = await uow.sessions.get_by_ref(station.id, report.transaction_ref)
    if session is None:
        session = await _open_from_event(uow, clock, station, report)
    if not await capture.record_transaction_event(uow, session, report.event):
        return session  # this seqNo was applied before: a duplicate changes nothing
    await capture.keep_signed_values(uow, session, report.signed_values)
    if report.event.event_type == "Started":
        session = await _apply_start(uow, session, report)
    if report.id_tag and session.id_tag is None:
        # E02 (cable plugged in first): the token comes in a later event; so does the account.
        account_id = session.account_id or await capture.account_for_tag(uow, report.id_tag)
        session = dataclasses.replace(session, id_tag=report.id_tag, account_id=account_id)
    if (state := CHARGING_STATES.get(report.charging_state or "")) is not None:
        await capture.record_state(uow, session, report.event.timestamp, state)
    if report.event.event_type == "Ended":
        meter_stop = capture.end_register(report.samples)
        inferred = meter_stop is None
        if meter_stop is None:
            meter_stop = capture.end_register(await uow.sessions.samples(session.id))
        return await capture.stop_session(
            uow,
            clock,
            session,
            stopped_at=report.event.timestamp,
            meter_stop_wh=meter_stop if meter_stop is not None else session.meter_start_wh,
            reason=report.stopped_reason,
            samples=report.samples,
            inferred=inferred,
        )
    return await capture.add_meter_values(uow, clock, session, report.samples)


async def _open_from_event(
    uow: UnitOfWork, clock: Clock, station: Station, report: EventReport
) -> Session:
    begin = capture.begin_register(report.samples)
    request = capture.StartRequest(
        evse_id=report.evse_id or 0,
        connector_id=report.connector_id or 1,
        id_tag=report.id_tag,
        started_at=report.event.timestamp,
        meter_start_wh=begin if begin is not None else Decimal(0),
        transaction_ref=report.transaction_ref,
    )
    return await capture.start_session(uow, clock, station, request)


async def _apply_start(uow: UnitOfWork, session: Session, report: EventReport) -> Session:
    """A Started event that arrives after later events (offline replay) fixes the start."""
    begin = capture.begin_register(report.samples)
    started = session
    if report.event.timestamp < started.started_at:
        started = dataclasses.replace(started, started_at=report.event.timestamp)
    if begin is not None and (begin < started.meter_start_wh or started.meter_start_wh == 0):
        started = dataclasses.replace(started, meter_start_wh=begin)
    if report.evse_id and started.evse_id == 0:
        started = dataclasses.replace(started, evse_id=report.evse_id)
    return started
