"""``chargeledger payouts ...``: the PSP's booked payouts, each reconciled with what it settled
and the bank line that brought it in (issue 13). Reading only: payouts are booked from the
PSP's reports (its webhook, the periodic job of ``serve``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.payout_reconciliation import PayoutStatus
from chargeledger.domain.text import money_text
from chargeledger.money import Money
from chargeledger.services.payments import payout_reconciliation as payouts
from chargeledger.services.payments.payout_reconciliation import PayoutView
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

payouts_app = typer.Typer(help="PSP payouts and their reconciliation.", no_args_is_help=True)

_COLOURS = {
    PayoutStatus.RECONCILED: "green",
    PayoutStatus.DIFFERENCES: "red",
    PayoutStatus.BANK_LINE_MISSING: "yellow",
    PayoutStatus.NO_ITEMS: "yellow",
}


def _money(value: Money) -> str:
    return money_text(value.amount, value.currency.code)


def _status(view: PayoutView) -> str:
    status = view.reconciliation.status
    return f"[{_COLOURS[status]}]{status.value}[/]"


@payouts_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Booked payouts, newest first: gross, fee, net, items and reconciliation status."""

    async def work(rt: Runtime) -> list[PayoutView]:
        gateways = list(rt.payments.gateways)
        page = await reading(rt.uow, payouts.list_payouts, gateways, limit, offset)
        return list(page.items)

    table = Table(title="Payouts", title_justify="left")
    for column in ("payout", "psp", "booked", "gross", "fee", "net", "items", "bank", "status"):
        numeric = column in ("gross", "fee", "net", "items", "bank")
        table.add_column(column, justify="right" if numeric else "left")
    for view in run_with_runtime(work):
        payout, found = view.payout, view.reconciliation
        table.add_row(
            escape(payout.payout_id),
            escape(view.gateway),
            payout.booked_on.isoformat(),
            _money(payout.gross),
            _money(payout.fee),
            _money(payout.net),
            str(len(found.items)),
            "" if found.bank_line is None else _money(found.bank_line.amount),
            _status(view),
        )
    console.print(table)


@payouts_app.command("show")
def show_command(payout_id: str) -> None:
    """One payout: each item and how it matched our books, the bank line, the differences."""

    async def work(rt: Runtime) -> PayoutView:
        gateways = list(rt.payments.gateways)
        return await reading(rt.uow, payouts.show_payout, gateways, payout_id)

    view = run_with_runtime(work)
    payout, found = view.payout, view.reconciliation
    console.print(
        f"payout {escape(payout.payout_id)} from {escape(view.gateway)}, booked "
        f"{payout.booked_on.isoformat()}: gross {_money(payout.gross)}, fee "
        f"{_money(payout.fee)}, net {_money(payout.net)} — {_status(view)}"
    )
    table = Table(title="Items", title_justify="left")
    for column in ("item", "kind", "psp payment", "our payment", "amount", "fee", "ours", "match"):
        numeric = column in ("amount", "fee", "ours")
        table.add_column(column, justify="right" if numeric else "left")
    for check in found.items:
        item = check.item
        currency = item.amount.currency.code
        table.add_row(
            escape(item.item_id),
            item.kind.value,
            escape(item.provider_ref or ""),
            "" if check.payment_id is None else str(check.payment_id),
            _money(item.amount),
            _money(item.fee),
            "" if check.ours is None else money_text(check.ours, currency),
            check.status.value,
        )
    console.print(table)
    line = found.bank_line
    if line is None:
        console.print("bank line: not seen yet")
    else:
        day = "" if line.booking_date is None else f" on {line.booking_date.isoformat()}"
        console.print(f"bank line {escape(line.entry_ref)}{day}: {_money(line.amount)}")
    for difference in found.differences:
        console.print(f"[yellow]difference[/] {escape(difference)}")
