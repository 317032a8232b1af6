"""Live credit control of wallet sessions (issue 11 item 11) end to end: real OCPP 1.6J and
2.0.1 charge points of the ``ocpp`` library on real websockets, the sandbox PSP, SQLite and
PostgreSQL.

The guarantee (``domain.wallets``): on every meter value the session's cost at its *next*
meter value (the last interval repeated at the same power) is held against what the wallet
has above its minimum, less what its other running sessions will have cost by then; the
station is told to stop (RemoteStopTransaction / RequestStopTransaction) once, when that
would be crossed. A session at steady power that obeys the stop leaves the wallet at or above
its minimum; otherwise it ends below by at most the cost of the one interval in which the
power rose above the projection.

Prices: the flat tariff of ``payment_world`` (0.49/kWh + 0.35 per session, VAT 19 %):
0.5831 per kWh and 0.4165 per session including VAT. The wallet holds its opening 30.00;
finance sets its floor to 25.00 through the REST API, so 5.00 may be spent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from ocpp.v16 import call as call16

from chargeledger.bootstrap import Runtime
from chargeledger.domain.payments import (
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
)
from chargeledger.domain.wallets import StopReason, StopRequest
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.payments.wallets import TOP_UP_NAMESPACE
from tests.integration.ocpp_support import (
    CP16,
    CP201,
    LoginAs,
    Station16,
    Station201,
    at,
    connected,
    stored_sessions,
    wire,
)
from tests.integration.payment_world import (
    WALLET_TAG,
    PaymentWorld,
    card_for,
    payment_world,
)
from tests.integration.test_payments_ocpp import actions, tx_event

D = Decimal
FLOOR = D("25.00")
OPENING = D("30.00")
DECLINED_TOP_UP = "4000000000009995"  # insufficient funds


@pytest.fixture
async def pw(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[PaymentWorld]:
    async with payment_world(runtime, client, login_as) as world:
        await put(world, "/floor", {"floor": str(FLOOR)})
        yield world


async def put(pw: PaymentWorld, path: str, body: dict[str, Any]) -> None:
    response = await pw.world.http.put(
        f"/api/v1/accounts/{pw.wallet_account.id}/wallet{path}", json=body, headers=pw.world.admin
    )
    assert response.status_code == 200, response.text


async def stop_of(pw: PaymentWorld, charge_point_id: str, ref: str) -> StopRequest | None:
    sessions = await stored_sessions(pw.runtime, pw.world.station_id(charge_point_id))
    [session] = [s for s in sessions if s.transaction_ref == ref]
    async with pw.runtime.uow() as uow:
        return await uow.payments.stop_request(session.id)


async def wallet_debits(pw: PaymentWorld) -> list[Decimal]:
    found = await pw.payments_of(PaymentMethodKind.WALLET, PaymentPurpose.SESSION)
    return sorted(state.captured for _, state in found)


async def test_ocpp16_a_session_at_steady_power_stops_before_the_floor(pw: PaymentWorld) -> None:
    """18 kW, a meter value every 10 minutes (3 kWh, 1.7493). At 600 s the cost is 2.17
    and 3.92 by the next meter value: charge on. At 1200 s it is 3.92 and would be 5.66
    by the next: more than the 5.00 above the floor, so the station is told to stop, once —
    the same meter value sent again before it obeys changes nothing. It stops there: 3.92 is
    debited and the wallet stays above its floor."""
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await pw.runtime.quiesce()
        await cp.registers(tx, 1, (600, 13_000))
        await pw.runtime.quiesce()
        assert cp.received == []
        await cp.registers(tx, 1, (1200, 16_000))
        await pw.runtime.quiesce()
        assert cp.received == [("RemoteStopTransaction", {"transaction_id": tx})]
        await cp.registers(tx, 1, (1200, 16_000))  # under a new message id
        await pw.runtime.quiesce()
        assert len(cp.received) == 1  # once
        await cp.stop_tx(tx, 16_000, 1200, reason="Remote")
        await pw.runtime.quiesce()

    stop = await stop_of(pw, CP16, str(tx))
    assert stop is not None
    assert (stop.reason, stop.attempts, stop.answer) == (StopReason.WALLET_CREDIT, 1, "Accepted")
    # Asked with the meter value of 1200 s, at the gross that would be debited (VAT of the
    # supply, to the cent: the figure the wallet is charged).
    assert stop.cost == D("3.92")
    assert "5.66 by the next meter value" in stop.detail
    assert await wallet_debits(pw) == [D("3.92")]  # 6 kWh: 2.94 + 0.35 = 3.29 net
    assert await pw.wallet() == D("26.08")
    assert await pw.wallet() >= FLOOR
    await pw.assert_books_balance()


async def test_ocpp201_a_power_jump_overshoots_by_at_most_that_interval(pw: PaymentWorld) -> None:
    """6 kW for the first 10 minutes (0.9996 spent, 1.5827 by the next meter value: charge
    on), then 54 kW: at 1200 s the session has cost 6.25, already past the 5.00 it may
    spend. RequestStopTransaction at once; the station ends there. The wallet ends 1.25 under
    its floor: less than the 5.2479 that last interval cost, the bound of the guarantee."""
    async with connected(pw.world.url, Station201) as cs:
        started = await tx_event(cs, "Started", 0, 0, "Authorized", 10_000, tag=WALLET_TAG)
        assert started.id_token_info["status"] == "Accepted"
        await pw.runtime.quiesce()
        await tx_event(cs, "Updated", 1, 600, "MeterValuePeriodic", 11_000)
        await pw.runtime.quiesce()
        assert cs.received == []
        await tx_event(cs, "Updated", 2, 1200, "MeterValuePeriodic", 20_000)
        await pw.runtime.quiesce()
        assert actions(cs.received) == ["RequestStopTransaction"]
        assert cs.received[0][1]["transaction_id"] == "TX-PAY-1"
        await tx_event(cs, "Ended", 3, 1200, "RemoteStop", 20_000)
        await pw.runtime.quiesce()
        assert len(cs.received) == 1

    stop = await stop_of(pw, CP201, "TX-PAY-1")
    assert stop is not None
    assert (stop.cost, stop.answer) == (D("6.25"), "Accepted")
    assert await wallet_debits(pw) == [D("6.25")]
    shortfall = FLOOR - await pw.wallet()
    assert shortfall == D("1.25")
    assert shortfall <= 9 * D("0.5831")  # the cost of the interval in which the power rose
    await pw.assert_books_balance()


@pytest.mark.parametrize(("card", "stopped"), [(None, False), (DECLINED_TOP_UP, True)])
async def test_auto_top_up_counts_once_the_psp_has_taken_the_money(
    pw: PaymentWorld, card: str | None, stopped: bool
) -> None:
    """The same session as the 1.6 one, with auto top-up on: where it would have been
    stopped, 25.00 is charged to the card instead, and it charges on to its natural end.
    A card that declines adds nothing: the session is stopped as before."""
    if card is not None:
        await card_for(pw.runtime, pw.wallet_account, card)  # the new default card
    await put(
        pw,
        "",
        {
            "minimum_balance": None,
            "auto_top_up": True,
            "top_up_below": "30.00",
            "top_up_amount": "25.00",
        },
    )
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await cp.registers(tx, 1, (600, 13_000))
        await pw.runtime.quiesce()
        await cp.registers(tx, 1, (1200, 16_000))
        await pw.runtime.quiesce()
        if stopped:
            assert cp.received == [("RemoteStopTransaction", {"transaction_id": tx})]
            await cp.stop_tx(tx, 16_000, 1200, reason="Remote")
        else:
            await cp.registers(tx, 1, (1800, 19_000))
            await pw.runtime.quiesce()
            assert cp.received == []
            await cp.stop_tx(tx, 19_000, 1800)
        await pw.runtime.quiesce()

    top_ups = [
        state
        for payment, state in await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.TOP_UP)
        if state.status is not PaymentStatus.CAPTURED or state.captured != OPENING
    ]
    if stopped:
        assert [(s.status, s.decline_code) for s in top_ups] == [
            (PaymentStatus.FAILED, "insufficient_funds"),  # the live one
            (PaymentStatus.FAILED, "insufficient_funds"),  # the one after the debit
        ]
        assert await pw.wallet() == OPENING - D("3.92")
    else:
        assert [(s.status, s.captured) for s in top_ups] == [(PaymentStatus.CAPTURED, D(25))]
        assert await pw.wallet() == OPENING + D(25) - D("5.66")  # 9 kWh: 4.76 net
    await pw.assert_books_balance()


async def test_a_live_top_up_under_way_is_not_charged_twice(pw: PaymentWorld) -> None:
    """The first live top-up of a session is caught between storing its payment and hearing
    from the PSP (another meter value's work, on this or another node) when the next meter
    value finds the wallet short again: that one joins it instead of charging the card a
    second time. 25.00 is taken once and the session charges on."""
    await put(pw, "", {"minimum_balance": None, "auto_top_up": True, "top_up_amount": "25.00"})
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await cp.registers(tx, 1, (600, 13_000))
        await pw.runtime.quiesce()
        [session] = await stored_sessions(pw.runtime, pw.world.station_id(CP16))
        account = pw.wallet_account
        under_way = Payment(
            id=uuid.uuid5(TOP_UP_NAMESPACE, f"{account.id}:{session.id}:live:1"),
            purpose=PaymentPurpose.TOP_UP,
            method=PaymentMethodKind.APP,
            gateway=pw.wallet_card.gateway,
            currency="EUR",
            account_id=account.id,
            method_token=pw.wallet_card.token,
        )
        async with pw.runtime.uow() as uow:
            await uow.payments.add(under_way, pw.runtime.clock.now())
            await uow.commit()
        await cp.registers(tx, 1, (1200, 16_000))
        await pw.runtime.quiesce()
        assert cp.received == []
        await cp.stop_tx(tx, 16_000, 1200)
        await pw.runtime.quiesce()

    live = [
        (payment.id, state.status, state.captured)
        for payment, state in await pw.payments_of(PaymentMethodKind.APP, PaymentPurpose.TOP_UP)
        if state.captured != OPENING
    ]
    assert live == [(under_way.id, PaymentStatus.CAPTURED, D(25))]
    assert await pw.wallet() == OPENING + D(25) - D("3.92")
    await pw.assert_books_balance()


async def test_two_sessions_of_one_wallet_share_its_credit(pw: PaymentWorld) -> None:
    """A family's two cars on one prepaid account: each session alone could spend 3.92 of
    the 5.00, both together could not. The second session's first meter value counts what
    the first will have cost by its next one (3.9151), so the second is stopped."""
    async with (
        connected(pw.world.url, Station16) as cp,
        connected(pw.world.url, Station201) as cs,
    ):
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await cp.registers(tx, 1, (600, 13_000))
        await pw.runtime.quiesce()
        await tx_event(cs, "Started", 0, 0, "Authorized", 50_000, tag=WALLET_TAG)
        await pw.runtime.quiesce()
        await tx_event(cs, "Updated", 1, 600, "MeterValuePeriodic", 53_000)
        await pw.runtime.quiesce()
        assert actions(cs.received) == ["RequestStopTransaction"]
        assert cp.received == []
        await tx_event(cs, "Ended", 2, 600, "RemoteStop", 53_000)
        await cp.stop_tx(tx, 13_000, 600)
        await pw.runtime.quiesce()

    assert await stop_of(pw, CP201, "TX-PAY-1") is not None
    assert await wallet_debits(pw) == [D("2.17"), D("2.17")]
    assert await pw.wallet() >= FLOOR
    await pw.assert_books_balance()


async def test_a_finished_session_not_debited_yet_counts(pw: PaymentWorld) -> None:
    """The debit of a finished session follows its stop after the commit; until it is booked
    the balance does not show it. Here it never came (the session was captured without the
    station edge's payment work): its 3.92 still counts, so 1.08 are left, and the next
    session's first meter value (1.00 spent, 1.58 by the next) is already too much."""
    station = pw.world.network.stations[CP16]
    async with pw.runtime.uow() as uow:
        request = capture.StartRequest(
            evse_id=2,
            connector_id=1,
            id_tag=WALLET_TAG,
            started_at=at(-7200),
            meter_start_wh=D(50_000),
        )
        earlier = await capture.start_session(uow, pw.runtime.clock, station, request)
        await capture.stop_session(
            uow,
            pw.runtime.clock,
            earlier,
            stopped_at=at(-6000),
            meter_stop_wh=D(56_000),
            reason="Local",
        )
        await uow.commit()
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await cp.registers(tx, 1, (600, 11_000))
        await pw.runtime.quiesce()
        assert cp.received == [("RemoteStopTransaction", {"transaction_id": tx})]
        stop = await stop_of(pw, CP16, str(tx))
        assert stop is not None
        assert "other sessions 3.92" in stop.detail
        await cp.stop_tx(tx, 11_000, 600, reason="Remote")
        await pw.runtime.quiesce()
    assert await pw.wallet() == OPENING - D("1.00")  # the earlier one is still not debited


async def test_a_session_started_below_the_minimum_is_stopped_at_once(pw: PaymentWorld) -> None:
    """A 1.6 station that starts although StartTransaction said Blocked (or an offline start)
    is told to stop right away. The station first refuses the stop; the next meter value asks
    again (a second attempt), and once accepted nothing more is sent."""
    await put(pw, "/floor", {"floor": "40.00"})
    async with connected(pw.world.url, Station16) as cp:
        cp.answers["RemoteStopTransaction"] = "Rejected"
        answer = await cp.request(
            call16.StartTransaction(
                connector_id=1, id_tag=WALLET_TAG, meter_start=10_000, timestamp=wire(0)
            )
        )
        assert answer.id_tag_info["status"] == "Blocked"
        tx = int(answer.transaction_id)
        await pw.runtime.quiesce()
        assert cp.received == [("RemoteStopTransaction", {"transaction_id": tx})]
        stop = await stop_of(pw, CP16, str(tx))
        assert stop is not None
        assert (stop.attempts, stop.answer) == (1, "Rejected")

        cp.answers.clear()
        await cp.registers(tx, 1, (60, 10_200))
        await pw.runtime.quiesce()
        assert len(cp.received) == 2
        stop = await stop_of(pw, CP16, str(tx))
        assert stop is not None
        assert (stop.attempts, stop.answer) == (2, "Accepted")
        await cp.registers(tx, 1, (120, 10_400))
        await pw.runtime.quiesce()
        assert len(cp.received) == 2  # accepted: never asked again
        await cp.stop_tx(tx, 10_400, 120, reason="Remote")
        await pw.runtime.quiesce()
    assert len(cp.received) == 2
    await pw.assert_books_balance()
