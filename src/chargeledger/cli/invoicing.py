"""``chargeledger invoice ...``: charge sessions, run invoicing, list, show, issue and credit."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.invoicing import DocumentKind, Invoice, Layout
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.domain.text import money_figure, money_text, percent_text
from chargeledger.services.billing import invoice_documents, invoicing
from chargeledger.services.billing.charges import ChargingResult, charge_completed_sessions
from chargeledger.services.billing.invoice_documents import InvoiceView
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoice_runs import run_month
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

invoice_app = typer.Typer(
    help="Charges, invoices, receipts and credit notes.", no_args_is_help=True
)


async def charge_sessions(rt: Runtime) -> ChargingResult:
    settings = rt.settings
    seller = settings.seller() if settings.operator else None
    return await charge_completed_sessions(
        rt.uow,
        rt.clock,
        settings.vat_rates,
        settings.operator_time_zone,
        seller,
        charges_kept=False,
    )


@invoice_app.command("charge")
def charge_command() -> None:
    """Price every completed session that has no charge yet and book it (receipts for ad hoc
    payers when the operator's details are set)."""

    async def work(rt: Runtime) -> None:
        result = await charge_sessions(rt)
        console.print(
            f"charged {result.total} sessions, {len(result.receipts)} receipts issued"
            + (f", {len(result.unpriced)} could not be priced" if result.unpriced else "")
        )

    run_with_runtime(work)


@invoice_app.command("run")
def run_command(
    period: Annotated[str, typer.Option(help="the month, e.g. 2026-10")],
    layout: Annotated[Layout, typer.Option(help="lines per session or per site")] = (
        Layout.PER_SESSION
    ),
    draft: Annotated[bool, typer.Option(help="leave the invoices as drafts")] = False,
) -> None:
    """Invoice every postpaid account for the periods of its cycle ending in the month;
    re-running creates nothing new. A run started while another is under way (here or on the
    server) waits for it, then reports what it billed as already invoiced."""

    async def work(rt: Runtime) -> invoicing.RunResult:
        return (
            await run_month(rt.invoicer(), period, layout, not draft, lines_kept=False)
        ).invoiced

    result = run_with_runtime(work)
    made = result.issued or result.drafts
    console.print(
        f"period {result.period[0]} to {result.period[1]}: "
        f"{len(result.issued)} invoices issued, {len(result.drafts)} drafts, "
        f"{len(result.receipts)} receipts, {result.already_done} already invoiced before"
    )
    totals: dict[str, Decimal] = {}
    for document in made:
        totals[document.currency] = totals.get(document.currency, Decimal(0)) + document.gross_total
    for currency, total in sorted(totals.items()):
        console.print(f"total invoiced (gross): {money_text(total, currency)}")


@invoice_app.command("list")
def list_command(
    account: Annotated[uuid.UUID | None, typer.Option(help="one account's documents")] = None,
    kind: Annotated[DocumentKind | None, typer.Option()] = None,
    status: Annotated[
        PaymentStatus | None, typer.Option(help="derived status, e.g. overdue or open")
    ] = None,
    limit: Annotated[int, typer.Option()] = 50,
    offset: Annotated[int, typer.Option()] = 0,
) -> None:
    """List invoices, receipts and credit notes with their status and what is still open."""

    async def work(rt: Runtime) -> list[InvoiceView]:
        on = invoicing.today(rt.clock, rt.settings.operator_time_zone)
        criteria = InvoiceFilter(account_id=account, kind=kind, payment_status=status, on=on)
        page = await reading(rt.uow, invoice_documents.list_documents, criteria, limit, offset, on)
        return list(page.items)

    table = Table()
    columns = ("number", "kind", "status", "buyer", "issued", "due", "net", "VAT", "gross", "open")
    for column in columns:
        amount = column in ("net", "VAT", "gross", "open")
        table.add_column(column, justify="right" if amount else "left")
    for view in run_with_runtime(work):
        i = view.invoice
        table.add_row(
            i.number or str(i.id),
            i.kind.value,
            view.status.value,
            i.buyer.name,
            str(i.issue_date or ""),
            str(i.due_date or ""),
            money_figure(i.net_total, i.currency),
            money_figure(i.tax_total, i.currency),
            money_text(i.gross_total, i.currency),
            money_text(view.outstanding, i.currency),
        )
    console.print(table)


@invoice_app.command("show")
def show_command(number: Annotated[str, typer.Argument(help="number or id")]) -> None:
    """Show a document with its lines and VAT breakdown."""

    async def work(rt: Runtime) -> tuple[Invoice, str]:
        on = invoicing.today(rt.clock, rt.settings.operator_time_zone)
        view = await reading(rt.uow, invoice_documents.view_by_reference, number, on)
        open_text = money_text(view.outstanding, view.invoice.currency)
        return view.invoice, f"{view.status.value}, {open_text} open"

    invoice, status = run_with_runtime(work)
    console.print(
        f"[bold]{invoice.kind.value} {invoice.number or invoice.id}[/] ({status})\n"
        f"to {invoice.buyer.name}, {invoice.buyer.country}"
        + (f", VAT id {invoice.buyer.vat_id}" if invoice.buyer.vat_id else "")
        + f"\nperiod {invoice.period_start} to {invoice.period_end}, issued "
        f"{invoice.issue_date}, due {invoice.due_date}"
        + (f"\ncorrects {invoice.original_number}: {invoice.reason}" if invoice.reason else "")
    )
    table = Table()
    for column in ("#", "description", "net", "VAT %"):
        table.add_column(column)
    currency = invoice.currency
    for line in invoice.document_lines():
        table.add_row(
            str(line.position),
            line.description,
            money_figure(line.net, currency),
            percent_text(line.vat_percent),
        )
    console.print(table)
    for subtotal in invoice.vat_subtotals:
        console.print(
            f"VAT {subtotal.category.value} {percent_text(subtotal.percent)}% on "
            f"{money_figure(subtotal.taxable, currency)}: {money_figure(subtotal.tax, currency)}"
            + (f" ({subtotal.note})" if subtotal.note else "")
        )
    console.print(
        f"net {money_figure(invoice.net_total, currency)}, "
        f"VAT {money_figure(invoice.tax_total, currency)}, "
        f"[bold]total {money_text(invoice.gross_total, currency)}[/]"
    )


@invoice_app.command("issue")
def issue_command(invoice_id: Annotated[uuid.UUID, typer.Argument()]) -> None:
    """Issue a draft: it gets the next number of its series and is booked."""

    async def work(rt: Runtime) -> Invoice:
        return await in_transaction(
            rt.uow, invoicing.issue_invoice, rt.clock, invoice_id, rt.settings.operator_time_zone
        )

    console.print(f"issued {run_with_runtime(work).number}")


@invoice_app.command("credit")
def credit_command(
    number: Annotated[str, typer.Argument(help="the invoice or receipt to correct")],
    reason: Annotated[str, typer.Option(help="why: printed on the credit note")],
    lines: Annotated[str | None, typer.Option(help="line numbers, e.g. 1,3")] = None,
    amount: Annotated[str | None, typer.Option(help="a net amount instead of lines")] = None,
) -> None:
    """Issue a credit note for all of a document, some lines, or a net amount."""
    try:
        positions = tuple(int(p) for p in lines.split(",")) if lines else None
        net = Decimal(amount) if amount else None
    except (ValueError, InvalidOperation):
        raise fail(
            "--lines takes numbers like 1,3 and --amount a number", "invalid_input"
        ) from None

    async def work(rt: Runtime) -> Invoice:
        return await in_transaction(
            rt.uow,
            invoice_documents.credit_by_reference,
            rt.clock,
            number,
            reason,
            rt.settings.operator_time_zone,
            positions,
            net,
        )

    note = run_with_runtime(work)
    console.print(f"issued {note.number}: {money_text(note.gross_total, note.currency)}")
