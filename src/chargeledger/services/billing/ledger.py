"""Reading the ledger: balances, the trial balance, statements, and the invariant check.

The check is what an auditor would ask first (DESIGN §5): every entry balances per currency;
the trial balance is zero; every issued document with an amount is booked (and, by the unique
source key of entries, at most once); the numbers of every series run from 1 to its counter
without a gap or a duplicate.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.ledger import (
    Balance,
    EntryKind,
    JournalEntry,
    Posting,
    customer_credit,
    receivable,
    trial_balance,
    unbilled,
)
from chargeledger.domain.text import exact_amount
from chargeledger.money import Currency
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.customers import get_account
from chargeledger.services.ports import UnitOfWork

_NUMBER = re.compile(r"(?P<series>.+)-(?P<sequence>\d{6,})")


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry: JournalEntry
    posting: Posting
    running_balance: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    account: str
    currency: Currency
    opening: Decimal
    lines: tuple[StatementLine, ...]
    closing: Decimal


async def balances(
    uow: UnitOfWork, prefix: str | None = None, until: date | None = None
) -> list[Balance]:
    return await uow.ledger.balances(prefix, until)


async def trial_balance_of(uow: UnitOfWork, until: date | None = None) -> dict[Currency, Decimal]:
    return trial_balance(await uow.ledger.balances(None, until))


async def statement(
    uow: UnitOfWork, account: str, start: date | None, end: date | None
) -> list[Statement]:
    """Per currency: the balance before ``start``, each posting with the running balance, and
    the closing balance."""
    opening: dict[Currency, Decimal] = {}
    if start is not None:
        before = await uow.ledger.balances(account, start)
        opening = {b.currency: b.balance for b in before if b.account == account}
    postings = await uow.ledger.statement(account, start, end)
    currencies = sorted({p.units.currency for _, p in postings} | set(opening))
    result = []
    for currency in currencies:
        running = opening.get(currency, Decimal(0))
        lines = []
        for entry, posting in postings:
            if posting.units.currency != currency:
                continue
            running += posting.units.amount
            lines.append(StatementLine(entry, posting, running))
        result.append(
            Statement(account, currency, opening.get(currency, Decimal(0)), tuple(lines), running)
        )
    return result


async def account_statement(
    uow: UnitOfWork,
    principal: Principal,
    account_id: uuid.UUID,
    start: date | None,
    end: date | None,
) -> list[Statement]:
    """A customer's statement: what they owe (invoiced, then not yet invoiced) and what they
    paid beyond it, one ledger account after the other. Another customer's account is
    refused as ``get_account`` refuses it (``GET /api/v1/accounts/{id}/statement`` and the
    office's account page, issue 16)."""
    await get_account(uow, principal, account_id)
    found: list[Statement] = []
    for name in (receivable(account_id), unbilled(account_id), customer_credit(account_id)):
        found += await statement(uow, name, start, end)
    return found


async def check_ledger(uow: UnitOfWork) -> list[str]:
    """The invariants; returns the problems found (none in healthy books)."""
    problems = [
        f"entry {entry_id} does not balance in {currency}: off by {exact_amount(amount, currency)}"
        for entry_id, currency, amount in await uow.ledger.unbalanced()
    ]
    for currency, total in sorted((await trial_balance_of(uow)).items()):
        if total != 0:
            problems.append(
                f"trial balance in {currency} is {exact_amount(total, currency)}, not zero"
            )
    problems += await _documents_booked(uow)
    problems += await _numbers_gap_free(uow)
    return problems


async def _documents_booked(uow: UnitOfWork) -> list[str]:
    problems = []
    issued = await _issued_documents(uow)
    booked = {
        kind: await uow.ledger.sources(kind, "invoice")
        for kind in (
            EntryKind.INVOICE_ISSUED,
            EntryKind.RECEIPT_ISSUED,
            EntryKind.CREDIT_NOTE_ISSUED,
            EntryKind.ALLOWANCE_SOLD,
            EntryKind.REVENUE_SHARE_SETTLED,
        )
    }
    # An OEM bundle's allowance is invoiced and booked as deferred revenue (issue 14).
    booked[EntryKind.INVOICE_ISSUED] |= booked.pop(EntryKind.ALLOWANCE_SOLD)
    expected_kind = {
        DocumentKind.INVOICE: EntryKind.INVOICE_ISSUED,
        DocumentKind.RECEIPT: EntryKind.RECEIPT_ISSUED,
        DocumentKind.CREDIT_NOTE: EntryKind.CREDIT_NOTE_ISSUED,
        # A site host's self-billed share is booked as a payable (domain/self_billing.py).
        DocumentKind.SELF_BILLED: EntryKind.REVENUE_SHARE_SETTLED,
    }
    for invoice_id, kind, number, gross in issued:
        if gross and invoice_id not in booked[expected_kind[kind]]:
            problems.append(f"{number} is issued but not booked")
    return problems


async def _issued_documents(uow: UnitOfWork) -> list[tuple[str, DocumentKind, str, Decimal]]:
    found = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.billing.list_invoices(
            InvoiceFilter(status=DocumentStatus.ISSUED), limit=1000, offset=offset
        )
        found += [(str(i.id), i.kind, i.number or "", i.gross_total) for i in page.items]
        offset = page.next_offset
    return found


async def _numbers_gap_free(uow: UnitOfWork) -> list[str]:
    problems = []
    for series, last in sorted((await uow.billing.series()).items()):
        numbers = await uow.billing.numbers(series)
        sequences = sorted(int(m["sequence"]) for n in numbers if (m := _NUMBER.fullmatch(n)))
        if sequences != list(range(1, last + 1)):
            missing = sorted(set(range(1, last + 1)) - set(sequences))
            duplicated = len(sequences) - len(set(sequences))
            problems.append(
                f"series {series}: {len(sequences)} numbers for counter {last}; "
                f"missing {missing[:10]}, duplicates {duplicated}"
            )
    return problems
