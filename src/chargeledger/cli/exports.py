"""``chargeledger export ...``: the ledger (Beancount, CSV), invoices (CSV) and OCPI CDRs."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer

from chargeledger.adapters.exports.csv_formats import invoices_csv
from chargeledger.adapters.exports.registry import exporter
from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.billing import cdr_totals
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.tariffs.ocpi_json import cdr_to_json
from chargeledger.errors import ChargeledgerError
from chargeledger.services.ports import InvoiceFilter
from chargeledger.services.session_pricing import price_captured_session

export_app = typer.Typer(help="Exports for accountants and roaming partners.", no_args_is_help=True)

From = Annotated[str | None, typer.Option("--from", help="first day, e.g. 2026-10-01")]
To = Annotated[str | None, typer.Option("--to", help="day after the last, e.g. 2026-11-01")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="file; stdout if left out")]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} takes a date like 2026-10-01", "invalid_date") from None


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {what} to {output}", highlight=False)


@export_app.command("ledger")
def export_ledger(
    export_format: Annotated[str, typer.Option("--format", help="beancount or csv")] = "beancount",
    start: From = None,
    end: To = None,
    output: Output = None,
) -> None:
    """Journal entries booked in [--from, --to) for accounting software."""
    first, last = _day(start, "--from"), _day(end, "--to")
    try:
        chosen = exporter(export_format)
    except ChargeledgerError as exc:
        raise fail(exc.message, exc.code) from None

    async def work(rt: Runtime) -> str:
        async with rt.uow() as uow:
            entries = await uow.ledger.entries(first, last)
        title = rt.settings.operator.get("name", "chargeledger")
        return chosen.export(entries, start=first, end=last, title=title)

    _write(run_with_runtime(work), output, f"the ledger ({export_format})")


@export_app.command("invoices")
def export_invoices(start: From = None, end: To = None, output: Output = None) -> None:
    """Invoices, receipts and credit notes issued in [--from, --to) as CSV."""
    first, last = _day(start, "--from"), _day(end, "--to")

    async def work(rt: Runtime) -> list[Invoice]:
        found: list[Invoice] = []
        offset: int | None = 0
        async with rt.uow() as uow:
            while offset is not None:
                page = await uow.billing.list_invoices(
                    InvoiceFilter(issued_from=first, issued_before=last), limit=1000, offset=offset
                )
                found += page.items
                offset = page.next_offset
        return found

    _write(invoices_csv(run_with_runtime(work)), output, "the invoices (CSV)")


@export_app.command("cdrs")
def export_cdrs(start: From = None, end: To = None, output: Output = None) -> None:
    """OCPI 2.2.1 CDRs (§10.3.1) of the charged sessions that started in [--from, --to)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    window = (
        datetime.combine(first or date(1970, 1, 1), time(0), UTC),
        datetime.combine(last or date(9999, 1, 1), time(0), UTC),
    )

    async def work(rt: Runtime) -> list[dict[str, Any]]:
        documents = []
        async with rt.uow() as uow:
            for charge in await uow.billing.charges_between(*window):
                session = await uow.sessions.get(charge.session_id)
                if session is None:
                    continue
                priced = await price_captured_session(uow, session, rt.settings.vat_rates)
                totals = cdr_totals(priced.result, charge.billed)  # as booked
                documents.append(cdr_to_json(priced.cdr, totals, priced.country))
        return documents

    text = json.dumps(run_with_runtime(work), default=float, indent=2) + "\n"
    _write(text, output, "the CDRs (OCPI JSON)")
