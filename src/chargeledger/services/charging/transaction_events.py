"""OCPP 2.0.1 TransactionEvent (Part 2 §E): Started, Updated and Ended events of one
transaction, each with a seqNo, possibly replayed late (offline) and out of order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chargeledger.domain import session_lifecycle as lifecycle
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import ChargingState, MeterSample, Session
from chargeledger.domain.station_link import SignedMeterValue, TransactionEvent
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.payments.methods import identify_payer
from chargeledger.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class EventReport:
    """Everything one TransactionEventRequest tells us, already in domain types."""

    transaction_ref: str
    event: TransactionEvent
    evse_id: int | None
    connector_id: int | None
    id_tag: str | None
    charging_state: ChargingState | None  # read from 2.0.1 chargingState at the edge
    stopped_reason: str | None
    samples: Sequence[MeterSample]
    signed_values: Sequence[SignedMeterValue] = ()


async def apply_transaction_event(
    uow: UnitOfWork,
    clock: Clock,
    station: Station,
    report: EventReport,
    held: Session | None = None,
) -> Session:
    """Apply one event exactly once; any event may be the first we see of a transaction.
    The session as stored. ``held``: the transaction's session as the edge kept it from an
    earlier event, used (instead of a read) for an Updated event, the one of every meter
    value; its update applies only to the version it holds (``add_meter_values``)."""
    kind = report.event.event_type
    session = held if held is not None and kind == "Updated" else None
    if session is None:
        session = await uow.sessions.get_by_ref(station.id, report.transaction_ref)
    if session is None:
        session = await _open_from_event(uow, clock, station, report)
    if not await capture.record_transaction_event(uow, session, report.event):
        return session  # this seqNo was applied before: a duplicate changes nothing
    session = await capture.keep_signed_values(uow, clock, session, report.signed_values)
    if report.charging_state is not None:
        await capture.record_state(uow, session, report.event.timestamp, report.charging_state)
    if kind == "Ended":
        session = await _identified(uow, report, session)
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

    async def change(current: Session) -> Session:
        if kind == "Started":
            current = lifecycle.correct_start(
                current,
                report.event.timestamp,
                capture.begin_register(report.samples),
                report.evse_id,
            )
        return await _identified(uow, report, current)

    return await capture.add_meter_values(uow, clock, session, report.samples, change)


async def _identified(uow: UnitOfWork, report: EventReport, session: Session) -> Session:
    """E02 (cable plugged in first): the token comes in a later event; so do the account and
    the payment route."""
    if report.id_tag and session.id_tag is None:
        payer = await identify_payer(uow, report.id_tag)
        session = lifecycle.identify(session, report.id_tag, payer)
    return session


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
