"""``chargeledger dunning ...``: send the notices due, an invoice's dunning history, and
disputes that pause it (``serve`` runs dunning every ``CHARGELEDGER_DUNNING_INTERVAL_SECONDS``)."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.dunning import DunningEvent
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.text import money_text
from chargeledger.money import Money
from chargeledger.services.billing import dunning
from chargeledger.services.billing.dunning import DunningReport
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

dunning_app = typer.Typer(help="Dunning: reminders, fees, disputes.", no_args_is_help=True)


def _money(value: Money | None) -> str:
    return "" if value is None else money_text(value.amount, value.currency.code)


def _table(title: str, events: list[DunningEvent], numbers: dict[str, str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("invoice", "date", "event", "level", "open", "fee", "comp.", "interest", "by"):
        table.add_column(column)
    for event in events:
        table.add_row(
            numbers.get(str(event.invoice_id), str(event.invoice_id)),
            event.on.isoformat(),
            event.kind.value + (" (blocks tokens)" if event.blocks_tokens else ""),
            "" if event.level is None else f"{event.level} {event.title}",
            _money(event.outstanding),
            _money(event.fee),
            _money(event.compensation),
            _money(event.interest),
            event.by or "",
        )
    return table


@dunning_app.command("run")
def run_command(
    on: Annotated[
        datetime | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="the day (default: today)"),
    ] = None,
) -> None:
    """Send every overdue invoice the notice it is due (each level once per invoice)."""
    day: date | None = None if on is None else on.date()

    async def work(rt: Runtime) -> DunningReport:
        return await in_transaction(rt.uow, dunning.run_dunning, rt.clock, rt.dunning_terms(), day)

    report = run_with_runtime(work)
    console.print(
        f"{report.on}: {report.overdue} overdue, {len(report.notices)} notices, "
        f"{report.disputed} disputed (paused)"
    )
    if report.notices:
        console.print(_table("Notices", report.notices, {}))


@dunning_app.command("show")
def show_command(invoice: Annotated[str, typer.Argument(help="invoice number or id")]) -> None:
    """An invoice's notices and disputes."""

    async def work(rt: Runtime) -> tuple[Invoice, list[DunningEvent]]:
        return await reading(rt.uow, dunning.history_by_reference, invoice)

    found, events = run_with_runtime(work)
    console.print(_table(f"Dunning of {found.number}", events, {str(found.id): found.number or ""}))


def _by_hand(
    invoice: str,
    change: Callable[..., Awaitable[list[DunningEvent]]],
    what: object,
    note: str | None,
) -> list[DunningEvent]:
    """Finance's ``change`` (``set_disputed``, ``waive_claim``: the same shape) to the invoice
    named by number or id, as this shell's user, in one transaction; answers the invoice's
    dunning history."""

    async def work(rt: Runtime) -> list[DunningEvent]:
        found, _ = await reading(rt.uow, dunning.history_by_reference, invoice)
        zone, by = rt.settings.operator_time_zone, f"cli:{getpass.getuser()}"
        return await in_transaction(rt.uow, change, rt.clock, zone, found.id, what, by, note)

    return run_with_runtime(work)


def _dispute(invoice: str, disputed: bool, note: str | None) -> None:
    events = _by_hand(invoice, dunning.set_disputed, disputed, note)
    console.print(f"{invoice}: {events[-1].kind.value}")


@dunning_app.command("dispute")
def dispute_command(
    invoice: Annotated[str, typer.Argument(help="invoice number or id")],
    note: Annotated[str | None, typer.Option(help="what the customer disputes")] = None,
) -> None:
    """Pause dunning of an invoice while the customer disputes it."""
    _dispute(invoice, True, note)


@dunning_app.command("undispute")
def undispute_command(
    invoice: Annotated[str, typer.Argument(help="invoice number or id")],
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Resume dunning of an invoice: the dispute is settled."""
    _dispute(invoice, False, note)


@dunning_app.command("waive")
def waive_command(
    invoice: Annotated[str, typer.Argument(help="invoice number or id")],
    level: Annotated[int, typer.Argument(help="the notice's level", min=1)],
    note: Annotated[str, typer.Option(help="why the claim is waived (kept with it)")],
) -> None:
    """Waive what an invoice's notice claimed (fee, compensation, interest); once per notice."""
    events = _by_hand(invoice, dunning.waive_claim, level, note)
    waived = events[-1].claimed
    console.print(f"{invoice}: level {level} claim waived ({waived})")
