"""A session's re-pricings as finance reads them (issue 15): each record with what it produced,
found where it lives: the credit note it issued (or its refund's, which names it), the refund
and its state at the PSP, the invoice that billed its correction. Read only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.payments import EventKind
from chargeledger.domain.repricing import Repricing, RepricingOutcome
from chargeledger.money import ZERO
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.ports import UnitOfWork


class RefundStatus(StrEnum):
    NOT_ASKED = "not_asked"  # the refund call did not get as far as asking (retry the request)
    ASKED = "asked"  # asked, its answer not known yet (the janitor or a webhook learns it)
    REFUNDED = "refunded"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class RefundView:
    payment_id: uuid.UUID
    status: RefundStatus
    refunded: Decimal


@dataclass(frozen=True, slots=True)
class RepricingView:
    repricing: Repricing
    credit_note: Invoice | None  # issued by the re-pricing, or by its refund
    invoice: Invoice | None  # the invoice that billed its correction, once billed
    refund: RefundView | None


async def list_repricings(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID
) -> list[RepricingView]:
    """The session's re-pricings, first to last (account-bound people see their own
    sessions' only: ``session_not_found`` otherwise)."""
    session = await get_session(uow, principal, session_id)
    return [await repricing_view(uow, r) for r in await uow.repricings.of_session(session.id)]


async def repricing_view(uow: UnitOfWork, repricing: Repricing) -> RepricingView:
    credit_note = invoice = refund = None
    if repricing.credit_note_id is not None:
        credit_note = await uow.billing.get_invoice(repricing.credit_note_id)
    if repricing.outcome is RepricingOutcome.NEXT_INVOICE:
        billed = await uow.repricings.billed_on([repricing.id])
        if repricing.id in billed:
            invoice = await uow.billing.get_invoice(billed[repricing.id])
    if repricing.outcome is RepricingOutcome.REFUND and repricing.payment_id is not None:
        refund = await _refund(uow, repricing)
        credit_note = await _refund_credit_note(uow, repricing)
    return RepricingView(repricing, credit_note, invoice, refund)


async def _refund(uow: UnitOfWork, repricing: Repricing) -> RefundView:
    """The refund asked with the re-pricing's marker (``refunds.refund_once``) and its state."""
    assert repricing.payment_id is not None
    marker = repricing.refund_marker
    events = await uow.payments.events(repricing.payment_id)
    asked = {
        e.operation
        for e in events
        if e.operation
        and e.kind in (EventKind.REQUESTED, EventKind.REFUNDED)
        and (e.detail or "").startswith(marker)
    }
    ours = [e for e in events if e.operation in asked]
    refunded = sum((e.amount for e in ours if e.kind is EventKind.REFUNDED), ZERO).quantize(
        repricing.currency.quantum
    )
    status = RefundStatus.NOT_ASKED
    if refunded:
        status = RefundStatus.REFUNDED
    elif asked and all(
        any(e.kind is EventKind.REFUND_FAILED and e.operation == op for e in ours) for op in asked
    ):
        status = RefundStatus.DECLINED
    elif asked:
        status = RefundStatus.ASKED
    return RefundView(repricing.payment_id, status, refunded)


async def _refund_credit_note(uow: UnitOfWork, repricing: Repricing) -> Invoice | None:
    """The refund's credit note of the receipt: the one whose reason names the re-pricing
    (the refund is asked with its marker, ``_refund_credit``)."""
    receipt = await uow.repricings.billing_document(repricing.charge_id)
    if receipt is None:
        return None
    for note in await uow.billing.credit_notes_of(receipt):
        if (note.reason or "").startswith(repricing.refund_marker):
            return note
    return None
