"""``chargeledger payments ...``: the payments list, the janitor and refunds by hand."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.cli.customers import SHELL
from chargeledger.domain.payments import Payment, PaymentState
from chargeledger.domain.text import exact_amount, money_text
from chargeledger.services.payments import views as payment_views
from chargeledger.services.payments.janitor import JanitorReport
from chargeledger.services.payments.ports import PaymentFilter
from chargeledger.services.payments.refunds import refund_payment
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

payments_app = typer.Typer(help="Card, app and wallet payments.", no_args_is_help=True)


@payments_app.command("list")
def list_command(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """The newest payments with their derived state."""

    async def work(rt: Runtime) -> list[tuple[Payment, PaymentState]]:
        page = await reading(rt.uow, payment_views.list_payments, SHELL, PaymentFilter(), limit, 0)
        return [(d.payment, d.state) for d in page.items]

    table = Table(title="Payments", title_justify="left")
    for column in ("id", "purpose", "method", "state", "held", "captured", "refunded"):
        table.add_column(column)
    for payment, state in run_with_runtime(work):
        table.add_row(
            str(payment.id),
            payment.purpose.value,
            payment.method.value,
            state.status.value,
            exact_amount(state.authorised, payment.currency),
            exact_amount(state.captured, payment.currency),
            exact_amount(state.refunded, payment.currency),
        )
    console.print(table)


@payments_app.command("janitor")
def janitor_command() -> None:
    """Settle unknown outcomes by asking the PSP, capture finished sessions' holds, release
    holds that were never used (what the server does every minute)."""

    async def work(rt: Runtime) -> JanitorReport:
        # Safe next to a running server, the sandbox PSP included: its state is in the
        # database and its turns queue across processes (adapters/db/repositories/sandbox.py).
        report = await rt.payment_janitor()
        await rt.quiesce()  # the sandbox's webhooks of what it did, before the process ends
        return report

    report = run_with_runtime(work)
    console.print(
        f"resolved {len(report.resolved)}, settled {len(report.settled)}, "
        f"released {len(report.released)}"
    )


@payments_app.command("refund")
def refund_command(
    payment_id: str,
    reason: Annotated[str, typer.Option(help="why; printed on the credit note")],
    amount: Annotated[str | None, typer.Option(help="default: all that is left")] = None,
) -> None:
    """Refund a payment in full or in part (a session's receipt gets a credit note)."""
    try:
        wanted = None if amount is None else Decimal(amount)
        target = uuid.UUID(payment_id)
    except (InvalidOperation, ValueError):
        raise fail("give a payment id and an amount like 12.50", "invalid_input") from None

    async def work(rt: Runtime) -> tuple[str, PaymentState]:
        payment, state = await refund_payment(rt.payments, target, wanted, reason)
        return payment.currency, state

    currency, state = run_with_runtime(work)
    console.print(
        f"refunded {money_text(state.refunded, currency)} of "
        f"{money_text(state.captured, currency)}: {state.status.value}"
    )
