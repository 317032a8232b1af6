"""What a station's message about a session sets off once its transaction commits: the payment
work of the session's route (DESIGN §4: work that talks to a PSP never holds the station's
transaction open), the same for OCPP 1.6 and 2.0.1.

Handed the open unit of work of the CALL being applied; the edge commits, then runs the
returned jobs (DESIGN §3).
"""

from __future__ import annotations

from collections.abc import Sequence

from chargeledger.domain.charging import MeterSample, Session
from chargeledger.domain.payments import PaymentMethodKind
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.credit_control import Job, check_credit, payment_watch
from chargeledger.services.payments.methods import payment_to_follow
from chargeledger.services.payments.session_payments import (
    secure_session,
    settle_session,
)
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.roaming.notices import announce_partner_session


async def after_start_or_stop(uow: UnitOfWork, ctx: PaymentContext, session: Session) -> list[Job]:
    """A roaming partner's session is announced to it (its start and its end). A session
    that just started: hold the app's card, or check the wallet's credit (a
    station may start despite Blocked/NoCredit, or offline). A session that just ended:
    settle it, when it is paid at once or is a roaming partner's (other postpaid sessions wait
    for the invoice run)."""
    roaming = await announce_partner_session(uow, ctx.clock, session)  # OCPI §9.2.2
    method = payment_to_follow(session)
    session_id = session.id
    if not session.is_open and (method is not None or roaming):
        return [lambda: settle_session(ctx, session_id)]
    if method is None:
        return []
    if method is PaymentMethodKind.APP:
        return [lambda: secure_session(ctx, session_id)]
    if method is PaymentMethodKind.WALLET:
        return _some(await check_credit(uow, ctx, session))
    return []


async def after_samples(uow: UnitOfWork, ctx: PaymentContext, session: Session) -> list[Job]:
    """A running session's new meter values: the wallet's credit check or the card hold's
    watch (``credit_control.payment_watch``)."""
    return _some(await payment_watch(uow, ctx, session))


async def record_samples(
    uow: UnitOfWork,
    clock: Clock,
    ctx: PaymentContext,
    session: Session,
    samples: Sequence[MeterSample],
    signed: Sequence[SignedMeterValue],
) -> tuple[list[Job], Session]:
    """Meter values outside a start or stop (1.6 MeterValues, 2.0.1 J01): keep the signed
    values as evidence, add the samples to the session, then watch its payment (by the
    session as stored: another writer may have stopped it). The jobs, and the session as
    stored."""
    session = await capture.keep_signed_values(uow, clock, session, signed)
    session = await capture.add_meter_values(uow, clock, session, samples)
    return await after_samples(uow, ctx, session), session


def _some(job: Job | None) -> list[Job]:
    return [] if job is None else [job]
