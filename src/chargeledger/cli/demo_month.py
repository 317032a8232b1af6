"""The demo's month end: charge the day's sessions, run invoicing (twice, to show the second
run changes nothing), correct one invoice by a credit note, write every document as a
Factur-X PDF and its EN 16931 XML (each checked against the schema), export the ledger to
Beancount, and show the trial balance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console
from chargeledger.domain.accounts import BillingCycle
from chargeledger.domain.billing_periods import billing_period
from chargeledger.domain.text import exact_amount, money_figure
from chargeledger.money import Currency
from chargeledger.services.billing import books, invoice_documents, invoicing
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.billing.revenue_share import settle_month_shares
from chargeledger.services.transactions import in_transaction, reading

# The demo operator, as it appears on its invoices.
DEMO_OPERATOR = {
    "CHARGELEDGER_OPERATOR_NAME": "Chargeledger Demo Charging GmbH",
    "CHARGELEDGER_OPERATOR_STREET": "Invalidenstraße 117",
    "CHARGELEDGER_OPERATOR_POSTAL_CODE": "10115",
    "CHARGELEDGER_OPERATOR_CITY": "Berlin",
    "CHARGELEDGER_OPERATOR_COUNTRY": "DE",
    "CHARGELEDGER_OPERATOR_VAT_ID": "DE136695976",
    "CHARGELEDGER_OPERATOR_EMAIL": "billing@demo.chargeledger.org",
    "CHARGELEDGER_OPERATOR_IBAN": "DE89370400440532013000",
    "CHARGELEDGER_OPERATOR_BIC": "COBADEFFXXX",
    "CHARGELEDGER_OPERATOR_REGISTRATION": "HRB 123456 B",
    "CHARGELEDGER_OPERATOR_TIME_ZONE": "Europe/Berlin",
    "CHARGELEDGER_DATEV_CONSULTANT": "1001",  # demo numbers of a tax advisor and client
    "CHARGELEDGER_DATEV_CLIENT": "1",
}


@dataclass(slots=True)
class MonthReport:
    period: str
    charged: int = 0
    unpriced: int = 0
    documents: Counter[str] = field(default_factory=Counter)
    gross: dict[str, Decimal] = field(default_factory=dict)
    second_run_new: int = 0
    self_billed: int = 0  # site hosts' revenue shares settled (issue 14)
    validated: int = 0
    written: int = 0
    trial_balance: dict[Currency, Decimal] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    ledger_file: Path | None = None
    entries: int = 0
    postings: int = 0


async def month_end(runtime: Runtime, output_dir: Path) -> MonthReport:
    settings = runtime.settings
    seller, zone = settings.seller(), settings.operator_time_zone
    period = invoicing.today(runtime.clock, zone).strftime("%Y-%m")
    report = MonthReport(period)
    charged = await charge_completed_sessions(
        runtime.uow, runtime.clock, settings.vat_rates, zone, seller
    )
    # Paid sessions were charged at their stop already.
    report.charged = await reading(runtime.uow, books.charged_sessions)
    report.unpriced = len(charged.unpriced)
    rates = settings.vat_rates
    month = billing_period(BillingCycle.MONTHLY, period)
    await invoicing.run_invoices(runtime.uow, runtime.clock, seller, zone, period, rates=rates)
    shares = await settle_month_shares(runtime.uow, runtime.clock, seller, zone, rates, month)
    again = await invoicing.run_invoices(
        runtime.uow, runtime.clock, seller, zone, period, rates=rates
    )
    shared_again = await settle_month_shares(runtime.uow, runtime.clock, seller, zone, rates, month)
    report.self_billed = len(shares.issued)
    report.second_run_new = len(again.issued) + len(again.receipts) + len(shared_again.issued)
    documents = await reading(runtime.uow, invoice_documents.issued_documents)
    invoices = [d for d in documents if d.kind.value == "invoice"]
    if invoices:
        biggest = max(invoices, key=lambda i: i.gross_total)
        await in_transaction(
            runtime.uow,
            invoicing.issue_credit_note,
            runtime.clock,
            biggest.id,
            "Goodwill: connector fault reported during the first session",
            zone,
            positions=(1,),
        )
    return await refresh_ledger(runtime, report, output_dir)


async def refresh_ledger(runtime: Runtime, report: MonthReport, output_dir: Path) -> MonthReport:
    """Write every issued document and the ledger export; check the books."""
    seller = runtime.settings.seller()
    documents = await reading(runtime.uow, invoice_documents.issued_documents)
    report.documents.clear()
    report.gross.clear()
    report.validated = report.written = 0
    folder = output_dir / "invoices"
    folder.mkdir(parents=True, exist_ok=True)
    for document in documents:
        xml = runtime.documents.xml(document)
        runtime.documents.check(xml)
        report.validated += 1
        name = document.number or str(document.id)
        (folder / f"{name}.xml").write_bytes(xml)
        sealed = await reading(runtime.uow, invoice_documents.document_hash, document)
        (folder / f"{name}.pdf").write_bytes(runtime.documents.pdf(document, sealed))
        report.written += 2
        report.documents[document.kind.value] += 1
        report.gross[document.kind.value] = (
            report.gross.get(document.kind.value, Decimal(0)) + document.gross_total
        )
    books_now = await reading(runtime.uow, books.snapshot)
    report.trial_balance = books_now.trial_balance
    report.problems = books_now.check.problems
    report.entries, report.postings = books_now.check.entries, books_now.check.postings
    beancount = runtime.exports.accounting("beancount")
    report.ledger_file = output_dir / "ledger.beancount"
    report.ledger_file.write_text(
        beancount.export(
            books_now.journal, start=None, end=None, title=f"{seller.name} {report.period}"
        ),
        encoding="utf-8",
    )
    return report


def print_month(report: MonthReport, output_dir: Path) -> None:
    table = Table(
        title=f"Month end {report.period}: invoicing and the ledger", title_justify="left"
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("sessions charged (priced and booked)", str(report.charged)),
        ("sessions that could not be priced", str(report.unpriced)),
    ]
    for kind in ("invoice", "receipt", "credit_note", "self_billed"):
        count = report.documents.get(kind, 0)
        gross = report.gross.get(kind, Decimal(0))
        label = "self-billed invoices" if kind == "self_billed" else f"{kind.replace('_', ' ')}s"
        rows.append(
            (
                f"{label} issued (gross EUR)",
                f"{count} ({money_figure(gross, 'EUR')})",
            )
        )
    rows += [
        ("new documents from a second run of the same month", str(report.second_run_new)),
        ("e-invoices valid against the EN 16931 schema", f"{report.validated}"),
        ("files written (PDF + XML)", str(report.written)),
        ("journal entries / postings", f"{report.entries} / {report.postings}"),
        ("ledger check", "clean" if not report.problems else "; ".join(report.problems)),
    ]
    rows += [
        (f"trial balance {currency}", exact_amount(total, currency))
        for currency, total in sorted(report.trial_balance.items())
    ]
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)
    console.print(
        f"Documents: {output_dir / 'invoices'}  Ledger: {report.ledger_file} "
        "(check it with bean-check)"
    )
