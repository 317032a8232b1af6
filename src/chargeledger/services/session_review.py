"""Looking at sessions and dealing with the ones held back: listing, detail, the stale
session sweep, and an operator's release or correction of a quarantined session."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from chargeledger.domain.charging import (
    MeterSample,
    Resolution,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.identity import Principal
from chargeledger.domain.station_link import SessionFilter, SignedMeterValue, TransactionEvent
from chargeledger.domain.text import required_text
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
from chargeledger.services.common import page_bounds
from chargeledger.services.ports import Clock, Page, UnitOfWork
from chargeledger.services.session_capture import close_without_stop

MAX_NOTE_LENGTH = 2000

DEFAULT_STALE_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SessionDetail:
    session: Session
    samples: list[MeterSample]
    state_changes: list[StateChange]
    transaction_events: list[TransactionEvent]
    signed_values: list[SignedMeterValue]


def _scoped(principal: Principal, criteria: SessionFilter) -> SessionFilter | None:
    """Account-bound principals see their own account's sessions only (DESIGN §6)."""
    if not principal.is_account_bound:
        return criteria
    if criteria.account_id not in (None, principal.account_id):
        return None
    return dataclasses.replace(criteria, account_id=principal.account_id)


async def list_sessions(
    uow: UnitOfWork,
    principal: Principal,
    criteria: SessionFilter,
    *,
    limit: int = 100,
    offset: int = 0,
) -> Page[Session]:
    limit, offset = page_bounds(limit, offset)
    scoped = _scoped(principal, criteria)
    if scoped is None:
        return Page(items=[], next_offset=None)
    return await uow.sessions.search(scoped, limit=limit, offset=offset)


async def get_session(uow: UnitOfWork, principal: Principal, session_id: uuid.UUID) -> Session:
    session = await uow.sessions.get(session_id)
    if session is None or (
        principal.is_account_bound and session.account_id != principal.account_id
    ):
        raise NotFoundError(f"session {session_id} not found", code="session_not_found")
    return session


async def session_detail(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID
) -> SessionDetail:
    session = await get_session(uow, principal, session_id)
    return SessionDetail(
        session=session,
        samples=await uow.sessions.samples(session.id),
        state_changes=await uow.sessions.state_changes(session.id),
        transaction_events=await uow.sessions.transaction_events(session.id),
        signed_values=await uow.sessions.signed_values(session.id),
    )


async def sweep_stale_sessions(
    uow: UnitOfWork, clock: Clock, stale_after: timedelta = DEFAULT_STALE_AFTER, batch: int = 500
) -> list[Session]:
    """Close sessions with no stop and no sample for ``stale_after``, from their last
    sample, flagged ``no_stop_received`` (issue 3: sessions that never stop)."""
    closed = []
    for session in await uow.sessions.stale(clock.now() - stale_after, batch):
        closed.append(await close_without_stop(uow, clock, session))
    await uow.commit()
    return closed


async def resolve_session(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    note: str,
    corrected_meter_start_wh: Decimal | None = None,
    corrected_meter_stop_wh: Decimal | None = None,
) -> Session:
    """Release a quarantined session as reported, or with corrected readings. The station's
    own readings stay as evidence next to the correction."""
    session = await get_session(uow, principal, session_id)
    if session.status is not SessionStatus.QUARANTINED:
        raise ConflictError("only quarantined sessions can be released", code="not_quarantined")
    if not note.strip():
        raise InvalidInputError(
            "say why the session is released", code="missing_field", field="note"
        )
    note = required_text(note, "note", MAX_NOTE_LENGTH)
    start = corrected_meter_start_wh
    stop = corrected_meter_stop_wh
    effective_start = start if start is not None else session.meter_start_wh
    effective_stop = stop if stop is not None else session.meter_stop_wh
    if effective_stop is None or effective_stop < effective_start:
        raise InvalidInputError(
            "the corrected readings give negative energy",
            code="negative_energy",
            field="corrected_meter_stop_wh",
        )
    session = dataclasses.replace(
        session,
        status=SessionStatus.COMPLETED,
        resolution=Resolution(
            by=principal.subject,
            at=clock.now(),
            note=note,
            corrected_meter_start_wh=start,
            corrected_meter_stop_wh=stop,
        ),
        updated_at=clock.now(),
    )
    await uow.sessions.update(session)
    await uow.commit()
    return session
