"""Looking at sessions and the ones held back: listing, detail, and the stale session sweep
(an operator's release of a quarantined session is in ``session_release``)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import timedelta

from chargeledger.domain.charging import (
    MeterSample,
    Session,
    StateChange,
)
from chargeledger.domain.identity import Principal
from chargeledger.domain.station_link import (
    SessionCursor,
    SessionFilter,
    SignedMeterValue,
    TransactionEvent,
)
from chargeledger.errors import NotFoundError
from chargeledger.services.charging.session_capture import close_without_stop
from chargeledger.services.charging.signed_data import SessionSignedData, signed_readings_of
from chargeledger.services.common import page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, MeterSignatureVerifier, UnitOfWork

DEFAULT_STALE_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SessionDetail:
    session: Session
    samples: list[MeterSample]
    state_changes: list[StateChange]
    transaction_events: list[TransactionEvent]
    signed_values: list[SignedMeterValue]
    # Verdicts on the signed values and how they match the session (issue 15), when asked.
    signed: SessionSignedData | None = None


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
    after: SessionCursor | None = None,
) -> Page[Session]:
    """Newest first; by ``offset``, or after a keyset cursor (issue 17)."""
    limit, offset = page_bounds(limit, offset)
    scoped = _scoped(principal, criteria)
    if scoped is None:
        return Page(items=[], next_offset=None)
    return await uow.sessions.search(scoped, limit=limit, offset=offset, after=after)


async def get_session(uow: UnitOfWork, principal: Principal, session_id: uuid.UUID) -> Session:
    session = await uow.sessions.get(session_id)
    if session is None or (
        principal.is_account_bound and session.account_id != principal.account_id
    ):
        raise NotFoundError(f"session {session_id} not found", code="session_not_found")
    return session


async def session_detail(
    uow: UnitOfWork,
    principal: Principal,
    session_id: uuid.UUID,
    verifier: MeterSignatureVerifier | None = None,
) -> SessionDetail:
    """The session with everything captured for it; with ``verifier``, the verdict on each
    signed value too (``signed_data.signed_readings_of``)."""
    session = await get_session(uow, principal, session_id)
    signed = None if verifier is None else await signed_readings_of(uow, verifier, session.id)
    return SessionDetail(
        session=session,
        samples=await uow.sessions.samples(session.id),
        state_changes=await uow.sessions.state_changes(session.id),
        transaction_events=await uow.sessions.transaction_events(session.id),
        signed_values=await uow.sessions.signed_values(session.id),
        signed=signed,
    )


async def sweep_stale_sessions(
    uow: UnitOfWork, clock: Clock, stale_after: timedelta = DEFAULT_STALE_AFTER, batch: int = 500
) -> list[Session]:
    """Close sessions with no stop and no sample for ``stale_after``, from their last
    sample, flagged ``no_stop_received`` (issue 3: sessions that never stop); the caller
    commits."""
    closed = []
    for session in await uow.sessions.stale(clock.now() - stale_after, batch):
        closed.append(await close_without_stop(uow, clock, session))
    return closed
