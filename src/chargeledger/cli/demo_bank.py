"""The demo's bank days after month end (issue 13): the bank sends two camt.053 statements,
written here as a bank would, and finance imports them.

Day one: most invoices paid by transfer quoting their RF reference; one paid in part (its
number in the text), one paid too much (the rest becomes the customer's credit), one payer
nobody knows (unmatched), the PSP's payout arriving. Day two: one transfer returned by the
payer's bank (MD06, refund requested), which reopens its invoice. Two invoices stay unpaid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console
from chargeledger.cli.reports import print_table
from chargeledger.domain.bank_matching import BookedPayout, OpenInvoice
from chargeledger.domain.bank_statements import (
    BookedBalance,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.report_tables import (
    ReportFormat,
    ReportTable,
    aging_table,
    revenue_table,
)
from chargeledger.domain.reports import Grain, dimensions, month_of
from chargeledger.domain.text import money_figure
from chargeledger.money import Currency, Money
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing import invoice_documents, invoicing, reports
from chargeledger.services.billing.bank_reconciliation import ImportReport
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.report_ports import ReportFile
from chargeledger.services.payments import payout_reconciliation
from chargeledger.services.payments.payout_reconciliation import PayoutView
from chargeledger.services.transactions import reading

EUR = Currency.of("EUR")
RETURNED_E2E = "DEMO-E2E-RETURNED"
UNPAID = 2  # the last invoices of the list stay unpaid (for dunning)
FINANCE = Principal(subject="demo finance", role=Role.FINANCE)


@dataclass
class BankReport:
    files: list[Path] = field(default_factory=list)
    imports: list[ImportReport] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    outstanding: Decimal = Decimal(0)
    tables: list[ReportTable] = field(default_factory=list)  # aging, revenue by site
    workbooks: list[Path] = field(default_factory=list)
    payouts: list[PayoutView] = field(default_factory=list)  # reconciled with their bank lines


def _entry(ref: str, amount: Decimal, on: date, **details: object) -> StatementEntry:
    direction = details.pop("direction", Direction.CREDIT)
    return StatementEntry(
        entry_ref=ref,
        amount=Money(amount, EUR),
        direction=direction,  # type: ignore[arg-type]
        status=EntryStatus.BOOKED,
        booking_date=on,
        value_date=on,
        **details,  # type: ignore[arg-type]
    )


def first_day(
    invoices: list[OpenInvoice], payouts: list[BookedPayout], on: date
) -> list[StatementEntry]:
    entries = []
    payable = invoices[: max(len(invoices) - UNPAID, 0)]
    for n, invoice in enumerate(payable):
        due = invoice.outstanding.amount
        who = {"counterparty_name": invoice.buyer_name}
        if n == 0:  # pays half, naming the invoice in the text
            half = (due / 2).quantize(Decimal("0.01"))
            text = f"Teilzahlung Rechnung {invoice.number}"
            entries.append(_entry(f"D1-{n}", half, on, remittance_unstructured=text, **who))
        elif n == 1:  # pays 10.00 too much
            entries.append(
                _entry(f"D1-{n}", due + 10, on, creditor_reference=invoice.reference, **who)
            )
        elif n == 2:  # paid, and returned tomorrow
            entries.append(
                _entry(
                    f"D1-{n}",
                    due,
                    on,
                    creditor_reference=invoice.reference,
                    end_to_end_id=RETURNED_E2E,
                    **who,
                )
            )
        else:
            entries.append(_entry(f"D1-{n}", due, on, creditor_reference=invoice.reference, **who))
    entries.append(
        _entry(
            "D1-unknown",
            Decimal("42.00"),
            on,
            counterparty_name="M. Mustermann",
            remittance_unstructured="Ladekarte Danke",
        )
    )
    for payout in payouts:
        entries.append(
            _entry(
                f"D1-{payout.payout_id}",
                payout.net.amount,
                on,
                counterparty_name="Sandbox PSP",
                remittance_unstructured=payout.payout_id,
            )
        )
    return entries


def second_day(invoices: list[OpenInvoice], on: date) -> list[StatementEntry]:
    if len(invoices) - UNPAID <= 2:
        return []
    returned = invoices[2]
    return [
        _entry(
            "D2-return",
            returned.outstanding.amount,
            on,
            direction=Direction.DEBIT,
            reversal=True,
            return_reason="MD06",
            end_to_end_id=RETURNED_E2E,
            counterparty_name=returned.buyer_name,
        )
    ]


def _statement(
    number: int, iban: str, on: date, opening: Money, entries: list[StatementEntry]
) -> Statement:
    movement = sum((e.signed_amount.amount for e in entries), Decimal(0))
    return Statement(
        statement_id=f"DEMO-{on.isoformat()}-{number}",
        account_iban=iban,
        currency=EUR,
        created_at=datetime.combine(on, time(18), UTC),
        from_date=on,
        to_date=on,
        opening_balance=BookedBalance(opening, on),
        closing_balance=BookedBalance(Money(opening.amount + movement, EUR), on),
        entries=tuple(entries),
    )


async def bank_days(runtime: Runtime, output_dir: Path) -> BankReport:
    settings = runtime.settings
    zone, iban = settings.operator_time_zone, settings.operator.get("iban", "")
    report = BankReport()
    if not iban:
        return report
    on = invoicing.today(runtime.clock, zone)
    invoices, payouts = await reading(runtime.uow, bank.awaiting_money)
    folder = output_dir / "bank"
    folder.mkdir(parents=True, exist_ok=True)
    opening = Money(Decimal("10000.00"), EUR)
    for number, entries in enumerate(
        (first_day(invoices, payouts, on), second_day(invoices, on)), start=1
    ):
        if not entries:
            continue
        statement = _statement(number, iban, on, opening, entries)
        opening = statement.closing_balance.amount if statement.closing_balance else opening
        data = runtime.statement_writer.camt053(
            [statement],
            message_id=statement.statement_id,
            created_at=statement.created_at or datetime.now(UTC),
        )
        path = folder / f"camt053-{statement.statement_id}.xml"
        path.write_bytes(data)
        report.files.append(path)
        report.imports.append(
            await bank.import_statement_file(
                runtime.uow,
                runtime.locks,
                runtime.clock,
                zone,
                runtime.statements,
                data,
                filename=path.name,
                imported_by="demo finance",
            )
        )
    gateways = list(runtime.payments.gateways)
    booked = await reading(runtime.uow, payout_reconciliation.list_payouts, gateways, 100, 0)
    report.payouts = list(booked.items)
    await _reports(runtime, on, output_dir / "reports", report)
    criteria = InvoiceFilter(kind=DocumentKind.INVOICE)
    page = await reading(runtime.uow, invoice_documents.list_documents, criteria, 10_000, 0, on)
    for view in page.items:
        report.statuses[view.status.value] += 1
        report.outstanding += view.outstanding
    return report


def print_bank(report: BankReport) -> None:
    if not report.imports:
        return
    table = Table(title="Bank statements: receivables after the bank days", title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    for path, result in zip(report.files, report.imports, strict=True):
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(result.by_rule.items()))
        states = ", ".join(f"{s.value} {n}" for s, n in sorted(result.states.items()))
        table.add_row(f"{path.name}", f"{result.new} entries: {states}")
        if rules:
            table.add_row(f"  {path.stem}: matched by", rules)
        for difference in result.payout_differences:
            table.add_row("  payout differs", difference)
    for view in report.payouts:
        found = view.reconciliation
        table.add_row(
            f"payout {view.payout.payout_id}",
            f"{len(found.items)} items, {found.status.value}",
        )
    for status, count in sorted(report.statuses.items()):
        table.add_row(f"invoices {status}", str(count))
    table.add_row("still to collect (EUR)", money_figure(report.outstanding, "EUR"))
    console.print(table)
    for shown in report.tables:
        print_table(shown)
    if report.workbooks:
        console.print("Workbooks: " + "  ".join(str(path) for path in report.workbooks))


async def _reports(runtime: Runtime, on: date, folder: Path, report: BankReport) -> None:
    """The receivables aging and the month's revenue by site, printed and written as XLSX
    workbooks for finance (``chargeledger reports aging|revenue`` make the same)."""
    zone = runtime.settings.operator_time_zone
    aging = await reading(runtime.uow, reports.aging, FINANCE, on, None, None)
    revenue = await reading(
        runtime.uow, reports.revenue, month_of(on), zone, dimensions("site"), Grain.PERIOD, None
    )
    for table in (aging_table(aging), revenue_table(revenue)):
        written = runtime.reports.write(table, ReportFormat.XLSX)
        report.tables.append(table)
        report.workbooks.append(_saved(folder, f"{table.name}-{on.isoformat()}.xlsx", written))


def _saved(folder: Path, name: str, written: ReportFile) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(written.content)
    return path
