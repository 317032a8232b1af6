"""Chargebacks from the PSP (issue 15): ``charge.dispute.*`` webhooks become a dispute case
and its bookings, whatever order they arrive in.

Every event carries the whole dispute, so each one (1) finds or opens the case, (2) takes
the PSP's newest status (won/lost close it; a late older event changes nothing), and (3)
books what moved money: the withdrawal (amount + fee to ``Expenses:Chargebacks`` /
``Expenses:PSPFees``) and, when won, the reinstatement (``domain/dispute_postings.py``).
Each booking is once per PSP dispute (its journal entry's source), each event once per
webhook (its key), under the case's hold so two webhooks of one dispute at once on
PostgreSQL do not both open it.
"""

from __future__ import annotations

import logging

from chargeledger.domain.dispute_postings import SOURCE_TYPE, funds_reinstated, funds_withdrawn
from chargeledger.domain.disputes import (
    Chargeback,
    Dispute,
    DisputeEvent,
    DisputeState,
    EventKind,
    chargeback_update,
    open_chargeback,
)
from chargeledger.domain.ledger import JournalEntry
from chargeledger.domain.outbox import Notice
from chargeledger.domain.payments import Payment
from chargeledger.services.disputes.numbering import next_case_number
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.gateway import DisputeNotice, DisputePhase, WebhookEvent
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger(__name__)


async def apply_chargeback(
    uow: UnitOfWork, ctx: PaymentContext, gateway_name: str, event: WebhookEvent
) -> bool:
    """Apply one dispute event of ``gateway_name``; False when it names no payment of ours."""
    notice = event.dispute
    if notice is None or event.provider_ref is None:
        return False
    payment = await uow.payments.by_provider_ref(gateway_name, event.provider_ref)
    if payment is None:
        log.warning("chargeback of an unknown payment", extra={"dispute": notice.dispute_id})
        return False
    await uow.ledger.hold_account(f"chargeback:{notice.dispute_id}")
    chargeback = Chargeback(
        psp_dispute_id=notice.dispute_id,
        gateway=gateway_name,
        status=notice.status,
        psp_reason=notice.reason,
        fee=notice.fee.amount,
        evidence_due_by=notice.evidence_due_by,
    )
    case = await _case(uow, ctx, payment, chargeback, notice)
    updated = chargeback_update(case, chargeback, ctx.clock.now())
    if notice.phase is DisputePhase.FUNDS_WITHDRAWN:
        entry = funds_withdrawn(updated, notice.amount.amount, notice.fee.amount, ctx.today())
        await _book(uow, ctx, updated, entry, EventKind.FUNDS_WITHDRAWN)
    elif notice.phase is DisputePhase.FUNDS_REINSTATED:
        entry = funds_reinstated(updated, notice.amount.amount, ctx.today())
        await _book(uow, ctx, updated, entry, EventKind.FUNDS_REINSTATED)
    await uow.disputes.add_event(
        DisputeEvent(
            dispute_id=case.id,
            kind=EventKind.PSP_UPDATE,
            at=ctx.clock.now(),
            by=f"psp:{gateway_name}",
            note=f"{notice.phase.value}: {notice.status}",
            data={"event_id": event.event_id, "status": notice.status},
            key=f"psp-event:{gateway_name}:{event.event_id}"[:160],
        )
    )
    if updated != case:
        await uow.disputes.update(updated)
        await _announce_decision(uow, ctx, case, updated)
    return True


async def _case(
    uow: UnitOfWork,
    ctx: PaymentContext,
    payment: Payment,
    chargeback: Chargeback,
    notice: DisputeNotice,
) -> Dispute:
    found = await uow.disputes.by_psp_dispute(chargeback.psp_dispute_id)
    if found is not None:
        return found
    case = open_chargeback(
        number=await next_case_number(uow),
        chargeback=chargeback,
        payment_id=payment.id,
        session_id=payment.session_id,
        invoice_id=payment.invoice_id,
        account_id=payment.account_id,
        currency=notice.amount.currency,
        amount=notice.amount.amount,
        now=ctx.clock.now(),
    )
    await uow.disputes.add(case)
    await uow.disputes.add_event(
        DisputeEvent(
            dispute_id=case.id,
            kind=EventKind.OPENED,
            at=ctx.clock.now(),
            by=case.opened_by,
            note=case.description,
            key=f"opened:{case.id}",
        )
    )
    await announce(uow, ctx.clock, case_notice("dispute.opened", case, ctx.seller_email))
    return case


async def _book(
    uow: UnitOfWork, ctx: PaymentContext, case: Dispute, entry: JournalEntry, kind: EventKind
) -> None:
    if await uow.ledger.find(entry.kind, SOURCE_TYPE, entry.source_id) is None:
        await uow.ledger.add([entry], ctx.clock.now())
    await uow.disputes.add_event(
        DisputeEvent(
            dispute_id=case.id,
            kind=kind,
            at=ctx.clock.now(),
            by=case.opened_by,
            data={"entry": str(entry.id)},
            key=f"{kind.value}:{case.id}",
        )
    )


async def _announce_decision(
    uow: UnitOfWork, ctx: PaymentContext, before: Dispute, after: Dispute
) -> None:
    if after.state is before.state or after.state not in (DisputeState.WON, DisputeState.LOST):
        return
    kind = EventKind.WON if after.state is DisputeState.WON else EventKind.LOST
    await uow.disputes.add_event(
        DisputeEvent(
            dispute_id=after.id,
            kind=kind,
            at=ctx.clock.now(),
            by=after.resolved_by or after.opened_by,
            key=f"{kind.value}:{after.id}",
        )
    )
    topic = f"dispute.{kind.value}"
    await announce(uow, ctx.clock, case_notice(topic, after, ctx.seller_email))


def case_notice(topic: str, case: Dispute, recipient: str | None) -> Notice:
    """What the operator's staff (and webhook subscribers) are told of a case."""
    words = {
        "dispute.opened": "opened",
        "dispute.won": "won",
        "dispute.lost": "lost",
        "dispute.resolved": "resolved",
        "dispute.due_soon": "due soon",
        "dispute.overdue": "overdue",
    }
    said = words.get(topic, topic)
    amount = "" if case.amount is None else f" ({case.amount} {case.currency.code})"
    return Notice(
        topic=topic,
        key=f"{topic}:{case.id}",
        subject=f"Dispute {case.number} {said}",
        text=(
            f"Dispute {case.number}{amount} is {said}.\n"
            f"Reason: {case.reason.value}. Answer by {case.respond_by.isoformat()}.\n"
            f"{case.description}"
        ),
        data={
            "dispute_id": str(case.id),
            "number": case.number,
            "state": case.state.value,
            "origin": case.origin.value,
            "respond_by": case.respond_by.isoformat(),
        },
        recipient=recipient,
    )
