"""``chargeledger export ...``: the ledger (Beancount, CSV, DATEV), invoices (CSV) and OCPI
CDRs."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.exact_json import dumps
from chargeledger.errors import ChargeledgerError
from chargeledger.services.billing import cdr_exports, invoice_documents
from chargeledger.services.billing.ledger_exports import (
    LedgerFile,
    books_title,
    chosen_format,
    ledger_file,
)
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

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


def _write(text: str, output: Path | None, what: str, encoding: str = "utf-8") -> None:
    """The text in ``encoding``, byte for byte: line ends stay as the format wrote them (CRLF
    in CSV and DATEV files) on every platform."""
    _write_bytes(text.encode(encoding), output, what)


def _write_bytes(data: bytes, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(data)
    console.print(f"wrote {what} to {output}", highlight=False)


@export_app.command("ledger")
def export_ledger(
    export_format: Annotated[
        str, typer.Option("--format", help="beancount, csv or datev")
    ] = "beancount",
    start: From = None,
    end: To = None,
    output: Output = None,
) -> None:
    """Journal entries booked in [--from, --to) for accounting software."""
    first, last = _day(start, "--from"), _day(end, "--to")

    async def work(rt: Runtime) -> LedgerFile:
        title = books_title(rt.settings.operator)
        try:
            chosen_format(rt.exports, export_format)
        except ChargeledgerError as exc:
            raise fail(exc.message, exc.code) from None
        return await ledger_file(rt.uow, rt.exports, export_format, first, last, title)

    found = run_with_runtime(work)
    _write_bytes(found.content, output, f"the ledger ({export_format})")


@export_app.command("invoices")
def export_invoices(start: From = None, end: To = None, output: Output = None) -> None:
    """Invoices, receipts and credit notes issued in [--from, --to) as CSV."""
    first, last = _day(start, "--from"), _day(end, "--to")

    async def work(rt: Runtime) -> str:
        found = await reading(rt.uow, invoice_documents.issued_between, first, last)
        return rt.exports.invoice_register(found)

    _write(run_with_runtime(work), output, "the invoices (CSV)")


@export_app.command("cdrs")
def export_cdrs(start: From = None, end: To = None, output: Output = None) -> None:
    """OCPI 2.2.1 CDRs (§10.3.1) of the charged sessions that started in [--from, --to).

    Complete, as partners pull them; without CHARGELEDGER_OCPI_* our party is left out."""
    first, last = _day(start, "--from"), _day(end, "--to")
    window = (
        datetime.combine(first or date(1970, 1, 1), time(0), UTC),
        datetime.combine(last or date(9999, 1, 1), time(0), UTC),
    )

    async def work(rt: Runtime) -> list[dict[str, Any]]:
        cpo = rt.settings.roaming.party
        return await reading(
            rt.uow, cdr_exports.cdrs_between, *window, rt.settings.vat_rates, cpo=cpo
        )

    # Exact numbers, as the OCPI API writes them (never a float), indented for reading.
    text = dumps(run_with_runtime(work), indent=2) + "\n"
    _write(text, output, "the CDRs (OCPI JSON)")
