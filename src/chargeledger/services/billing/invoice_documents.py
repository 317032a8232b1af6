"""What the entry points ask of invoices, receipts and credit notes: each document with its
derived payment status, the rendered files, and corrections named the way users name them.

Every view of a page is built from a fixed number of queries (the page, the credit notes of
its documents and their settlements), not from queries per document.
Handed an open unit of work; the caller commits (DESIGN §3).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.domain.audit import RecordSeal, RecordType
from chargeledger.domain.evidence import SignedBySession, carries_signed_data
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import DocumentStatus, Invoice
from chargeledger.domain.receivables import (
    PaymentStatus,
    Settlement,
    outstanding_of,
    payment_status,
)
from chargeledger.services.audit.records import seal_of
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoicing import (
    find_invoice,
    issue_credit_note,
    issue_invoice,
    list_visible,
    open_items,
    visible_invoice,
)
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, InvoiceDocuments, UnitOfWork


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """A document as shown: its status is derived from payments and credit notes on ``on``."""

    invoice: Invoice
    status: PaymentStatus
    outstanding: Decimal


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """A file to hand out: its name (the document's number, or ``draft-<id>``) and bytes."""

    filename: str
    content: bytes


async def views_of(uow: UnitOfWork, documents: Sequence[Invoice], on: date) -> list[InvoiceView]:
    """The documents with their status and what is still to pay on them."""
    items = await open_items(uow, documents)
    return [
        InvoiceView(
            document,
            payment_status(document, items[document.id], on),
            outstanding_of(document, items[document.id]),
        )
        for document in documents
    ]


async def list_views(
    uow: UnitOfWork,
    principal: Principal,
    criteria: InvoiceFilter,
    limit: int,
    offset: int,
    on: date,
) -> Page[InvoiceView]:
    """A page of the documents ``principal`` may see, with their status."""
    page = await list_visible(uow, principal, criteria, limit, offset)
    return Page(items=await views_of(uow, page.items, on), next_offset=page.next_offset)


async def visible_view(
    uow: UnitOfWork, principal: Principal, invoice_id: uuid.UUID, on: date
) -> InvoiceView:
    [view] = await views_of(uow, [await visible_invoice(uow, principal, invoice_id)], on)
    return view


async def settlements_of(uow: UnitOfWork, invoice_id: uuid.UUID) -> list[Settlement]:
    """The money set against a document (the office's detail page lists it); the caller has
    already checked it may see the document (``visible_view``)."""
    return (await uow.billing.settlements_of([invoice_id]))[invoice_id]


async def session_document(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID
) -> Invoice | None:
    """The invoice or receipt that billed a session once it is charged and billed (the
    office's session page links it), if ``principal`` may see it; None before."""
    charge = await uow.billing.charge_for_session(session_id)
    document_id = None if charge is None else await uow.billing.document_of_charge(charge.id)
    if document_id is None:
        return None
    return await visible_invoice(uow, principal, document_id)


async def view_by_reference(uow: UnitOfWork, reference: str, on: date) -> InvoiceView:
    """By number (``INV-2026-000001``) or id, with its status (the CLI's ``invoice show``)."""
    [view] = await views_of(uow, [await find_invoice(uow, reference)], on)
    return view


async def issue_draft(
    uow: UnitOfWork, clock: Clock, invoice_id: uuid.UUID, time_zone: str, on: date
) -> InvoiceView:
    """Issue a draft (``invoicing.issue_invoice``) and show it."""
    [view] = await views_of(uow, [await issue_invoice(uow, clock, invoice_id, time_zone)], on)
    return view


async def credit_document(
    uow: UnitOfWork,
    clock: Clock,
    invoice_id: uuid.UUID,
    reason: str,
    time_zone: str,
    positions: tuple[int, ...] | None,
    net_amount: Decimal | None,
    on: date,
) -> InvoiceView:
    """Correct an issued document by a credit note (``invoicing.issue_credit_note``), shown."""
    note = await issue_credit_note(uow, clock, invoice_id, reason, time_zone, positions, net_amount)
    [view] = await views_of(uow, [note], on)
    return view


async def credit_by_reference(
    uow: UnitOfWork,
    clock: Clock,
    reference: str,
    reason: str,
    time_zone: str,
    positions: tuple[int, ...] | None = None,
    net_amount: Decimal | None = None,
) -> Invoice:
    """A credit note of the document named by number or id (the CLI names them so)."""
    original = await find_invoice(uow, reference)
    return await issue_credit_note(
        uow, clock, original.id, reason, time_zone, positions, net_amount
    )


async def list_documents(
    uow: UnitOfWork, criteria: InvoiceFilter, limit: int, offset: int, on: date
) -> Page[InvoiceView]:
    """A page of every document matching ``criteria``, with its status and what is still to
    pay on ``on`` (the operator's shell sees all)."""
    page = await uow.billing.list_invoices(criteria, limit=limit, offset=offset)
    return Page(items=await views_of(uow, page.items, on), next_offset=page.next_offset)


async def issued_between(uow: UnitOfWork, first: date | None, last: date | None) -> list[Invoice]:
    """Every document issued in ``[first, last)``, in list order (the invoice register)."""
    return await _all(uow, InvoiceFilter(issued_from=first, issued_before=last), 1000)


async def issued_documents(uow: UnitOfWork) -> list[Invoice]:
    """Every issued document, in list order (the demo writes them all out)."""
    return await _all(uow, InvoiceFilter(status=DocumentStatus.ISSUED), 500)


async def _all(uow: UnitOfWork, criteria: InvoiceFilter, page_size: int) -> list[Invoice]:
    found: list[Invoice] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.billing.list_invoices(criteria, limit=page_size, offset=offset)
        found += page.items
        offset = page.next_offset
    return found


async def rendered(
    uow: UnitOfWork,
    principal: Principal,
    invoice_id: uuid.UUID,
    documents: InvoiceDocuments,
    kind: str,
) -> RenderedDocument:
    """The document ``principal`` may see as a Factur-X PDF (``kind`` ``pdf``) or its CII
    e-invoice (``xml``)."""
    invoice = await visible_invoice(uow, principal, invoice_id)
    if kind == "pdf":
        content = await document_pdf(uow, documents, invoice)
    else:
        content = documents.xml(invoice)
    return RenderedDocument(f"{invoice.number or f'draft-{invoice.id}'}.{kind}", content)


async def document_seal(uow: UnitOfWork, invoice: Invoice) -> RecordSeal | None:
    """Where the issued document stands in the audit chain (issue 15): its content hash for
    the footer and, once the day it was chained on is closed, the checkpoint and the Merkle
    inclusion proof its PDF prints. None for a draft (it is chained when issued)."""
    if invoice.status is not DocumentStatus.ISSUED:
        return None
    return await seal_of(uow, RecordType.INVOICE, str(invoice.id))


async def signed_data_of(uow: UnitOfWork, invoice: Invoice) -> SignedBySession:
    """The signed meter values of the sessions ``invoice`` bills, by session (one query per
    500 sessions): its PDF prints them in an annex so the customer can check the energy
    billed (issue 15); none for a document that prints none (``carries_signed_data``)."""
    if not carries_signed_data(invoice.kind):
        return {}
    sessions = {line.session_id for line in invoice.sessions() if line.session_id is not None}
    return await uow.sessions.signed_values_of(sessions) if sessions else {}


async def document_pdf(uow: UnitOfWork, documents: InvoiceDocuments, invoice: Invoice) -> bytes:
    """The PDF of ``invoice``: the annex of its sessions' signed meter data, its record hash
    in the footer and, once its day is closed, its checkpoint proof (rendered on request, so
    a download after the close carries it; between two changes of its seal it renders the
    same bytes)."""
    signed = await signed_data_of(uow, invoice)
    return documents.pdf(invoice, signed, await document_seal(uow, invoice))
