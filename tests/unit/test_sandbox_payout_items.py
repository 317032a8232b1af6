"""The sandbox PSP names what each payout settled (issue 13, payout reconciliation): a
capture once with its fee, each refund once, and the operator's adjustments (a chargeback)
in the next payout; the items always make the payout's gross and fee."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.domain.payout_reconciliation import ItemKind
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payments.gateway import Payout
from tests.unit.test_sandbox_gateway import NOW, eur, gateway, token

OURS = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


async def captured(psp: SandboxGateway, amount: str, key: str, reference: str) -> str:
    result = await psp.authorise(
        amount=eur(amount), method_token=await token(psp), idempotency_key=key, reference=reference
    )
    assert result.provider_ref is not None
    await psp.capture(
        provider_ref=result.provider_ref, amount=eur(amount), idempotency_key=key + "c"
    )
    return result.provider_ref


def summed(payout: Payout) -> tuple[Money, Money]:
    zero = Money.zero("EUR")
    return sum((i.amount for i in payout.items), zero), sum((i.fee for i in payout.items), zero)


async def test_items_of_payouts_are_each_capture_and_refund_once() -> None:
    psp = gateway()
    first = await captured(psp, "40.00", "a", str(OURS))
    await psp.refund(provider_ref=first, amount=eur("10.00"), idempotency_key="r1", reason="x")
    payout = await psp.pay_out()
    assert payout is not None
    assert [(i.kind, i.amount, i.fee, i.provider_ref) for i in payout.items] == [
        (ItemKind.CAPTURE, eur("40.00"), eur("0.81"), first),
        (ItemKind.REFUND, eur("-10.00"), eur("0"), first),
    ]
    assert {i.payment_id for i in payout.items} == {OURS}  # our reference, echoed
    assert summed(payout) == (payout.gross, payout.fee)

    await psp.refund(provider_ref=first, amount=eur("5.00"), idempotency_key="r2", reason="y")
    other = await captured(psp, "20.00", "b", "not-a-uuid")
    second = await psp.pay_out()
    assert second is not None
    assert [(i.kind, i.amount, i.provider_ref, i.payment_id) for i in second.items] == [
        (ItemKind.REFUND, eur("-5.00"), first, OURS),
        (ItemKind.CAPTURE, eur("20.00"), other, None),
    ]
    assert summed(second) == (second.gross, second.fee) == (eur("15.00"), eur("0.53"))
    assert await psp.payout_items(second.payout_id) == second.items
    assert await psp.payouts(NOW - timedelta(days=1)) == [payout, second]


async def test_an_adjustment_is_withdrawn_by_the_next_payout() -> None:
    psp = gateway()
    ref = await captured(psp, "30.00", "a", str(OURS))
    chargeback = await psp.adjust(ref, eur("-30.00"), "dispute lost: fraudulent")
    payout = await psp.pay_out()
    assert payout is not None
    assert payout.items[-1] == chargeback
    assert (chargeback.kind, chargeback.provider_ref, chargeback.payment_id) == (
        ItemKind.ADJUSTMENT,
        ref,
        OURS,
    )
    assert (payout.gross, payout.fee) == (eur("0.00"), eur("0.67"))
    assert await psp.pay_out() is None  # the adjustment is paid out once
    with pytest.raises(InvalidInputError) as unknown:
        await psp.adjust("sbx_pi_nobody", eur("-1.00"), "x")
    assert unknown.value.code == "unknown_payment"
