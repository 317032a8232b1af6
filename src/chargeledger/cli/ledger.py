"""``chargeledger ledger ...``: invariant check, trial balance, balances and statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.ledger import Balance
from chargeledger.domain.text import exact_amount
from chargeledger.services.billing import books, ledger
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} takes a date like 2026-10-31", "invalid_date") from None


@ledger_app.command("check")
def check_command() -> None:
    """Check the invariants: balanced entries, zero trial balance, every issued document
    booked, gap-free numbers. Exits 1 when anything is wrong."""

    async def work(rt: Runtime) -> books.LedgerCheck:
        return await reading(rt.uow, books.checked_ledger)

    check = run_with_runtime(work)
    problems, entries, postings = check.problems, check.entries, check.postings
    for problem in problems:
        console.print(f"[red]✗[/] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"[green]✓[/] ledger consistent: {entries} entries, {postings} postings")


def print_balances(balances: list[Balance], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("account", "currency", "debit", "credit", "balance"):
        table.add_column(column, justify="left" if column == "account" else "right")
    totals: dict[str, Decimal] = {}
    for b in balances:
        table.add_row(
            b.account,
            b.currency,
            exact_amount(b.debit, b.currency),
            exact_amount(b.credit, b.currency),
            exact_amount(b.balance, b.currency),
        )
        totals[b.currency] = totals.get(b.currency, Decimal(0)) + b.balance
    for currency, total in sorted(totals.items()):
        table.add_row(
            "[bold]total[/]", currency, "", "", f"[bold]{exact_amount(total, currency)}[/]"
        )
    console.print(table)


@ledger_app.command("trial-balance")
def trial_balance_command(
    until: Annotated[str | None, typer.Option(help="entries booked before this date")] = None,
) -> None:
    """Every account's debits, credits and balance; the total is zero in healthy books."""
    before = _day(until, "--until")

    async def work(rt: Runtime) -> list[Balance]:
        return await reading(rt.uow, ledger.balances, None, before)

    print_balances(run_with_runtime(work), "Trial balance")


@ledger_app.command("statement")
def statement_command(
    account: Annotated[str, typer.Argument(help="e.g. Assets:Receivable:C1A2...")],
    start: Annotated[str | None, typer.Option("--from")] = None,
    end: Annotated[str | None, typer.Option("--to", help="exclusive")] = None,
) -> None:
    """An account's postings with the running balance."""
    first, last = _day(start, "--from"), _day(end, "--to")

    async def work(rt: Runtime) -> list[ledger.Statement]:
        return await reading(rt.uow, ledger.statement, account, first, last)

    for statement in run_with_runtime(work):
        table = Table(title=f"{account} ({statement.currency})", title_justify="left")
        for column in ("date", "entry", "amount", "balance"):
            table.add_column(column, justify="right" if column in ("amount", "balance") else "left")
        currency = statement.currency
        table.add_row("", "opening balance", "", exact_amount(statement.opening, currency))
        for line in statement.lines:
            table.add_row(
                str(line.entry.booked_on),
                line.entry.description,
                exact_amount(line.posting.units.amount, currency),
                exact_amount(line.running_balance, currency),
            )
        table.add_row("", "closing balance", "", exact_amount(statement.closing, currency))
        console.print(table)
