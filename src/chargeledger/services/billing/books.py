"""What the books hold, read for reports and exports (the CLI's ``ledger check``, ``export``
and the demo's month end): the journal, the checks of its invariants and its size.

Read only: handed an open unit of work, commits nothing (DESIGN §3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.ledger import JournalEntry, customer_of
from chargeledger.domain.postings import (
    TaxedRevenue,
    charge_revenue,
    credit_note_revenue,
    invoice_contract_revenue,
)
from chargeledger.domain.repricing_documents import SOURCE_TYPE as REPRICING
from chargeledger.domain.repricing_documents import correction_revenue
from chargeledger.money import Currency
from chargeledger.services.billing.exporting import NO_SOURCES, ExportSources
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.ledger import check_ledger, trial_balance_of
from chargeledger.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """The broken invariants (empty: the books are consistent) and the journal's size."""

    problems: list[str]
    entries: int
    postings: int


@dataclass(frozen=True, slots=True)
class BooksSnapshot:
    """The whole journal with its trial balance and check, read in one transaction."""

    journal: list[JournalEntry]
    trial_balance: dict[Currency, Decimal]
    check: LedgerCheck


async def journal(uow: UnitOfWork, first: date | None, last: date | None) -> list[JournalEntry]:
    """The entries booked in ``[first, last)`` (all of them when both are None)."""
    return await uow.ledger.entries(first, last)


async def journal_for_export(
    uow: UnitOfWork, first: date | None, last: date | None, with_sources: bool
) -> tuple[list[JournalEntry], ExportSources]:
    """:func:`journal` and, ``with_sources``, the facts of what its entries book, read in one
    transaction: the VAT treatments of charges, re-pricings' corrections and credit notes,
    document numbers, and the customer accounts of the receivables
    (``exporting.ExportSources``)."""
    entries = await journal(uow, first, last)
    if not with_sources:
        return entries, NO_SOURCES
    revenue: dict[tuple[str, str], tuple[TaxedRevenue, ...]] = {}
    charge_ids = {uuid.UUID(e.source_id) for e in entries if e.source_type == "charge"}
    for charge in await uow.billing.charges_with_ids(charge_ids):
        revenue[("charge", str(charge.id))] = charge_revenue(charge)
    # A re-pricing's correction is accrued like a charge (issue 15), at the charge's VAT.
    corrected = {uuid.UUID(e.source_id) for e in entries if e.source_type == REPRICING}
    for repricing in await uow.repricings.with_ids(corrected):
        revenue[(REPRICING, str(repricing.id))] = correction_revenue(repricing)
    numbers: dict[str, str] = {}
    issued = InvoiceFilter(status=DocumentStatus.ISSUED, issued_from=first, issued_before=last)
    offset: int | None = 0
    while offset is not None:
        page = await uow.billing.list_invoices(issued, limit=1000, offset=offset)
        for document in page.items:
            numbers[str(document.id)] = document.number or ""
            if document.kind is DocumentKind.CREDIT_NOTE:
                revenue[("invoice", str(document.id))] = credit_note_revenue(document)
            elif contract_revenue := invoice_contract_revenue(document):
                revenue[("invoice", str(document.id))] = contract_revenue
        offset = page.next_offset
    customers = {
        found
        for entry in entries
        for posting in entry.postings
        if (found := customer_of(posting.account)) is not None
    }
    accounts = {account.id: account for account in await uow.accounts.get_many(customers)}
    return entries, ExportSources(revenue=revenue, numbers=numbers, customers=accounts)


async def checked_ledger(uow: UnitOfWork) -> LedgerCheck:
    """``ledger.check_ledger`` with the number of entries and postings it looked at."""
    problems = await check_ledger(uow)
    entries, postings = await uow.ledger.count()
    return LedgerCheck(problems, entries, postings)


async def snapshot(uow: UnitOfWork) -> BooksSnapshot:
    entries = await uow.ledger.entries()
    trial_balance = await trial_balance_of(uow)
    return BooksSnapshot(entries, trial_balance, await checked_ledger(uow))


async def charged_sessions(uow: UnitOfWork) -> int:
    """How many sessions are charged (priced and booked)."""
    return len(await uow.billing.charge_ids())
