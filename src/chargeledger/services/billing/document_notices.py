"""Announcements of issued documents and of payments (issue 13: invoices, receipts and
payment confirmations are sent with their PDFs attached), made in the transaction that
issues the document or books the payment, so they go out exactly when it is kept."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice, InvoiceAddressee
from chargeledger.domain.outbox import Attachment, AttachmentKind, Notice, announcement
from chargeledger.domain.receivables import PAYING_KINDS, Settlement
from chargeledger.domain.text import money_text
from chargeledger.services.ports import Clock, UnitOfWork

_TITLES = {DocumentKind.INVOICE: "Invoice", DocumentKind.RECEIPT: "Receipt"}


def issued_notice(document: Invoice) -> Notice:
    title = _TITLES[document.kind]
    total = money_text(document.gross_total, document.currency.code)
    lines = [f"{title} {document.number} of {document.issue_date}: {total}."]
    if document.kind is DocumentKind.INVOICE:
        lines.append(f"Due on {document.due_date}; reference {document.payment_reference}.")
    lines += ["The document is attached.", "", document.seller.name]
    return Notice(
        topic=f"{document.kind.value}.issued",
        key=f"{document.kind.value}.issued:{document.id}",
        subject=f"{title} {document.number}",
        text="\n".join(lines),
        data={
            "document_id": str(document.id),
            "number": document.number,
            "account_id": None if document.account_id is None else str(document.account_id),
            "currency": document.currency.code,
            "gross_total": str(document.gross_total),
            "issue_date": str(document.issue_date),
            "due_date": None if document.due_date is None else str(document.due_date),
        },
        recipient=document.buyer.email,
        attachments=(Attachment(AttachmentKind.INVOICE_PDF, document.id),),
    )


async def announce_issued(uow: UnitOfWork, clock: Clock, documents: Sequence[Invoice]) -> None:
    """Every issued invoice and receipt among ``documents`` (credit notes are announced by
    the refund or correction that made them, drafts not at all)."""
    now = clock.now()
    notices = [
        announcement(issued_notice(d), now)
        for d in documents
        if d.status is DocumentStatus.ISSUED and d.kind in _TITLES
    ]
    if notices:  # one statement per 500 (an invoice run issues thousands: issue 17)
        await uow.outbox.add_many(notices)


def payment_notice(invoice: InvoiceAddressee, settlement: Settlement) -> Notice:
    """The confirmation of money received for ``invoice`` (card, transfer, credit applied)."""
    paid = money_text(settlement.amount.amount, settlement.amount.currency.code)
    return Notice(
        topic="payment.received",
        key=f"payment.received:{settlement.source}",
        subject=f"Payment received: invoice {invoice.number}",
        text=f"Thank you: we received {paid} for invoice {invoice.number}.\n\n"
        f"{invoice.seller_name}",
        data={
            "invoice_id": str(invoice.invoice_id),
            "invoice_number": invoice.number,
            "account_id": None if invoice.account_id is None else str(invoice.account_id),
            "amount": str(settlement.amount.amount),
            "currency": settlement.amount.currency.code,
            "kind": settlement.kind.value,
        },
        recipient=invoice.buyer_email,
        attachments=(Attachment(AttachmentKind.INVOICE_PDF, invoice.invoice_id),),
    )


async def announce_payment(uow: UnitOfWork, clock: Clock, settlement: Settlement) -> None:
    """A confirmation of money received for an invoice; refunds, returns and write-offs
    confirm no payment."""
    await announce_payments(uow, clock, [settlement])


async def announce_payments(
    uow: UnitOfWork,
    clock: Clock,
    settlements: Sequence[Settlement],
    known: Mapping[uuid.UUID, InvoiceAddressee] | None = None,
) -> None:
    """``announce_payment`` of many at once (a bank statement's): the invoices' addressees
    not ``known`` yet are read in batches, and the announcements stored together."""
    paying = [s for s in settlements if s.kind in PAYING_KINDS and s.amount.amount > 0]
    if not paying:
        return
    found = dict(known or {})
    found |= await uow.billing.addressees({s.invoice_id for s in paying} - found.keys())
    now = clock.now()
    await uow.outbox.add_many(
        [
            announcement(payment_notice(found[s.invoice_id], s), now)
            for s in paying
            if s.invoice_id in found
        ]
    )
