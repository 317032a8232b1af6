"""A customer's or the operator's dispute case, from opening to its resolution (issue 15).

Drivers and fleet managers open cases on what they can see (their sessions, invoices and
payments); the operator's staff on anything. One open case per subject: a second one is
refused (``dispute_already_open``) so the customer's words and the evidence gather in one
place. While a case about an invoice is open its dunning pauses (the invoice's dunning
history shows the dispute), and resumes when the case is resolved.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from chargeledger.domain.disputes import (
    CUSTOMER_SLA,
    Dispute,
    DisputeEvent,
    DisputeOrigin,
    DisputeReason,
    EventKind,
    Subject,
    check_attachment,
    open_case,
    start_review,
)
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.ids import new_id
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
from chargeledger.money import Currency
from chargeledger.services.billing.dunning import set_disputed
from chargeledger.services.billing.invoicing import get_invoice
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.common import page_bounds
from chargeledger.services.disputes.case_ports import DisputeFilter, StoredAttachment
from chargeledger.services.disputes.numbering import NUMBERING_HOLD, next_case_number
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.paging import Page
from chargeledger.services.payments.chargebacks import case_notice
from chargeledger.services.ports import Clock, UnitOfWork

_PAUSE_REFUSALS = frozenset({"not_payable", "invoice_already_disputed", "invoice_not_disputed"})


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class CaseRequest:
    """What a driver, fleet manager or staff member says is wrong."""

    subject: Subject
    reason: DisputeReason
    description: str
    amount: Decimal | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A case as its readers see it: the case, its events and its attachments."""

    dispute: Dispute
    events: list[DisputeEvent]
    attachments: list[StoredAttachment]


def origin_of(principal: Principal) -> DisputeOrigin:
    if principal.role is Role.DRIVER:
        return DisputeOrigin.DRIVER
    if principal.role is Role.FLEET_MANAGER:
        return DisputeOrigin.FLEET_MANAGER
    return DisputeOrigin.OPERATOR


async def open_dispute(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    principal: Principal,
    request: CaseRequest,
    *,
    sla: timedelta = CUSTOMER_SLA,
    staff_email: str | None = None,
) -> CaseFile:
    """Open a case on a subject the principal may see; the caller commits."""
    account_id, currency, invoice_id = await _subject_facts(uow, principal, request.subject)
    # Check and open as one step: two openings at once on PostgreSQL take turns on the
    # numbering's hold, so the second sees the first's case (``dispute_already_open``).
    await uow.ledger.hold_account(NUMBERING_HOLD)
    for open_case_ in await uow.disputes.search(
        DisputeFilter(
            open_only=True,
            session_id=request.subject.session_id,
            invoice_id=request.subject.invoice_id,
        ),
        limit=50,
        offset=0,
    ):
        if open_case_.subject == request.subject:
            raise ConflictError(
                f"dispute {open_case_.number} about this is still open",
                code="dispute_already_open",
            )
    case = open_case(
        number=await next_case_number(uow),
        origin=origin_of(principal),
        reason=request.reason,
        description=request.description,
        subject=request.subject,
        account_id=account_id,
        currency=currency,
        amount=request.amount,
        opened_by=principal.subject,
        now=clock.now(),
        sla=sla,
    )
    await uow.disputes.add(case)
    await _event(uow, clock, case, EventKind.OPENED, principal.subject, case.description)
    if request.attachment is not None:
        await _attach(uow, clock, case, principal.subject, request.attachment)
    if invoice_id is not None:
        await _dunning(uow, clock, time_zone, invoice_id, True, case)
    await announce(uow, clock, case_notice("dispute.opened", case, staff_email))
    return await case_file(uow, principal, case.id)


async def _subject_facts(
    uow: UnitOfWork, principal: Principal, subject: Subject
) -> tuple[uuid.UUID | None, Currency, uuid.UUID | None]:
    """The account and currency of the disputed thing, and the invoice whose dunning pauses;
    what the principal may not see is as missing as what does not exist."""
    invoice_id = subject.invoice_id
    if subject.session_id is not None:
        session = await get_session(uow, principal, subject.session_id)
        charge = await uow.billing.charge_for_session(session.id)
        if charge is None:
            raise ConflictError(
                "the session is not charged yet: nothing to dispute", code="session_not_charged"
            )
        invoice_id = invoice_id or await uow.billing.document_of_charge(charge.id)
        return charge.account_id, charge.currency, invoice_id
    if subject.payment_id is not None:
        payment = await uow.payments.get(subject.payment_id)
        if payment is None or (
            principal.is_account_bound
            and (payment.account_id is None or not principal.may_see_account(payment.account_id))
        ):
            raise NotFoundError(f"payment {subject.payment_id} not found", code="payment_not_found")
        return payment.account_id, payment.currency, payment.invoice_id
    assert invoice_id is not None
    invoice = await get_invoice(uow, invoice_id)
    if principal.is_account_bound and (
        invoice.account_id is None or not principal.may_see_account(invoice.account_id)
    ):
        raise NotFoundError(f"invoice {invoice_id} not found", code="invoice_not_found")
    if subject.line is not None and subject.line > len(invoice.lines):
        raise InvalidInputError(
            f"the invoice has {len(invoice.lines)} lines", code="invalid_line", field="line"
        )
    return invoice.account_id, invoice.currency, invoice.id


async def _dunning(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    invoice_id: uuid.UUID,
    paused: bool,
    case: Dispute,
) -> None:
    """Pause (or resume) the invoice's dunning; a receipt has none, and an invoice already
    paused by finance stays as it is."""
    note = f"dispute {case.number}"
    try:
        await set_disputed(uow, clock, time_zone, invoice_id, paused, case.opened_by, note)
    except ConflictError as refused:
        if refused.code not in _PAUSE_REFUSALS:
            raise


async def resume_dunning(uow: UnitOfWork, clock: Clock, time_zone: str, case: Dispute) -> None:
    """A resolved case lets the invoice's dunning go on (what is still open is owed)."""
    invoice_id = case.subject.invoice_id
    if invoice_id is None and case.subject.session_id is not None:
        charge = await uow.billing.charge_for_session(case.subject.session_id)
        invoice_id = None if charge is None else await uow.billing.document_of_charge(charge.id)
    if invoice_id is not None:
        await _dunning(uow, clock, time_zone, invoice_id, False, case)


async def _event(
    uow: UnitOfWork,
    clock: Clock,
    case: Dispute,
    kind: EventKind,
    by: str,
    note: str | None = None,
    data: dict[str, object] | None = None,
) -> DisputeEvent:
    event = DisputeEvent(
        dispute_id=case.id, kind=kind, at=clock.now(), by=by, note=note, data=dict(data or {})
    )
    await uow.disputes.add_event(event)
    return event


async def _attach(
    uow: UnitOfWork, clock: Clock, case: Dispute, by: str, attachment: Attachment
) -> StoredAttachment:
    name = check_attachment(attachment.name, attachment.media_type, attachment.content)
    stored = StoredAttachment(
        id=new_id(),
        dispute_id=case.id,
        name=name,
        media_type=attachment.media_type,
        sha256=hashlib.sha256(attachment.content).hexdigest(),
        size=len(attachment.content),
        added_by=by,
        added_at=clock.now(),
    )
    await uow.disputes.add_attachment(stored, attachment.content)
    await _event(uow, clock, case, EventKind.ATTACHMENT, by, name, {"sha256": stored.sha256})
    return stored


async def visible_case(uow: UnitOfWork, principal: Principal, dispute_id: uuid.UUID) -> Dispute:
    """A case of the principal's account (staff: any); others look missing."""
    case = await uow.disputes.get(dispute_id)
    if case is None or (
        principal.is_account_bound
        and (case.account_id is None or not principal.may_see_account(case.account_id))
    ):
        raise NotFoundError(f"dispute {dispute_id} not found", code="dispute_not_found")
    return case


async def find_case(uow: UnitOfWork, principal: Principal, reference: str) -> Dispute:
    """A case by id or number (the CLI names cases by number)."""
    try:
        return await visible_case(uow, principal, uuid.UUID(reference))
    except ValueError:
        found = await uow.disputes.by_number(reference.strip().upper())
        if found is None:
            raise NotFoundError(
                f"dispute {reference} not found", code="dispute_not_found"
            ) from None
        return await visible_case(uow, principal, found.id)


async def case_file(uow: UnitOfWork, principal: Principal, dispute_id: uuid.UUID) -> CaseFile:
    case = await visible_case(uow, principal, dispute_id)
    return CaseFile(
        dispute=case,
        events=await uow.disputes.events(case.id),
        attachments=await uow.disputes.attachments(case.id),
    )


async def list_cases(
    uow: UnitOfWork, principal: Principal, criteria: DisputeFilter, limit: int, offset: int
) -> Page[Dispute]:
    """Cases newest first; drivers and fleet managers see their own account's only."""
    limit, offset = page_bounds(limit, offset)
    if principal.is_account_bound:
        if principal.account_id is None:
            return Page(items=[], next_offset=None)
        criteria = replace(criteria, account_ids=frozenset({principal.account_id}))
    found = await uow.disputes.search(criteria, limit=limit + 1, offset=offset)
    more = len(found) > limit
    return Page(items=found[:limit], next_offset=offset + limit if more else None)


async def review_case(
    uow: UnitOfWork, clock: Clock, principal: Principal, dispute_id: uuid.UUID
) -> CaseFile:
    """Staff take the case up: ``open`` → ``under_review``."""
    await uow.ledger.hold_account(f"dispute:{dispute_id}")
    case = start_review(await visible_case(uow, principal, dispute_id))
    await uow.disputes.update(case)
    await _event(uow, clock, case, EventKind.REVIEW_STARTED, principal.subject)
    return await case_file(uow, principal, case.id)


async def add_to_case(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    dispute_id: uuid.UUID,
    note: str | None,
    attachment: Attachment | None,
) -> CaseFile:
    """A note or an attachment from the customer or staff, while the case is open."""
    case = await visible_case(uow, principal, dispute_id)
    if case.state.is_closed:
        raise ConflictError(f"dispute {case.number} is {case.state.value}", code="dispute_closed")
    if note is None and attachment is None:
        raise InvalidInputError("say something or attach a file", code="nothing_to_add")
    if note is not None:
        text = note.strip()[:2000]
        if not text:
            raise InvalidInputError("a note has text", code="invalid_note", field="note")
        await _event(uow, clock, case, EventKind.NOTE, principal.subject, text)
    if attachment is not None:
        await _attach(uow, clock, case, principal.subject, attachment)
    return await case_file(uow, principal, case.id)


async def attachment_content(
    uow: UnitOfWork, principal: Principal, dispute_id: uuid.UUID, attachment_id: uuid.UUID
) -> tuple[StoredAttachment, bytes]:
    case = await visible_case(uow, principal, dispute_id)
    for stored in await uow.disputes.attachments(case.id):
        if stored.id == attachment_id:
            content = await uow.disputes.attachment_content(attachment_id)
            if content is not None:
                return stored, content
    raise NotFoundError(f"attachment {attachment_id} not found", code="attachment_not_found")


async def disputed_session(uow: UnitOfWork, case: Dispute) -> uuid.UUID:
    """The charging session the case is about: named, or the payment's, or the disputed
    invoice line's (``no_session_evidence`` when it is about no session)."""
    if case.subject.session_id is not None:
        return case.subject.session_id
    if case.subject.payment_id is not None:
        payment = await uow.payments.get(case.subject.payment_id)
        if payment is not None and payment.session_id is not None:
            return payment.session_id
    if case.subject.invoice_id is not None:
        invoice = await uow.billing.get_invoice(case.subject.invoice_id)
        lines = [] if invoice is None else list(invoice.lines)
        if case.subject.line is not None:
            lines = lines[case.subject.line - 1 : case.subject.line]
        for line in lines:
            if line.session_id is not None:
                return line.session_id
    raise ConflictError(
        f"dispute {case.number} is about no charging session: no evidence pack",
        code="no_session_evidence",
    )
