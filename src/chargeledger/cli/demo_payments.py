"""The demo's payments (issue 6): every way of paying, through the sandbox PSP.

Before the day: app users get a card (tokenised by the sandbox), prepaid accounts top their
wallets up, half of them with auto top-up. During the day: app sessions are held and
captured, wallets debited, RFID sessions accrue for the invoice run, and a few drivers pay
ad hoc by QR checkout (one with a declined card). After the month end: the janitor ends any
hold, one payment is partly refunded (with its credit note), and the PSP pays out; every
wallet is shown against its minimum with the bound of live credit control (issue 11).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import httpx
from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console
from chargeledger.domain.accounts import Account, BillingMode
from chargeledger.domain.payments import (
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    StoredCard,
)
from chargeledger.domain.text import money_figure, money_text
from chargeledger.services import customers
from chargeledger.services.payments import views as payment_views
from chargeledger.services.payments.methods import store_card
from chargeledger.services.payments.refunds import refund_payment
from chargeledger.services.payments.wallet_standing import WalletStanding, wallet_standing
from chargeledger.services.payments.wallets import WalletRules, set_wallet_rules, top_up
from chargeledger.services.transactions import in_transaction, reading
from chargeledger.sim.model import SimulationOptions

VISA, MASTERCARD, DECLINED = "4242424242424242", "5555555555554444", "4000000000000002"
FIRST_TOP_UP = Decimal("40.00")
METER_INTERVAL = timedelta(seconds=SimulationOptions().meter_interval_s)  # the simulator's


@dataclass(slots=True)
class PaymentReport:
    by_method_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    captured: dict[str, Decimal] = field(default_factory=dict)
    wallets: list[WalletStanding] = field(default_factory=list)
    checkouts: list[str] = field(default_factory=list)
    refunded: Decimal = Decimal(0)
    payouts: int = 0
    janitor: str = ""


async def prepare_payments(runtime: Runtime) -> None:
    """Cards for app users, first top-ups for prepaid wallets."""
    sandbox = runtime.sandbox
    assert sandbox is not None
    accounts = await reading(runtime.uow, customers.all_accounts)
    app_accounts = await reading(runtime.uow, customers.app_token_accounts)
    for index, account in enumerate(accounts):
        prepaid = account.billing_mode is BillingMode.PREPAID
        if account.id not in app_accounts and not prepaid:
            continue
        number = VISA if index % 2 else MASTERCARD
        details = await sandbox.tokenise(number, 12, runtime.clock.now().year + 3, "123")
        card = await store_card(runtime.payments, account, details.token, "sandbox", True)
        if prepaid:
            await _prepaid(runtime, account, card, auto=index % 2 == 0)
    await runtime.quiesce()


async def _prepaid(runtime: Runtime, account: Account, card: StoredCard, auto: bool) -> None:
    rules = WalletRules(
        minimum_balance=None,  # the operator's floor applies
        auto_top_up=auto,
        top_up_below=Decimal("30.00"),
        top_up_amount=Decimal("25.00"),
    )
    floor = runtime.payments.wallet_floor
    await in_transaction(runtime.uow, set_wallet_rules, runtime.clock, account, rules, floor)
    await top_up(runtime.payments, account, FIRST_TOP_UP, card, uuid.uuid4())


async def qr_checkouts(base_url: str, evses: list[tuple[str, int]], delay_s: float) -> list[str]:
    """Drivers scan the QR code: card to the PSP's field, token to us, the EVSE starts."""
    await asyncio.sleep(delay_s)
    outcomes = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for index, (station, evse) in enumerate(evses):
            number = DECLINED if index == len(evses) - 1 else VISA
            card = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
            token = (await http.post("/sandbox-psp/v1/tokens", json=card)).json()["token"]
            answer = await http.post(
                f"/pay/{station}/{evse}",
                json={"token": token},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            body = answer.json()
            outcome = body.get("status") if answer.is_success else body["error"]["code"]
            outcomes.append(f"{station}/{evse}: {outcome}, start {body.get('start')}")
    return outcomes


async def after_month(runtime: Runtime, report: PaymentReport) -> PaymentReport:
    """End every hold, refund one payment in part, pay out; then count."""
    janitor = await runtime.payment_janitor()
    report.janitor = (
        f"{len(janitor.resolved)} resolved, {len(janitor.settled)} settled, "
        f"{len(janitor.released)} released"
    )
    details = await reading(runtime.uow, payment_views.all_payments)
    payments = [d.payment for d in details]
    states = {d.payment.id: d.state for d in details}
    captured = [
        p
        for p in payments
        if p.purpose is PaymentPurpose.SESSION
        and p.method is PaymentMethodKind.APP
        and states[p.id].status is PaymentStatus.CAPTURED
    ]
    if captured:
        amount = (states[captured[0].id].captured / 2).quantize(Decimal("0.01"))
        await refund_payment(
            runtime.payments, captured[0].id, amount, "Demo: half refunded for a slow charger"
        )
        report.refunded = amount
    sandbox = runtime.sandbox
    assert sandbox is not None
    if await sandbox.pay_out("EUR") is not None:
        report.payouts += 1
    await runtime.quiesce()
    async with runtime.uow() as uow:
        for detail in await payment_views.all_payments(uow):
            payment, state = detail.payment, detail.state
            report.by_method_status[(payment.method.value, state.status.value)] += 1
            key = f"{payment.purpose.value}/{payment.method.value}"
            report.captured[key] = report.captured.get(key, Decimal(0)) + state.captured
        accounts = await customers.all_accounts(uow)
        floor = runtime.payments.wallet_floor
        for account in accounts:
            if account.billing_mode is BillingMode.PREPAID:
                standing = await wallet_standing(
                    uow, runtime.clock, account, floor, METER_INTERVAL, runtime.settings.vat_rates
                )
                report.wallets.append(standing)
    return report


def print_payments(report: PaymentReport) -> None:
    table = Table(title="Payments by method and state", title_justify="left")
    for column in ("method", "state", "payments"):
        table.add_column(column, justify="right" if column == "payments" else "left")
    for (method, status), count in sorted(report.by_method_status.items()):
        table.add_row(method, status, str(count))
    console.print(table)
    money = Table(title="Collected through the PSP and wallets", title_justify="left")
    money.add_column("purpose/method")
    money.add_column("captured EUR", justify="right")
    for key, amount in sorted(report.captured.items()):
        money.add_row(key, money_figure(amount, "EUR"))
    console.print(money)
    console.print(_wallets(report.wallets))
    for line in report.checkouts:
        console.print(f"QR checkout {line}")
    console.print(
        f"Refunded {money_text(report.refunded, 'EUR')} (with a credit note); "
        f"payouts booked: {report.payouts}; "
        f"janitor: {report.janitor}"
    )


def _wallets(standings: list[WalletStanding]) -> Table:
    """Each wallet against its minimum: below it by at most one meter interval's cost at full
    power (``interval``), plus what stations delivered after the meter value that called for
    their stop (``after stop``)."""
    within = all(w.within_bound for w in standings)
    table = Table(
        title="Prepaid wallets (EUR)",
        title_justify="left",
        caption="below minimum by at most one interval + after stop: "
        + ("every wallet" if within else "NOT every wallet"),
        caption_justify="left",
    )
    for column in ("account", "balance", "minimum", "below", "after stop", "interval"):
        table.add_column(column, justify="left" if column == "account" else "right")
    for w in sorted(standings, key=lambda w: w.account.name):
        table.add_row(
            w.account.name,
            *(
                money_figure(amount, "EUR")
                for amount in (w.balance, w.minimum, w.below, w.after_stops, w.one_interval)
            ),
        )
    return table
