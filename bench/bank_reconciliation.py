"""Bank reconciliation benchmark (issue 13): import and match a camt.053 statement of N entries
against N open invoices on SQLite (and PostgreSQL with ``--postgres``), entries per second,
next to a naive baseline measured in the same run.

Setup (not timed): N issued invoices of 1,000 accounts, stored in bulk. The statement pays them
in the shapes a bank sends: 60 % quote the RF reference, 25 % write the invoice number in the
text (some cut by a line break), 10 % pay the exact amount from a known name, 5 % are
unknown; one in 20 pays a different amount. It is written as camt.053.001.08 by
``adapters/bank/camt053_writer.py``.

Timed: ``import_statement_file`` as ``chargeledger bank import`` runs it: parse and validate
the file, store every entry, match, settle, book, commit. The baseline matches a sample the
naive way (each entry scans every open invoice for its reference, number or amount), in the
same process, and its rate is printed next to ours.

Usage: python bench/bank_reconciliation.py [--entries 100000] [--baseline 2000]
       [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from chargeledger.adapters.bank.camt053_writer import camt053_document
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.bank_matching import OpenInvoice, compact_number
from chargeledger.domain.bank_statements import (
    BankTransactionCode,
    BookedBalance,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.domain.billing import VatCategory
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Party,
)
from chargeledger.domain.payment_references import creditor_reference
from chargeledger.money import Currency, Money
from chargeledger.services.billing.bank_reconciliation import ImportReport, import_statement_file

ACCOUNTS = 1000
OUR_IBAN = "DE89370400440532013000"
SELLER = Party("Bench Charging GmbH", "Invalidenstr. 1", "10115", "Berlin", "DE")
RECEIVED = BankTransactionCode("PMNT", "RCDT", "ESCT")
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 18, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def invoices(count: int, accounts: list[Account]) -> list[Invoice]:
    made = []
    for n in range(1, count + 1):
        account = accounts[n % len(accounts)]
        net = Decimal(10 + n % 90)
        line = InvoiceLine(1, "charging", net, VatCategory.STANDARD, Decimal(19), country="DE")
        made.append(
            Invoice(
                kind=DocumentKind.INVOICE,
                account_id=account.id,
                seller=SELLER,
                buyer=Party(account.name, "Street 1", "10115", "Berlin", "DE"),
                currency=Currency.of("EUR"),
                period_start=date(2026, 10, 1),
                period_end=date(2026, 11, 1),
                lines=(line,),
                status=DocumentStatus.ISSUED,
                series="INV-2026",
                number=f"INV-2026-{n:06d}",
                issue_date=date(2026, 11, 2),
                due_date=date(2026, 11, 16),
                issued_at=NOW,
            )
        )
    return made


def paying(invoice: Invoice, n: int) -> StatementEntry:
    """How the n-th payer pays ``invoice``."""
    gross = invoice.gross_total if n % 20 else invoice.gross_total - Decimal("1.00")
    number = invoice.number or ""
    kind = n % 20
    details: dict[str, object] = {}
    if kind < 12:
        details["creditor_reference"] = creditor_reference(number)
    elif kind < 17:
        text = f"Rechnung {number}" if kind % 2 else f"Rechnung {number[:8]}\n{number[8:]}"
        details["remittance_unstructured"] = text
    elif kind < 19:
        details["counterparty_name"] = invoice.buyer.name
    else:
        details["remittance_unstructured"] = f"payment {n}"
    return StatementEntry(
        entry_ref=f"REF{n:08d}",
        amount=Money(gross, Currency.of("EUR")),
        direction=Direction.CREDIT,
        status=EntryStatus.BOOKED,
        booking_date=DAY,
        value_date=DAY,
        bank_transaction_code=RECEIVED,
        **details,  # type: ignore[arg-type]
    )


def statement(open_invoices: list[Invoice]) -> Statement:
    entries = tuple(paying(invoice, n) for n, invoice in enumerate(open_invoices, start=1))
    opening = BookedBalance(Money.of("0.00", "EUR"), DAY)
    total = sum((e.amount.amount for e in entries), Decimal(0))
    closing = BookedBalance(Money(total, Currency.of("EUR")), DAY)
    return Statement(
        "BENCH-2026-11-20",
        OUR_IBAN,
        Currency.of("EUR"),
        NOW,
        DAY,
        DAY,
        opening,
        closing,
        entries,
    )


async def setup(runtime: Runtime, count: int) -> list[Invoice]:
    await runtime.migrate()
    now = NOW
    accounts = [
        Account(
            kind=AccountKind.BUSINESS,
            name=f"Fleet {i:04d} GmbH",
            email=f"fleet{i}@example.org",
            billing_address=Address("Street 1", "10115", "Berlin", "DE"),
            currency=Currency.of("EUR"),
            created_at=now,
            updated_at=now,
        )
        for i in range(ACCOUNTS)
    ]
    async with runtime.uow() as uow:
        for account in accounts:
            await uow.accounts.add(account)
        made = invoices(count, accounts)
        for start in range(0, len(made), 2000):
            await uow.billing.add_invoices(made[start : start + 2000], now)
        await uow.commit()
    return made


def naive_rate(open_invoices: list[Invoice], entries: tuple[StatementEntry, ...]) -> float:
    """Each entry scans every open invoice: reference, then number in the text, then amount."""
    candidates = [
        OpenInvoice(
            i.id,
            i.number or "",
            creditor_reference(i.number or ""),
            i.account_id,
            i.buyer.name,
            Money(i.gross_total, i.currency),
        )
        for i in open_invoices
    ]
    started = time.perf_counter()
    for entry in entries:
        text = compact_number(entry.remittance_unstructured or "")
        next(
            (
                c
                for c in candidates
                if c.reference == entry.creditor_reference
                or compact_number(c.number) in text
                or (c.outstanding == entry.amount and c.buyer_name == entry.counterparty_name)
            ),
            None,
        )
    return len(entries) / (time.perf_counter() - started)


async def measure(url: str, data_dir: Path, count: int, baseline: int, label: str) -> None:
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(data_dir), "CHARGELEDGER_DATABASE_URL": url}
    )
    runtime = build_runtime(settings, clock=FixedClock())
    try:
        made = await setup(runtime, count)
        the_statement = statement(made)
        data = camt053_document([the_statement], message_id="BENCH-1", created_at=NOW)

        async def imported() -> tuple[ImportReport, float]:
            started = time.perf_counter()
            report = await import_statement_file(
                runtime.uow,
                runtime.locks,
                runtime.clock,
                "Europe/Berlin",
                runtime.statements,
                data,
                filename="bench.xml",
                imported_by="bench",
            )
            return report, time.perf_counter() - started

        report, seconds = await imported()
        repeat, repeat_seconds = await imported()
        naive = naive_rate(made, the_statement.entries[:baseline])
    finally:
        await runtime.aclose()
    print(
        f"{label}: {count} entries against {count} open invoices ({len(data) / 2**20:.1f} MiB)\n"
        f"  import + match: {seconds:.1f} s = {count / seconds:,.0f} entries/s "
        f"(matched {report.matched}, unmatched {report.unmatched}, rules {dict(report.by_rule)})\n"
        f"  the same file again: {repeat_seconds:.1f} s, {repeat.new} new, "
        f"{repeat.duplicates} already imported\n"
        f"  naive matching alone (sample of {baseline}): {naive:,.0f} entries/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=2000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await measure(url, Path(tmp), args.entries, args.baseline, "SQLite")
        if args.postgres:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = build_runtime(
                Settings.from_env(
                    {"CHARGELEDGER_DATA_DIR": tmp, "CHARGELEDGER_DATABASE_URL": args.postgres}
                )
            )
            engine = admin._factory.engine.execution_options(isolation_level="AUTOCOMMIT")
            async with engine.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            await admin.aclose()
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            await measure(url, Path(tmp), args.entries, args.baseline, "PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main())
