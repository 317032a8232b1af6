"""PSP payout reconciliation (issue 13) on SQLite and PostgreSQL: a sandbox payout of real
payments (a wallet top-up and a session paid in the app) is booked with the items it settled,
once however often it is reported; every item matches our books; its bank statement line shows
as matched. A chargeback and a refund made at the PSP that never reached us are reported as
differences, over REST too (finance and operators read)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from chargeledger.domain.identity import Role
from chargeledger.domain.payout_reconciliation import ItemKind, ItemStatus, PayoutStatus
from chargeledger.money import Money
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.payments.payout_reconciliation import PayoutView, show_payout
from chargeledger.services.payments.webhooks import reconcile_payouts
from chargeledger.services.transactions import reading
from tests.integration.bank_world import bank_entry, day_statement
from tests.integration.ocpp_support import LoginAs
from tests.integration.payment_world import APP_TAG, PaymentWorld, WebhookRecorder
from tests.integration.test_payments_accounts import T0, ten_kwh


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


async def view_of(pw: PaymentWorld, payout_id: str) -> PayoutView:
    gateways = list(pw.runtime.payments.gateways)
    return await reading(pw.runtime.uow, show_payout, gateways, payout_id)


async def provider_ref_of(pw: PaymentWorld, payment_id: uuid.UUID) -> str:
    [hold] = [h for h in await pw.sandbox.holds() if h.reference == str(payment_id)]
    return hold.provider_ref


async def test_a_payout_of_real_payments_is_matched_item_by_item_and_to_its_bank_line(
    pw: PaymentWorld,
) -> None:
    """The 30.00 top-up and the 6.25 session: fees 0.67 and 0.34, 35.24 reach the bank."""
    recorder = WebhookRecorder(pw.world.http).install(pw.sandbox)
    await ten_kwh(pw, APP_TAG)
    payout = await pw.sandbox.pay_out("EUR")
    await pw.runtime.quiesce()
    assert payout is not None
    view = await view_of(pw, payout.payout_id)  # booked from the webhook, items asked for
    found = view.reconciliation
    assert view.gateway == "sandbox"
    assert (view.payout.gross, view.payout.fee, view.payout.net) == (
        eur("36.25"),
        eur("1.01"),
        eur("35.24"),
    )
    assert sorted((c.item.kind, c.item.amount.amount, c.status) for c in found.items) == [
        (ItemKind.CAPTURE, eur("6.25").amount, ItemStatus.MATCHED),
        (ItemKind.CAPTURE, eur("30.00").amount, ItemStatus.MATCHED),
    ]
    ours = {p.id for p, _ in await pw.payments()}
    assert {c.payment_id for c in found.items} <= ours
    assert None not in {c.payment_id for c in found.items}
    assert found.items_net == eur("35.24")
    assert found.status is PayoutStatus.BANK_LINE_MISSING

    # reported again (the webhook, the periodic job): booked and its items kept once
    [delivered] = recorder.of_type("payout.paid")
    assert (await recorder.post(*delivered)).json()["duplicate"] is True
    assert await reconcile_payouts(pw.runtime.payments, "sandbox", T0) == 0
    async with pw.runtime.uow() as uow:
        kept = await uow.payouts.items([payout.payout_id])
        assert await uow.payouts.add_items("sandbox", payout.payout_id, payout.items, T0) == 0
    assert [i.item_id for i in kept[payout.payout_id]] == [i.item_id for i in payout.items]

    day = date(2026, 2, 3)
    line = bank_entry(
        "po-line", "35.24", day, remittance_unstructured=f"SANDBOX {payout.payout_id}"
    )
    report = await bank.import_statements(
        pw.runtime.uow,
        pw.runtime.locks,
        pw.runtime.clock,
        pw.runtime.settings.operator_time_zone,
        [day_statement("2026-02-03", day, line)],
        filename="statement.xml",
        imported_by="finance@example.org",
    )
    assert dict(report.by_rule) == {"payout": 1}
    matched = (await view_of(pw, payout.payout_id)).reconciliation
    assert matched.bank_line is not None
    assert (matched.bank_line.entry_ref, matched.bank_line.amount) == ("po-line", eur("35.24"))
    assert matched.bank_difference == eur("0.00")
    assert matched.status is PayoutStatus.RECONCILED
    await pw.assert_books_balance()


async def test_a_chargeback_and_a_refund_we_never_heard_of_are_reported(
    pw: PaymentWorld, login_as: LoginAs
) -> None:
    [(top_up, _)] = await pw.payments()
    ref = await provider_ref_of(pw, top_up.id)

    async def lost(payload: bytes, headers: Mapping[str, str]) -> int:
        return 200  # a refund made by hand at the PSP's dashboard; its webhook went astray

    pw.sandbox.deliver_webhooks_to(lost)
    await pw.sandbox.refund(
        provider_ref=ref, amount=eur("5.00"), idempotency_key="dashboard-1", reason="by hand"
    )
    await pw.sandbox.settle()
    WebhookRecorder(pw.world.http).install(pw.sandbox)
    chargeback = await pw.sandbox.adjust(ref, eur("-10.00"), "dispute lost: fraudulent")
    payout = await pw.sandbox.pay_out("EUR")
    await pw.runtime.quiesce()
    assert payout is not None
    assert (payout.gross, payout.fee) == (eur("15.00"), eur("0.67"))  # 30 - 5 - 10

    found = (await view_of(pw, payout.payout_id)).reconciliation
    statuses = [(c.item.kind, c.status, c.ours) for c in found.items]
    assert statuses == [
        (ItemKind.CAPTURE, ItemStatus.MATCHED, eur("30.00").amount),
        (ItemKind.REFUND, ItemStatus.AMOUNT_DIFFERS, eur("0.00").amount),
        (ItemKind.ADJUSTMENT, ItemStatus.UNKNOWN_TO_US, None),
    ]
    assert found.items[2].item.item_id == chargeback.item_id
    assert found.items[2].payment_id == top_up.id
    assert found.items_difference == eur("0.00")  # the PSP's items make its payout
    assert found.status is PayoutStatus.DIFFERENCES

    for role in (Role.OPERATOR, Role.FINANCE):
        headers = await login_as(role)
        listed = await pw.world.http.get("/api/v1/payouts", headers=headers)
        assert listed.status_code == 200, listed.text
        [row] = listed.json()["items"]
        assert (row["payout_id"], row["status"], row["items"]) == (
            payout.payout_id,
            "differences",
            3,
        )
        assert (row["gross"], row["fee"], row["net"]) == ("15.00", "0.67", "14.33")
        assert len(row["differences"]) == 2
    shown = await pw.world.http.get(f"/api/v1/payouts/{payout.payout_id}", headers=headers)
    assert shown.status_code == 200, shown.text
    lines = shown.json()["lines"]
    assert [(x["kind"], x["status"], x["amount"], x["ours"]) for x in lines] == [
        ("capture", "matched", "30.00", "30.00"),
        ("refund", "amount_differs", "-5.00", "0.00"),
        ("adjustment", "unknown_to_us", "-10.00", None),
    ]
    assert lines[2]["description"] == "dispute lost: fraudulent"
    missing = await pw.world.http.get("/api/v1/payouts/po_nothing", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "payout_not_found"
    driver = await pw.world.http.get("/api/v1/payouts", headers=await login_as(Role.DRIVER))
    assert driver.status_code == 403
