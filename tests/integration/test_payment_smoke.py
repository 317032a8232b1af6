"""Smoke: an app-card session over OCPP 1.6 is held at start and captured at stop."""

from __future__ import annotations

from decimal import Decimal

from chargeledger.domain.payments import PaymentMethodKind, PaymentPurpose, PaymentStatus
from tests.integration.ocpp_support import Station16, connected
from tests.integration.payment_world import APP_TAG, WALLET_TAG, PaymentWorld


async def test_app_session_is_held_and_captured(pw: PaymentWorld) -> None:
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(APP_TAG, 10_000)
        await pw.runtime.quiesce()
        await cp.registers(tx, 1, (1800, 15_000))
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 20_000, 3600)
        await pw.runtime.quiesce()
    payments = await pw.payments()
    holds = [
        (p, s)
        for p, s in payments
        if p.method is PaymentMethodKind.APP and p.purpose is PaymentPurpose.SESSION
    ]
    assert len(holds) == 1
    _, state = holds[0]
    assert state.status is PaymentStatus.CAPTURED
    # 10 kWh at 0.49 + 0.35 fee = 5.25 net, 6.25 gross (19 %)
    assert state.captured == Decimal("6.25")
    assert all(v == 0 for v in (await pw.trial_balance()).values())


async def test_wallet_session_debits_the_wallet(pw: PaymentWorld) -> None:
    before = await pw.wallet()
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(WALLET_TAG, 10_000)
        await cp.stop_tx(tx, 20_000, 3600)
        await pw.runtime.quiesce()
    assert before == Decimal("30.00")
    assert await pw.wallet() == Decimal("23.75")
