"""A session pays by the route decided at its start, whatever its account does meanwhile
(issue 12 item 2): a card removed mid-session still has its hold captured, a wallet account
switched to postpaid is still debited, a postpaid account switched to prepaid is still
invoiced. Over real OCPP 1.6J against the sandbox PSP, on SQLite and PostgreSQL.

Prices: the flat tariff of ``payment_world`` (0.49/kWh + 0.35 per session, VAT 19 %): 3 kWh
cost 1.82 net, 2.17 gross; 10 kWh (the app card's session) 6.25 gross.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.payments import PaymentMethodKind, PaymentPurpose, PaymentStatus
from tests.integration.ocpp_support import CP16, Station16, connected, stored_sessions
from tests.integration.payment_world import (
    APP_TAG,
    WALLET_TAG,
    PaymentWorld,
    add_customer,
)
from tests.integration.test_payments_ocpp import app_hold, receipt_gross

RFID_TAG = "04RFID0001"


async def patch_account(pw: PaymentWorld, account: Account, changes: dict[str, Any]) -> None:
    response = await pw.world.http.patch(
        f"/api/v1/accounts/{account.id}", json=changes, headers=pw.world.admin
    )
    assert response.status_code == 200, response.text


async def the_session(pw: PaymentWorld, tx: int) -> Session:
    sessions = await stored_sessions(pw.runtime, pw.world.station_id(CP16))
    [session] = [s for s in sessions if s.transaction_ref == str(tx)]
    return session


async def wallet_debits(pw: PaymentWorld) -> list[Decimal]:
    found = await pw.payments_of(PaymentMethodKind.WALLET, PaymentPurpose.SESSION)
    return sorted(state.captured for _, state in found)


async def test_a_card_removed_mid_session_still_has_its_hold_captured(pw: PaymentWorld) -> None:
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(APP_TAG, 10_000)
        await pw.runtime.quiesce()
        payment, held = await app_hold(pw)
        assert held.status is PaymentStatus.AUTHORISED
        removed = await pw.world.http.delete(
            f"/api/v1/accounts/{pw.app_account.id}/payment-methods/{pw.app_card.id}",
            headers=pw.world.admin,
        )
        assert removed.status_code == 204, removed.text
        await cp.registers(tx, 1, (900, 15_000), (1800, 20_000))
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 20_000, 1800)
        await pw.runtime.quiesce()

    session = await the_session(pw, tx)
    assert (session.status, session.payment_route) == (
        SessionStatus.COMPLETED,
        PaymentRoute.APP_CARD,
    )
    payment, state = await app_hold(pw)
    assert state.status is PaymentStatus.CAPTURED
    assert state.captured == Decimal("6.25") == await receipt_gross(pw, payment)
    await pw.assert_books_balance()


async def test_a_wallet_account_turned_postpaid_mid_session_is_still_debited(
    pw: PaymentWorld,
) -> None:
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await pw.runtime.quiesce()
        await patch_account(pw, pw.wallet_account, {"billing_mode": "postpaid"})
        await cp.registers(tx, 1, (600, 13_000))
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 13_000, 600)
        await pw.runtime.quiesce()

    session = await the_session(pw, tx)
    assert session.payment_route is PaymentRoute.WALLET
    assert await wallet_debits(pw) == [Decimal("2.17")]
    assert await pw.wallet() == Decimal("30.00") - Decimal("2.17")
    async with pw.runtime.uow() as uow:
        charge = await uow.billing.charge_for_session(session.id)
        assert charge is not None
        assert await uow.billing.invoice_by_run_key(f"receipt:{charge.id}") is not None
    await pw.assert_books_balance()


async def test_a_postpaid_account_turned_prepaid_mid_session_is_still_invoiced(
    pw: PaymentWorld,
) -> None:
    account = await add_customer(
        pw.runtime, "Rfid Driver", RFID_TAG, TokenType.RFID, BillingMode.POSTPAID
    )
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(RFID_TAG, 10_000)
        await pw.runtime.quiesce()
        await patch_account(pw, account, {"billing_mode": "prepaid"})
        await cp.registers(tx, 1, (600, 13_000))
        await pw.runtime.quiesce()
        assert cp.received == []  # no credit check stops an invoiced session
        await cp.stop_tx(tx, 13_000, 600)
        await pw.runtime.quiesce()

    session = await the_session(pw, tx)
    assert session.payment_route is PaymentRoute.INVOICE
    assert await wallet_debits(pw) == []
    async with pw.runtime.uow() as uow:
        # Not settled at the stop: the invoice run charges it with the account's others.
        assert await uow.billing.charge_for_session(session.id) is None
    await pw.assert_books_balance()
