"""``chargeledger bank ...``: import bank statements and work through the unmatched queue."""

from __future__ import annotations

import getpass
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.text import money_text
from chargeledger.services.billing import bank_decisions as decisions
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing.bank_reconciliation import ImportReport
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

bank_app = typer.Typer(help="Bank statements and the unmatched queue.", no_args_is_help=True)


def _who() -> str:
    """Who decides, for the audit trail: the shell's user (the CLI runs on the server)."""
    return f"cli:{getpass.getuser()}"


@bank_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a camt.053 (.001.02/.04/.08) or CSV statement; entries already imported are
    skipped. Prints entries new / matched / unmatched."""
    data = file.read_bytes()

    async def work(rt: Runtime) -> ImportReport:
        return await bank.import_statement_file(
            rt.uow,
            rt.locks,
            rt.clock,
            rt.settings.operator_time_zone,
            rt.statements,
            data,
            filename=file.name,
            imported_by=_who(),
        )

    report = run_with_runtime(work)
    console.print(
        f"{report.statements} statement(s): {report.new} entries new, "
        f"{report.duplicates} already imported; {report.matched} matched, "
        f"{report.unmatched} unmatched"
        + "".join(f"\n  {state.value}: {n}" for state, n in sorted(report.states.items()))
        + "".join(f"\n  matched by {rule}: {n}" for rule, n in sorted(report.by_rule.items()))
    )
    for gap in report.balance_gaps:
        console.print(f"[yellow]balances disagree[/] {gap}: is the file complete?")
    for difference in report.payout_differences:
        console.print(f"[yellow]payout differs[/] {difference} (booked to suspense)")


@bank_app.command("entries")
def entries_command(
    state: Annotated[EntryState | None, typer.Option(help="e.g. unmatched")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Statement entries with what became of them (the best guess of unmatched ones)."""

    async def work(rt: Runtime) -> list[BankEntry]:
        return list((await reading(rt.uow, decisions.list_entries, state, limit, 0)).items)

    table = Table(title="Bank entries", title_justify="left")
    for column in ("id", "date", "amount", "payer", "text", "state", "rule", "invoice"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for record in run_with_runtime(work):
        entry = record.entry
        sign = "-" if entry.direction.value == "DBIT" else ""
        table.add_row(
            str(record.id),
            str(entry.booking_date or ""),
            sign + money_text(entry.amount.amount, entry.amount.currency.code),
            entry.counterparty_name or entry.counterparty_iban or "",
            entry.creditor_reference or " ".join((entry.remittance_unstructured or "").split()),
            record.state.value,
            f"{record.rule} {record.confidence}" if record.rule else "",
            str(record.invoice_id or ""),
        )
    console.print(table)


def _decided(record: BankEntry) -> None:
    console.print(f"entry {record.id}: {record.state.value} by {record.decided_by}")


@bank_app.command("match")
def match_command(
    entry_id: Annotated[uuid.UUID, typer.Argument()],
    invoice: Annotated[str, typer.Argument(help="invoice number or id")],
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Match an unmatched receipt to an invoice (the rest becomes account credit)."""

    async def work(rt: Runtime) -> BankEntry:
        tz = rt.settings.operator_time_zone
        return await in_transaction(
            rt.uow, decisions.match_entry, rt.clock, tz, entry_id, invoice, _who(), note
        )

    _decided(run_with_runtime(work))


@bank_app.command("credit")
def credit_command(
    entry_id: Annotated[uuid.UUID, typer.Argument()],
    account: Annotated[uuid.UUID, typer.Argument(help="the customer account")],
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Keep an unmatched receipt as a customer's credit (their open invoices use it)."""

    async def work(rt: Runtime) -> BankEntry:
        tz = rt.settings.operator_time_zone
        return await in_transaction(
            rt.uow, decisions.credit_entry, rt.clock, tz, entry_id, account, _who(), note
        )

    _decided(run_with_runtime(work))


@bank_app.command("ignore")
def ignore_command(
    entry_id: Annotated[uuid.UUID, typer.Argument()],
    note: Annotated[str, typer.Option(help="why it is no customer payment")] = "",
) -> None:
    """Set aside an entry that is no customer payment (it stays in suspense)."""
    if not note.strip():
        raise fail("say why with --note", "missing_field")

    async def work(rt: Runtime) -> BankEntry:
        return await in_transaction(
            rt.uow, decisions.ignore_entry, rt.clock, entry_id, _who(), note
        )

    _decided(run_with_runtime(work))
