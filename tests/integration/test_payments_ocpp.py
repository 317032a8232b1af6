"""App-card sessions end to end over real OCPP (1.6J and 2.0.1 charge points of the ``ocpp``
library on real websockets) against the built-in sandbox PSP: the hold at the start, raising
it while the live cost grows, stopping the station when it cannot be raised or was declined,
and the capture of exactly the receipt at the stop (or the release of an unused hold).

Prices: the flat tariff of ``payment_world`` (0.49/kWh + 0.35 per session, VAT 19 %). The
first hold is the gross the configured maximum session would be charged: 40 kWh → 19.95 net
+ 3.79 VAT (19 % of the rounded net, as the receipt computes it) → 23.74. A hold is raised
by the step (20.00) once the live cost reaches 80 % of it. Energy stays below each station's
power (CP16-AC 22 kW, CP201-DC 150 kW), or the session would be quarantined and deliberately
not charged.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.ledger import EntryKind, psp, receivable
from chargeledger.domain.payments import (
    EventKind,
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentState,
    PaymentStatus,
)
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import tariffs
from chargeledger.services.payments.context import HoldPolicy
from tests.integration.ocpp_support import (
    CP16,
    Json,
    Station16,
    Station201,
    connected,
    meter_value,
    sampled201,
    stored_sessions,
    wire,
)
from tests.integration.payment_world import (
    APP_TAG,
    PaymentWorld,
    add_customer,
    card_for,
)

HOLD = Decimal("23.74")
NOTHING = Decimal(0)
TOP_UP = Decimal("30.00")  # the wallet's opening top-up, also captured by the sandbox
LIMITED_CARD = "4000000000005126"  # approved up to 50.00
DECLINED_CARD = "4000000000000002"


async def app_hold(
    pw: PaymentWorld, account: Account | None = None
) -> tuple[Payment, PaymentState]:
    """The one session payment of an app account (the world's app driver by default)."""
    owner = (account or pw.app_account).id
    found = [
        (p, s)
        for p, s in await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.SESSION)
        if p.account_id == owner
    ]
    assert len(found) == 1, found
    return found[0]


async def kinds(pw: PaymentWorld, payment: Payment) -> list[tuple[EventKind, Decimal]]:
    """The outcomes the PSP reported, oldest first (requests left out)."""
    events = sorted(await pw.events(payment), key=lambda e: e.at)
    return [(e.kind, e.amount) for e in events if e.kind is not EventKind.REQUESTED]


async def receipt_gross(pw: PaymentWorld, payment: Payment) -> Decimal:
    assert payment.session_id is not None
    async with pw.runtime.uow() as uow:
        charge = await uow.billing.charge_for_session(payment.session_id)
        assert charge is not None
        receipt = await uow.billing.invoice_by_run_key(f"receipt:{charge.id}")
    assert receipt is not None
    assert receipt.account_id == payment.account_id
    return receipt.gross_total


async def tx_event(
    station: Station201,
    event_type: str,
    seq_no: int,
    seconds: float,
    trigger: str,
    wh: float,
    *,
    tag: str | None = None,
    tx: str = "TX-PAY-1",
) -> Any:
    """TransactionEventRequest (2.0.1 Part 2 §E) on EVSE 1 with one energy register value."""
    values: list[Json] = [meter_value(wire(seconds), sampled201(wh))]
    return await station.request(
        call201.TransactionEvent(
            event_type=event_type,
            timestamp=wire(seconds),
            trigger_reason=trigger,
            seq_no=seq_no,
            transaction_info={"transactionId": tx},
            meter_value=values,
            evse={"id": 1, "connectorId": 1},
            id_token={"idToken": tag, "type": "Central"} if tag else None,
        )
    )


def actions(received: Iterable[tuple[str, Json]]) -> list[str]:
    return [action for action, _ in received]


async def test_app_card_ocpp16_holds_the_quote_and_captures_the_receipt(pw: PaymentWorld) -> None:
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(APP_TAG, 10_000)
        await pw.runtime.quiesce()
        payment, held = await app_hold(pw)
        assert (held.status, held.authorised, held.captured) == (
            PaymentStatus.AUTHORISED,
            HOLD,
            NOTHING,
        )
        assert (await pw.at_psp(payment)).authorised == HOLD
        await cp.registers(tx, 1, (900, 15_000), (1800, 20_000))
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 20_000, 1800)
        await pw.runtime.quiesce()
        assert cp.received == []  # neither raised nor stopped: 6.25 is far below 80 % of 23.74

    payment, state = await app_hold(pw)
    assert payment.gateway == "sandbox"
    assert payment.method_token == pw.app_card.token
    assert state.status is PaymentStatus.CAPTURED
    assert state.captured == Decimal("6.25") == await receipt_gross(pw, payment)
    assert await kinds(pw, payment) == [
        (EventKind.AUTHORISED, HOLD),
        (EventKind.CAPTURED, Decimal("6.25")),
    ]
    view = await pw.at_psp(payment)
    assert (view.authorised, view.captured, view.released) == (HOLD, Decimal("6.25"), False)
    assert await pw.balance(psp("sandbox")) == TOP_UP + Decimal("6.25")
    assert await pw.balance(receivable(pw.app_account.id)) == 0  # the receipt is paid
    assert len(await pw.entries(EntryKind.CAPTURE)) == 1
    await pw.assert_books_balance()


async def test_app_card_ocpp201_is_held_raised_near_the_hold_and_captured(
    pw: PaymentWorld,
) -> None:
    """32 kWh cost 16.03 net, 19.08 gross (live the same): past 80 % of 23.74 (18.99), so the
    hold is raised by one step to 43.74 before the end; the capture is the receipt."""
    async with connected(pw.world.url, Station201) as cs:
        started = await tx_event(cs, "Started", 0, 0, "Authorized", 10_000, tag=APP_TAG)
        assert started.id_token_info["status"] == "Accepted"
        await pw.runtime.quiesce()
        payment, held = await app_hold(pw)
        assert (held.status, held.authorised) == (PaymentStatus.AUTHORISED, HOLD)
        await tx_event(cs, "Updated", 1, 600, "MeterValuePeriodic", 26_000)
        await pw.runtime.quiesce()
        assert (await app_hold(pw))[1].authorised == HOLD  # 9.75 live: no raise yet
        await tx_event(cs, "Updated", 2, 1200, "MeterValuePeriodic", 42_000)
        await pw.runtime.quiesce()
        payment, raised = await app_hold(pw)
        assert (raised.status, raised.authorised, raised.raises) == (
            PaymentStatus.AUTHORISED,
            Decimal("43.74"),
            1,
        )
        assert (await pw.at_psp(payment)).authorised == Decimal("43.74")
        await tx_event(cs, "Ended", 3, 1200, "EVDeparted", 42_000)
        await pw.runtime.quiesce()
        assert cs.received == []  # raised in time: never stopped

    payment, state = await app_hold(pw)
    assert state.status is PaymentStatus.CAPTURED
    assert state.captured == Decimal("19.08") == await receipt_gross(pw, payment)
    assert await kinds(pw, payment) == [
        (EventKind.AUTHORISED, HOLD),
        (EventKind.RAISED, Decimal("43.74")),
        (EventKind.CAPTURED, Decimal("19.08")),
    ]
    assert await pw.balance(psp("sandbox")) == TOP_UP + Decimal("19.08")
    assert await pw.balance(receivable(pw.app_account.id)) == 0
    await pw.assert_books_balance()


async def energy_only_for_the_app_account(pw: PaymentWorld) -> None:
    """The app account's own contract price: 0.49/kWh and no session fee."""
    document = {
        "id": "APP-ENERGY",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": Decimal("0.49"), "vat": Decimal(19), "step_size": 1}
                ]
            }
        ],
    }
    async with pw.runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, pw.runtime.clock, document)
        await tariffs.assign_tariff(
            uow,
            pw.runtime.clock,
            stored.id,
            TariffScope.ACCOUNT,
            str(pw.app_account.id),
            pw.runtime.settings.vat_rates,
        )
        await uow.commit()


async def test_a_session_that_delivers_nothing_releases_the_hold(pw: PaymentWorld) -> None:
    """Meter stop == meter start under a price without a session fee: the session costs
    nothing, so nothing is captured and the hold is released at the PSP."""
    await energy_only_for_the_app_account(pw)
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(APP_TAG, 10_000)
        await pw.runtime.quiesce()
        assert (await app_hold(pw))[1].authorised == Decimal("23.32")  # 19.60 net + 3.72 VAT
        await cp.stop_tx(tx, 10_000, 120)
        await pw.runtime.quiesce()
    [session] = await stored_sessions(pw.runtime, pw.world.station_id(CP16))
    assert session.status is SessionStatus.COMPLETED
    payment, state = await app_hold(pw)
    assert state.status is PaymentStatus.RELEASED
    assert (state.authorised, state.captured) == (Decimal("23.32"), NOTHING)
    assert await kinds(pw, payment) == [
        (EventKind.AUTHORISED, Decimal("23.32")),
        (EventKind.RELEASED, NOTHING),
    ]
    view = await pw.at_psp(payment)
    assert view.released
    assert view.captured == 0
    assert await pw.entries(EntryKind.CAPTURE) == []
    assert await pw.balance(psp("sandbox")) == TOP_UP
    assert await pw.balance(receivable(pw.app_account.id)) == 0
    await pw.assert_books_balance()


async def test_a_session_fee_is_captured_even_when_nothing_is_delivered(
    pw: PaymentWorld,
) -> None:
    """The same empty session under the world's tariff: its FLAT component is due once per
    session (OCPI 2.2.1, FLAT), so the receipt is 0.35 net, 0.42 gross, and exactly that is
    captured; the rest of the hold is never taken."""
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(APP_TAG, 10_000)
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 10_000, 120)
        await pw.runtime.quiesce()
    payment, state = await app_hold(pw)
    assert state.status is PaymentStatus.CAPTURED
    assert state.captured == Decimal("0.42") == await receipt_gross(pw, payment)
    assert await pw.balance(receivable(pw.app_account.id)) == 0
    await pw.assert_books_balance()


async def test_a_limited_card_is_raised_to_its_limit_then_the_session_is_stopped(
    pw: PaymentWorld,
) -> None:
    """First hold 10 kWh: 5.25 net → 6.2475 → 6.25. Live costs (gross): 8 kWh 5.08 (≥ 5.00:
    raise to 26.25), 36 kWh 21.41 (≥ 21.00: raise to 46.25), 75 kWh 44.15 (≥ 37.00: 66.25 is
    above the card's 50.00, declined; and ≥ 95 % of 46.25, so the station is stopped)."""
    pw.runtime.payments.hold = HoldPolicy(kwh=Decimal(10), minutes=30)
    account = await add_customer(
        pw.runtime, "Limited Driver", "APP0000002", TokenType.APP, BillingMode.POSTPAID
    )
    await card_for(pw.runtime, account, LIMITED_CARD)
    async with connected(pw.world.url, Station16) as cp:
        # 18 kW at most, below the 22 kW of the EVSE: 5 Wh per second
        tx = await cp.start_tx("APP0000002", 10_000)
        await pw.runtime.quiesce()
        assert (await app_hold(pw, account))[1].authorised == Decimal("6.25")
        await cp.registers(tx, 1, (1600, 18_000))
        await pw.runtime.quiesce()
        assert (await app_hold(pw, account))[1].authorised == Decimal("26.25")
        await cp.registers(tx, 1, (7200, 46_000))
        await pw.runtime.quiesce()
        assert (await app_hold(pw, account))[1].authorised == Decimal("46.25")
        assert cp.received == []
        await cp.registers(tx, 1, (15_000, 85_000))
        await pw.runtime.quiesce()
        assert cp.received == [("RemoteStopTransaction", {"transaction_id": tx})]
        await cp.stop_tx(tx, 85_000, 15_000, reason="Remote")
        await pw.runtime.quiesce()

    payment, state = await app_hold(pw, account)
    assert await kinds(pw, payment) == [
        (EventKind.AUTHORISED, Decimal("6.25")),
        (EventKind.RAISED, Decimal("26.25")),
        (EventKind.RAISED, Decimal("46.25")),
        (EventKind.RAISE_DECLINED, Decimal("46.25")),
        (EventKind.CAPTURED, Decimal("44.15")),
    ]
    assert state.status is PaymentStatus.CAPTURED
    assert state.captured == Decimal("44.15") == await receipt_gross(pw, payment)
    assert (await pw.at_psp(payment)).authorised == Decimal("46.25")
    assert await pw.balance(receivable(account.id)) == 0
    assert await pw.balance(psp("sandbox")) == TOP_UP + Decimal("44.15")
    await pw.assert_books_balance()


@pytest.mark.parametrize("protocol", ["1.6", "2.0.1"])
async def test_a_declined_hold_stops_the_session_right_after_the_start(
    pw: PaymentWorld, protocol: str
) -> None:
    """The card tokenises and is stored (the PSP knows it), but every hold is declined: the
    station is told to stop at once. The few Wh delivered are billed on the account's receipt,
    left open on its receivable for dunning (an account holder's debt is not written off)."""
    account = await add_customer(
        pw.runtime, "Declined Driver", "APP0000003", TokenType.APP, BillingMode.POSTPAID
    )
    card = await card_for(pw.runtime, account, DECLINED_CARD)
    assert (card.brand, card.last4) == ("visa", "0002")
    if protocol == "1.6":
        async with connected(pw.world.url, Station16) as cp:
            tx = await cp.start_tx("APP0000003", 10_000)
            await pw.runtime.quiesce()
            assert cp.received == [("RemoteStopTransaction", {"transaction_id": tx})]
            await cp.stop_tx(tx, 10_100, 60, reason="Remote")
            await pw.runtime.quiesce()
    else:
        async with connected(pw.world.url, Station201) as cs:
            await tx_event(cs, "Started", 0, 0, "Authorized", 10_000, tag="APP0000003")
            await pw.runtime.quiesce()
            assert actions(cs.received) == ["RequestStopTransaction"]
            assert cs.received[0][1]["transaction_id"] == "TX-PAY-1"
            await tx_event(cs, "Ended", 1, 60, "RemoteStop", 10_100)
            await pw.runtime.quiesce()

    payment, state = await app_hold(pw, account)
    assert (state.status, state.decline_code) == (PaymentStatus.FAILED, "card_declined")
    assert (state.authorised, state.captured) == (NOTHING, NOTHING)
    # 0.1 kWh: 0.049 + 0.35 = 0.399 → 0.40 net, 0.48 gross
    gross = await receipt_gross(pw, payment)
    assert gross == Decimal("0.48")
    assert await pw.balance(receivable(account.id)) == gross
    assert await pw.entries(EntryKind.CAPTURE) == []
    assert await pw.entries(EntryKind.WRITE_OFF) == []
    await pw.assert_books_balance()


async def test_an_app_token_without_a_card_is_not_held(pw: PaymentWorld) -> None:
    """An app token whose account has no stored card pays postpaid, like an RFID card."""
    await add_customer(pw.runtime, "Cardless", "APP0000004", TokenType.APP, BillingMode.POSTPAID)
    async with connected(pw.world.url, Station16) as cp:
        authorised = await cp.request(call16.Authorize("APP0000004"))
        assert authorised.id_tag_info["status"] == "Accepted"
        tx = await cp.start_tx("APP0000004", 10_000)
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 12_000, 600)
        await pw.runtime.quiesce()
        assert cp.received == []
    assert await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.SESSION) == []
    await pw.assert_books_balance()
