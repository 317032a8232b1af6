"""Payments after the session, end to end over real OCPP 1.6 and the REST API with the sandbox
PSP: a postpaid RFID session invoiced and the invoice paid by card, a prepaid wallet (debits,
the minimum balance at Authorize, auto top-up), refunds with credit notes, and PSP payouts
booked once however often their webhook comes.

Prices: the flat tariff of ``payment_world`` (0.49/kWh + 0.35 per session, VAT 19 %): a
10 kWh session is 5.25 net, 6.25 gross. Sessions run at 20 kW on the 22 kW EVSE.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from alembic import command
from ocpp.v16 import call
from sqlalchemy import Connection

from chargeledger.adapters.db.migrate import alembic_config
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.ledger import (
    BANK,
    PSP_FEES,
    EntryKind,
    psp,
    receivable,
    unbilled,
    wallet,
)
from chargeledger.domain.payments import PaymentMethodKind, PaymentPurpose, PaymentStatus
from chargeledger.services.billing import charges as billing
from chargeledger.services.billing import invoicing
from chargeledger.services.payments.session_payments import settle_session
from chargeledger.services.payments.webhooks import reconcile_payouts
from tests.integration.billing_world import SELLER, all_documents
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    T0,
    Station16,
    connected,
    stored_sessions,
)
from tests.integration.payment_world import (
    APP_TAG,
    WALLET_TAG,
    PaymentWorld,
    WebhookRecorder,
)

TOP_UP = Decimal("30.00")  # the wallet's opening top-up (payment_world)
TZ = "Europe/Berlin"


async def ten_kwh(pw: PaymentWorld, tag: str, seconds: float = 0) -> uuid.UUID:
    """One 10 kWh session of ``tag`` on CP16-AC starting ``seconds`` after T0, settled."""
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(tag, 10_000, seconds)
        await pw.runtime.quiesce()
        await cp.registers(tx, 1, (seconds + 900, 15_000))
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 20_000, seconds + 1800)
        await pw.runtime.quiesce()
    sessions = await stored_sessions(pw.runtime, pw.world.station_id(CP16))
    [session] = [s for s in sessions if s.transaction_ref == str(tx)]
    return session.id


async def post(
    pw: PaymentWorld, path: str, body: dict[str, Any], key: str | None = None
) -> tuple[int, Any]:
    headers = dict(pw.world.admin)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await pw.world.http.post(f"/api/v1{path}", json=body, headers=headers)
    return response.status_code, response.json()


async def put(pw: PaymentWorld, path: str, body: dict[str, Any]) -> Any:
    response = await pw.world.http.put(f"/api/v1{path}", json=body, headers=pw.world.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def authorize(pw: PaymentWorld, tag: str) -> str:
    async with connected(pw.world.url, Station16) as cp:
        answer = await cp.request(call.Authorize(tag))
    status: str = answer.id_tag_info["status"]
    return status


async def test_a_postpaid_session_is_invoiced_and_the_invoice_paid_by_card(
    pw: PaymentWorld,
) -> None:
    account = pw.world.network.account
    assert account is not None
    session_id = await ten_kwh(pw, ACTIVE_TAG)
    assert [p for p, _ in await pw.payments() if p.session_id == session_id] == []

    runtime = pw.runtime
    charged = await billing.charge_completed_sessions(
        runtime.uow, runtime.clock, runtime.payments.rates, TZ, SELLER
    )
    assert [c.session_id for c in charged.charged] == [session_id]
    assert charged.receipts == []  # postpaid: the invoice run bills it
    assert await pw.balance(unbilled(account.id)) == Decimal("6.25")
    run = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, TZ, f"{T0:%Y-%m}")
    [invoice] = [i for i in run.issued if i.account_id == account.id]
    assert invoice.gross_total == Decimal("6.25")
    assert await pw.balance(receivable(account.id)) == Decimal("6.25")
    assert await pw.balance(unbilled(account.id)) == 0
    before = await pw.world.get(f"/invoices/{invoice.id}")
    assert before["status"] != "paid"

    token = await pw.tokenise()
    status, card = await post(pw, f"/accounts/{account.id}/payment-methods", {"token": token})
    assert status == 201, card
    assert (card["brand"], card["last4"], card["is_default"]) == ("visa", "4242", True)
    status, paid = await post(pw, f"/invoices/{invoice.id}/payments", {}, key="pay-inv-1")
    await runtime.quiesce()
    assert status == 201, paid
    assert (paid["purpose"], paid["status"], paid["invoice_id"]) == (
        "invoice",
        "captured",
        str(invoice.id),
    )
    assert Decimal(paid["captured"]) == Decimal("6.25")
    assert (await pw.world.get(f"/invoices/{invoice.id}"))["status"] == "paid"

    # the same key again: the same answer, no second charge; a new attempt finds it paid
    assert await post(pw, f"/invoices/{invoice.id}/payments", {}, key="pay-inv-1") == (
        201,
        paid,
    )
    status, again = await post(pw, f"/invoices/{invoice.id}/payments", {}, key="pay-inv-2")
    assert (status, again["error"]["code"]) == (409, "invoice_paid")
    assert len(await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.INVOICE)) == 1

    assert await pw.balance(receivable(account.id)) == 0
    assert await pw.balance(psp("sandbox")) == TOP_UP + Decimal("6.25")
    assert len(await pw.entries(EntryKind.INVOICE_PAYMENT)) == 1
    await pw.assert_books_balance()

    # A refund of the card payment reopens the invoice by what it gave back.
    status, _ = await post(
        pw, f"/payments/{paid['id']}/refunds", {"amount": "1.00", "reason": "goodwill"}, "r-1"
    )
    await runtime.quiesce()
    assert status == 201
    reopened = await pw.world.get(f"/invoices/{invoice.id}")
    assert (reopened["status"], Decimal(reopened["outstanding"])) == ("partially_paid", 1)

    # Revision 0011 derives the same open item from the payment's events.
    def back_to_0010(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0010")

    async with runtime._factory.engine.begin() as connection:
        await connection.run_sync(back_to_0010)
    await runtime.migrate()
    assert await pw.world.get(f"/invoices/{invoice.id}") == reopened


async def test_a_prepaid_wallet_pays_sessions_and_tops_itself_up(pw: PaymentWorld) -> None:
    account_id = pw.wallet_account.id
    path = f"/accounts/{account_id}/wallet"
    opening = await pw.world.get(path)
    assert Decimal(opening["balance"]) == TOP_UP
    assert opening["minimum_balance"] is None  # none of the driver's own
    assert Decimal(opening["floor"]) == Decimal(opening["effective_minimum"]) == Decimal("5.00")

    first = await ten_kwh(pw, WALLET_TAG)
    assert await pw.wallet() == Decimal("23.75")
    [(debit, state)] = [
        (p, s) for p, s in await pw.payments_of(PaymentMethodKind.WALLET) if p.session_id == first
    ]
    assert (debit.gateway, state.status, state.captured) == (
        "wallet",
        PaymentStatus.CAPTURED,
        Decimal("6.25"),
    )

    # below the minimum balance, Authorize refuses the card (1.6 has no NoCredit: Blocked)
    settings = await put(pw, path, {"minimum_balance": "25.00"})
    assert Decimal(settings["balance"]) == Decimal("23.75")
    assert await authorize(pw, WALLET_TAG) == "Blocked"
    await put(
        pw,
        path,
        {
            "minimum_balance": "5.00",
            "auto_top_up": True,
            "top_up_below": "20.00",
            "top_up_amount": "25.00",
        },
    )
    assert await authorize(pw, WALLET_TAG) == "Accepted"

    # 23.75 - 6.25 = 17.50, below 20.00: one top-up of 25.00, however often it is settled
    second = await ten_kwh(pw, WALLET_TAG, seconds=7200)
    await settle_session(pw.runtime.payments, second)
    await pw.runtime.quiesce()
    assert await pw.wallet() == Decimal("42.50")
    top_ups = await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.TOP_UP)
    assert sorted(s.captured for p, s in top_ups if p.account_id == account_id) == [
        Decimal("25.00"),
        TOP_UP,
    ]
    assert all(s.status is PaymentStatus.CAPTURED for _, s in top_ups)
    assert len(await pw.payments_of(PaymentMethodKind.WALLET)) == 2

    history = await pw.world.get(f"{path}/history")
    lines = sorted((line["kind"], Decimal(line["amount"])) for line in history)
    assert lines == [
        ("wallet_debit", Decimal("-6.25")),
        ("wallet_debit", Decimal("-6.25")),
        ("wallet_top_up", Decimal("25.00")),
        ("wallet_top_up", TOP_UP),
    ]
    assert sum(amount for _, amount in lines) == Decimal("42.50")
    assert await pw.balance(wallet(account_id)) == Decimal("-42.50")
    assert await pw.balance(receivable(account_id)) == 0  # both receipts paid from the wallet
    assert await pw.balance(psp("sandbox")) == TOP_UP + Decimal("25.00")
    await pw.assert_books_balance()


async def test_refunds_partial_then_the_rest_with_credit_notes(pw: PaymentWorld) -> None:
    session_id = await ten_kwh(pw, APP_TAG)
    listed = await pw.world.get(f"/payments?session_id={session_id}")
    [payment] = listed["items"]
    assert (payment["method"], payment["status"]) == ("app", "captured")
    assert Decimal(payment["captured"]) == Decimal("6.25")
    refunds = f"/payments/{payment['id']}/refunds"

    status, no_reason = await post(pw, refunds, {"amount": "2.00"})
    assert status == 422, no_reason
    status, blank = await post(pw, refunds, {"amount": "2.00", "reason": "   "})
    assert status == 422, blank

    reason = "Connector fault: 10 minutes lost"
    status, partial = await post(pw, refunds, {"amount": "2.00", "reason": reason}, key="r-1")
    await pw.runtime.quiesce()
    assert status == 201, partial
    assert partial["status"] == "partially_refunded"
    assert Decimal(partial["refunded"]) == Decimal("2.00")
    assert await post(pw, refunds, {"amount": "2.00", "reason": reason}, key="r-1") == (
        201,
        partial,
    )

    status, too_much = await post(pw, refunds, {"amount": "4.26", "reason": reason})
    assert (status, too_much["error"]["code"]) == (422, "invalid_refund_amount")

    status, rest = await post(pw, refunds, {"reason": "Goodwill: the rest"}, key="r-2")
    await pw.runtime.quiesce()
    assert status == 201, rest
    assert rest["status"] == "refunded"
    assert Decimal(rest["refunded"]) == Decimal("6.25")
    status, nothing_left = await post(pw, refunds, {"amount": "0.01", "reason": reason})
    assert (status, nothing_left["error"]["code"]) == (422, "invalid_refund_amount")

    detail = await pw.world.get(f"/payments/{payment['id']}")
    refunded = [Decimal(e["amount"]) for e in detail["events"] if e["kind"] == "refunded"]
    assert sorted(refunded) == [Decimal("2.00"), Decimal("4.25")]
    documents = await all_documents(pw.runtime)
    [receipt] = [d for d in documents if d.kind is DocumentKind.RECEIPT]
    notes = [d for d in documents if d.kind is DocumentKind.CREDIT_NOTE]
    assert all(n.original_number == receipt.number for n in notes)
    # 2.00 = 1.68 net + 0.32 VAT; 4.25 = 3.57 net + 0.68 VAT
    assert sorted((n.net_total, n.tax_total, n.gross_total) for n in notes) == [
        (Decimal("1.68"), Decimal("0.32"), Decimal("2.00")),
        (Decimal("3.57"), Decimal("0.68"), Decimal("4.25")),
    ]
    assert {n.reason for n in notes} == {reason, "Goodwill: the rest"}
    [(held, _)] = await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.SESSION)
    view = await pw.at_psp(held)
    assert sorted(amount for _, amount in view.refunds) == [Decimal("2.00"), Decimal("4.25")]
    assert len(await pw.entries(EntryKind.REFUND)) == 2
    assert await pw.balance(psp("sandbox")) == TOP_UP
    assert await pw.balance(receivable(pw.app_account.id)) == 0
    await pw.assert_books_balance()


async def test_a_payout_is_booked_once_however_often_its_webhook_comes(
    pw: PaymentWorld,
) -> None:
    """Captured so far: the 30.00 top-up and a 6.25 session. Fees 1.4 % + 0.25 each: 0.67 and
    0.34 (0.3375), 1.01 in all; 35.24 reach the bank."""
    recorder = WebhookRecorder(pw.world.http).install(pw.sandbox)
    await ten_kwh(pw, APP_TAG)
    payout = await pw.sandbox.pay_out("EUR")
    await pw.runtime.quiesce()
    assert payout is not None
    assert (payout.gross.amount, payout.fee.amount) == (Decimal("36.25"), Decimal("1.01"))

    [delivered] = recorder.of_type("payout.paid")
    again = await recorder.post(*delivered)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    # the same payout under another event id (a PSP's resend) is still booked once
    body = json.loads(delivered[0])
    resent, headers = pw.sandbox.signed({**body, "id": "evt_resent_payout"})
    other = await recorder.post(resent, headers)
    assert other.status_code == 200
    assert other.json()["duplicate"] is False
    assert await reconcile_payouts(pw.runtime.payments, "sandbox", T0) == 0
    assert await pw.sandbox.pay_out("EUR") is None  # nothing left to pay out

    [entry] = await pw.entries(EntryKind.PAYOUT)
    assert entry.source_id == payout.payout_id
    assert sorted((p.account, p.units.amount) for p in entry.postings) == [
        (BANK, Decimal("35.24")),
        (psp("sandbox"), Decimal("-36.25")),
        (PSP_FEES, Decimal("1.01")),
    ]
    assert await pw.balance(psp("sandbox")) == 0
    assert await pw.balance(BANK) == Decimal("35.24")
    assert await pw.balance(PSP_FEES) == Decimal("1.01")
    await pw.assert_books_balance()
