"""Resolving a customer's case (issue 15): refund, credit note, re-pricing or rejection.

Each outcome moves money through the path that already books it — a refund through the
PSP with its credit note (``payments/refunds.py``), a credit note on the invoice
(``billing/invoicing.py``), a re-pricing through the one pricing function — and only then is
the case closed, naming what it produced. The whole resolution holds the case's lock, so two
staff members resolving one case at once do not both refund: the second finds it resolved
(``dispute_closed``) having done nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from chargeledger.domain.disputes import Dispute, DisputeEvent, EventKind, Resolution, resolve
from chargeledger.domain.identity import Principal
from chargeledger.domain.payments import EventKind as PaymentEventKind
from chargeledger.errors import ConflictError
from chargeledger.services.billing.invoicing import issue_credit_note
from chargeledger.services.billing.repricing import RepriceRequest
from chargeledger.services.disputes.cases import (
    CaseFile,
    case_file,
    disputed_session,
    resume_dunning,
    visible_case,
)
from chargeledger.services.locking import exclusive
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.payments.chargebacks import case_notice
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.refunds import refund_once
from chargeledger.services.payments.repricing import reprice_session
from chargeledger.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    resolution: Resolution
    note: str | None = None
    # Refund: the gross amount back (None: all that is left). Credit note: the net amount
    # credited (None: the disputed line, or the whole document).
    amount: Decimal | None = None
    # Re-price: the corrected tariff version and/or readings (None: as the session stands).
    tariff_id: uuid.UUID | None = None
    meter_start_wh: Decimal | None = None
    meter_stop_wh: Decimal | None = None


async def resolve_dispute(
    ctx: PaymentContext,
    principal: Principal,
    dispute_id: uuid.UUID,
    request: ResolutionRequest,
) -> CaseFile:
    async with exclusive(
        ctx.locks, f"dispute:{dispute_id}", ctx.lock_wait, code="dispute_busy", what="the case"
    ):
        async with ctx.uow() as uow:
            case = await visible_case(uow, principal, dispute_id)
            resolve(
                case,
                request.resolution,
                note=request.note,
                by=principal.subject,
                now=ctx.clock.now(),
                outcome_ref=None,
            )  # refuses before money moves
        outcome = await _carry_out(ctx, principal, case, request)
        async with ctx.uow() as uow:
            case = await visible_case(uow, principal, dispute_id)
            closed = resolve(
                case,
                request.resolution,
                note=request.note,
                by=principal.subject,
                now=ctx.clock.now(),
                outcome_ref=outcome,
            )
            await uow.disputes.update(closed)
            await _resolved_event(uow, ctx, closed, principal.subject)
            await resume_dunning(uow, ctx.clock, ctx.time_zone, closed)
            await announce(
                uow, ctx.clock, case_notice("dispute.resolved", closed, ctx.seller_email)
            )
            found = await case_file(uow, principal, closed.id)
            await uow.commit()
    return found


async def _carry_out(
    ctx: PaymentContext, principal: Principal, case: Dispute, request: ResolutionRequest
) -> str | None:
    """Move the money the resolution means; the credit note, refund or re-pricing it made."""
    reason = f"{_marker(case)} {request.note or case.reason.value}"[:200]
    match request.resolution:
        case Resolution.REFUND:
            payment_id = await _refundable_payment(ctx, case)
            # Once per case: a resolution retried after a crash between the refund and the
            # case's closing finds the refund it asked and asks none again.
            payment, state = await refund_once(
                ctx, payment_id, request.amount, reason, marker=_marker(case)
            )
            return f"refund:{payment.id}:{state.refunds}"
        case Resolution.CREDIT_NOTE:
            async with ctx.uow() as uow:
                invoice_id = await _billed_document(uow, case)
                # An amount credits that much of the document; without one, the disputed
                # line (or the whole document) is credited.
                line = case.subject.line
                positions = None if line is None or request.amount is not None else (line,)
                note = await issue_credit_note(
                    uow, ctx.clock, invoice_id, reason, ctx.time_zone, positions, request.amount
                )
                await uow.commit()
            return f"credit_note:{note.number}"
        case Resolution.REPRICE:
            async with ctx.uow() as uow:
                session_id = await disputed_session(uow, case)
            wanted = RepriceRequest(
                reason=reason,
                tariff_id=request.tariff_id,
                meter_start_wh=request.meter_start_wh,
                meter_stop_wh=request.meter_stop_wh,
                request_key=f"dispute:{case.id}",
            )
            view = await reprice_session(ctx, principal, session_id, wanted)
            return f"repricing:{view.repricing.id}"
    return None


def _marker(case: Dispute) -> str:
    """How a case's refund and re-pricing say whose they are (``dispute DSP-000001:``)."""
    return f"dispute {case.number}:"


async def _refundable_payment(ctx: PaymentContext, case: Dispute) -> uuid.UUID:
    if case.subject.payment_id is not None:
        return case.subject.payment_id
    async with ctx.uow() as uow:
        candidates = []
        if case.subject.session_id is not None:
            candidates = await uow.payments.for_session(case.subject.session_id)
        elif case.subject.invoice_id is not None:
            candidates = await uow.payments.for_invoice(case.subject.invoice_id)
        for payment in candidates:
            events = await uow.payments.events(payment.id)
            if any(e.kind is PaymentEventKind.CAPTURED for e in events):
                return payment.id
    raise ConflictError(
        f"dispute {case.number}: no captured payment to refund; issue a credit note",
        code="nothing_to_refund",
    )


async def _billed_document(uow: UnitOfWork, case: Dispute) -> uuid.UUID:
    if case.subject.invoice_id is not None:
        return case.subject.invoice_id
    if case.subject.session_id is not None:
        charge = await uow.billing.charge_for_session(case.subject.session_id)
        found = None if charge is None else await uow.billing.document_of_charge(charge.id)
        if found is not None:
            return found
    raise ConflictError(
        f"dispute {case.number}: nothing invoiced yet to credit", code="nothing_to_credit"
    )


async def _resolved_event(uow: UnitOfWork, ctx: PaymentContext, case: Dispute, by: str) -> None:
    await uow.disputes.add_event(
        DisputeEvent(
            dispute_id=case.id,
            kind=EventKind.RESOLVED,
            at=ctx.clock.now(),
            by=by,
            note=case.resolution_note,
            data={
                "resolution": case.resolution.value if case.resolution else None,
                "outcome": case.outcome_ref,
            },
            key=f"resolved:{case.id}",
        )
    )
