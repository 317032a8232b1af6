"""``chargeledger sessions reprice|repricings`` (issue 15): re-price a charged session under a
corrected tariff version and/or readings, with a reason, and list a session's re-pricings. The
same use case as ``POST /api/v1/sessions/{id}/reprice``; a refund is asked through the
configured PSP like ``payments refund``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.cli.customers import SHELL
from chargeledger.domain.repricing import PricedAs
from chargeledger.domain.text import money_text, plain_number
from chargeledger.services.billing.repricing import RepriceRequest
from chargeledger.services.payments.repricing import reprice_session
from chargeledger.services.payments.repricing_views import RepricingView, list_repricings
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime


def _price(priced: PricedAs, currency: str) -> str:
    return (
        f"{plain_number(priced.energy_kwh, 3)} kWh ({plain_number(priced.meter_start_wh)} → "
        f"{plain_number(priced.meter_stop_wh)} Wh), {money_text(priced.gross, currency)}"
    )


def _issued(view: RepricingView) -> str:
    """What the re-pricing produced, in a few words."""
    r = view.repricing
    amount = money_text(abs(r.amount), r.currency.code)
    parts = [r.outcome.value.replace("_", " ")]
    if view.credit_note is not None:
        parts.append(f"credit note {view.credit_note.number} of {amount}")
    if view.refund is not None:
        refunded = money_text(view.refund.refunded, r.currency.code)
        parts.append(f"refund {view.refund.status.value} ({refunded})")
    if view.invoice is not None:
        parts.append(f"billed on {view.invoice.number}")
    elif r.outcome.value in ("next_invoice", "owed"):
        parts.append(f"{amount} {'more' if r.amount > 0 else 'less'}")
    return ", ".join(parts)


def reprice_command(
    session_id: uuid.UUID,
    reason: Annotated[str, typer.Option(help="why; kept with the re-pricing and its documents")],
    tariff: Annotated[
        uuid.UUID | None, typer.Option(help="the tariff version to price with")
    ] = None,
    meter_start: Annotated[Decimal | None, typer.Option(help="corrected start reading, Wh")] = None,
    meter_stop: Annotated[Decimal | None, typer.Option(help="corrected stop reading, Wh")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="the same key re-prices once (a retry is safe)")
    ] = None,
) -> None:
    """Re-price a charged session under a corrected tariff version and/or readings: the
    difference becomes a correction on the next invoice, a credit note or a refund."""
    request = RepriceRequest(
        reason=reason,
        tariff_id=tariff,
        meter_start_wh=meter_start,
        meter_stop_wh=meter_stop,
        request_key=None if idempotency_key is None else f"cli:{idempotency_key}",
    )

    async def work(rt: Runtime) -> RepricingView:
        view = await reprice_session(rt.payments, SHELL, session_id, request)
        await rt.quiesce()  # the sandbox's webhooks of a refund, before the process ends
        return view

    view = run_with_runtime(work)
    r = view.repricing
    currency = r.currency.code
    console.print(
        f"re-priced session {r.session_id} (#{r.sequence}): {_price(r.before, currency)} → "
        f"{_price(r.after, currency)}\n{_issued(view)}",
        highlight=False,
    )


def repricings_command(session_id: uuid.UUID) -> None:
    """A session's re-pricings, first to last, with what each issued."""

    async def work(rt: Runtime) -> list[RepricingView]:
        return await reading(rt.uow, list_repricings, SHELL, session_id)

    table = Table("#", "when (UTC)", "by", "before", "after", "issued", "reason")
    for view in run_with_runtime(work):
        r = view.repricing
        table.add_row(
            str(r.sequence),
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.created_by,
            money_text(r.before.gross, r.currency.code),
            money_text(r.after.gross, r.currency.code),
            _issued(view),
            r.reason,
        )
    console.print(table)
