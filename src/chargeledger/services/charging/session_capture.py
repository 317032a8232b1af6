"""Capturing sessions from what stations report, exactly once.

These use cases do not commit: the OCPP edge commits their effects together with the reply it
stores for the message, so a message is applied once and a duplicate gets the same answer
(DESIGN §2, exactly once). Station timestamps are trusted for billing periods; replayed
offline messages arrive late and out of order and are ordered here.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chargeledger.domain import session_lifecycle as lifecycle
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import (
    ChargingState,
    MeterSample,
    ReadingContext,
    Session,
    StateChange,
)
from chargeledger.domain.meter_checks import registers_in_order
from chargeledger.domain.ocmf import OcmfError, parse_ocmf
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.session_lifecycle import NO_STOP_REASON
from chargeledger.domain.station_link import SignedMeterValue, TransactionEvent
from chargeledger.errors import ConflictError, NotFoundError
from chargeledger.services.charging.meter_keys import note_reported_key
from chargeledger.services.charging.reservation_claims import claim_for_start
from chargeledger.services.contracts.pricing import contract_at_start
from chargeledger.services.payments.methods import identify_payer
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.tariffs import tariff_for_session

# What a message does to a session besides its samples (a 2.0.1 event's late token, say).
Change = Callable[[Session], Awaitable[Session]]
# Reads of a session another writer keeps changing before a meter value gives up: each retry
# follows a commit of that writer, so more than a couple means something is wrong.
STALE_RETRIES = 3


@dataclass(frozen=True, slots=True)
class StartRequest:
    evse_id: int
    connector_id: int
    id_tag: str | None
    started_at: datetime
    meter_start_wh: Decimal
    transaction_ref: str | None = None  # 2.0.1: the station's id; 1.6: we assign one
    reservation_number: int | None = None  # the reservationId the station says it used


async def start_session(
    uow: UnitOfWork, clock: Clock, station: Station, request: StartRequest
) -> Session:
    """Open a session, or return the one this start already opened (a retried start).

    The tariff valid at the start and the payment route are frozen onto the session here
    (DESIGN §2, §3).
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
    payer = await identify_payer(uow, request.id_tag)
    tariff = await tariff_for_session(
        uow, station, request.evse_id, request.connector_id, payer.account_id, request.started_at
    )
    contract = await contract_at_start(
        uow,
        payer.account_id,
        station,
        request.evse_id,
        request.connector_id,
        request.started_at,
    )
    if contract is not None and contract.tariff is not None:
        tariff = contract.tariff
    session = lifecycle.start(
        station_id=station.id,
        evse_id=request.evse_id,
        connector_id=request.connector_id,
        transaction_ref=ref,
        ocpp_version=station.ocpp_version.value,
        id_tag=request.id_tag,
        payer=payer,
        started_at=request.started_at,
        meter_start_wh=request.meter_start_wh,
        tariff_id=tariff.id if tariff else None,
        now=now,
        contract_version_id=contract.version.id if contract else None,
    )
    await uow.sessions.add(session)
    await claim_for_start(uow, clock, session, request.reservation_number)
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
    uow: UnitOfWork,
    clock: Clock,
    session: Session,
    samples: Sequence[MeterSample],
    change: Change | None = None,
) -> Session:
    """Keep samples (duplicates are skipped); the session as stored. Late samples of a closed
    session are checked again, because a replayed reading may reveal a register that ran
    backwards. ``change`` is what else the message does to the session (applied first).

    ``session`` may be the one the edge kept in memory since an earlier message: the update
    applies only to the version it holds. When another writer changed the session since (an
    operator's stop, the sweep, a second node), the stored session is read again and the
    message applied to it, so that writer's change is never overwritten."""
    if samples:
        uow.sessions.queue_samples(session.id, samples)  # one batch for the group's CALLs
    for _ in range(STALE_RETRIES):
        changed = session if change is None else await change(session)
        changed = lifecycle.sample(changed, samples, clock.now())
        if not changed.is_open and changed.stopped_at is not None:
            if changed.meter_stop_inferred and samples:
                changed = lifecycle.restop(changed, await uow.sessions.samples(changed.id))
            changed = await _judge(uow, changed)
        stored = await uow.sessions.update_if_unchanged(changed)
        if stored is not None:
            return stored
        session = await stored_session(uow, session.id)
    raise ConflictError(
        f"session {session.id} kept changing while meter values were added",
        code="session_changed",
    )


async def stored_session(uow: UnitOfWork, session_id: uuid.UUID) -> Session:
    """The session as stored now (sessions are never deleted)."""
    session = await uow.sessions.get(session_id)
    if session is None:
        raise NotFoundError(f"session {session_id} is not stored", code="session_not_found")
    return session


async def record_state(
    uow: UnitOfWork, session: Session, timestamp: datetime, state: ChargingState
) -> None:
    uow.sessions.queue_state_change(session.id, StateChange(timestamp, state))


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
    (``inferred``: the reading was taken from the samples, no stop reading came). The real
    stop of a session the sweep closed (the station was offline for longer than the sweep
    waits) replaces the reading taken from samples."""
    if not session.is_open and session.stop_reason != NO_STOP_REASON:
        # A second stop for the same transaction changes nothing but may bring samples.
        return await add_meter_values(uow, clock, session, samples) if samples else session
    if samples:
        await uow.sessions.add_samples(session.id, samples)
    session = lifecycle.stop(
        lifecycle.sample(session, samples, clock.now()),
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        reason=reason,
        inferred=inferred,
    )
    session = await _judge(uow, session)
    await uow.sessions.update(session)
    return session


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
    session = lifecycle.start_unknown(
        station_id=station.id,
        transaction_ref=transaction_ref,
        ocpp_version=station.ocpp_version.value,
        id_tag=id_tag,
        payer=await identify_payer(uow, id_tag),
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        reason=reason,
        samples=samples,
        now=clock.now(),
    )
    await uow.sessions.add(session)
    if samples:
        await uow.sessions.add_samples(session.id, samples)
    return session


async def close_without_stop(uow: UnitOfWork, clock: Clock, session: Session) -> Session:
    """Close a session whose stop never came, from its last sample (issue 3: the sweep)."""
    samples = await uow.sessions.samples(session.id)
    session = await _judge(uow, lifecycle.close_unstopped(session, samples, clock.now()))
    await uow.sessions.update(session)
    return session


async def _judge(uow: UnitOfWork, session: Session) -> Session:
    """Load what the meter data checks need, then let the domain judge the closed session."""
    found = lifecycle.verdict(
        session,
        changes=await uow.sessions.state_changes(session.id),
        samples=await uow.sessions.samples(session.id),
        max_power_kw=await max_power_kw(uow, session),
        signed_values=await uow.sessions.signed_values(session.id),
    )
    return lifecycle.judge(session, found)


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
    uow: UnitOfWork, clock: Clock, session: Session, values: Sequence[SignedMeterValue]
) -> Session:
    """Keep signed meter data as evidence, and a key that came with it and the registry
    lacks as the station's report (``meter_keys.note_reported_key``). Data for a closed
    session (a 1.6 stop's transactionData, stored after the stop, or a DataTransfer that
    comes later) judges the session again: its signed energy may contradict what we would
    bill (reasons only accumulate; a released session stays released)."""
    for value in values:
        await uow.sessions.add_signed_value(session.id, value)
        await _note_reported_key(uow, clock, session, value)
    if values and not session.is_open and session.stopped_at is not None:
        session = await _judge(uow, session)
        await uow.sessions.update(session)
    return session


async def _note_reported_key(
    uow: UnitOfWork, clock: Clock, session: Session, value: SignedMeterValue
) -> None:
    try:
        carried = unwrap(value)
        record = parse_ocmf(carried.ocmf)
    except OcmfError:
        return  # kept as evidence; its verdict will say malformed
    await note_reported_key(
        uow, clock, session.station_id, record.meter_serial, carried.public_key, record.curve
    )


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
