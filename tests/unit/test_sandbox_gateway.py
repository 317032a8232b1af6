"""The sandbox PSP simulator (issue 6): test cards, holds, one capture per hold, refunds within
what was captured, idempotency keys, lookups for the janitor, signed webhooks and their
verification, repeatable ids per seed, and payouts less 1.4 % + 0.25 per captured payment."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.adapters.gateways.sandbox import (
    SIGNATURE_HEADER,
    TEST_CARDS,
    SandboxGateway,
    sign,
)
from chargeledger.domain.card_data import looks_like_card_number
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payments.gateway import (
    WEBHOOK_TOLERANCE_SECONDS,
    GatewayTimeoutError,
    Outcome,
    WebhookKind,
    WebhookRejectedError,
)

SECRET = "whsec_unit"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
D = Decimal


class Clock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def gateway(seed: int = 7) -> SandboxGateway:
    return SandboxGateway(Clock(NOW), SECRET, seed=seed)


async def token(psp: SandboxGateway, number: str = "4242424242424242") -> str:
    return (await psp.tokenise(number, 12, 2030, "123")).token


async def held(psp: SandboxGateway, amount: str = "30.00", number: str = "4242424242424242") -> str:
    result = await psp.authorise(
        amount=eur(amount),
        method_token=await token(psp, number),
        idempotency_key="k-auth",
        reference="p1",
    )
    assert result.outcome is Outcome.AUTHORISED
    assert result.provider_ref is not None
    return result.provider_ref


# --- tokens ----------------------------------------------------------------------------------


async def test_tokenise_keeps_brand_last_four_and_expiry_only() -> None:
    psp = gateway()
    details = await psp.tokenise("5555 5555 5555 4444", 7, 2031, "123")
    assert (details.brand, details.last4, details.exp_month, details.exp_year) == (
        "mastercard",
        "4444",
        7,
        2031,
    )
    assert details.token.startswith("tok_")
    assert "5555555555554444" not in repr(details)
    assert "5555555555554444" not in repr(vars(psp))  # the simulator keeps no number either


@pytest.mark.parametrize(
    ("number", "month", "year", "cvc", "code"),
    [
        ("4242424242424241", 12, 2030, "123", "invalid_card_number"),
        ("42424242", 12, 2030, "123", "invalid_card_number"),
        ("4242424242424242", 12, 2030, "12", "invalid_cvc"),
        ("4242424242424242", 12, 2030, "12a", "invalid_cvc"),
        ("4242424242424242", 2, 2026, "123", "expired_card"),  # NOW is March 2026
        ("4242424242424242", 13, 2030, "123", "expired_card"),
    ],
)
async def test_tokenise_refuses_bad_cards(
    number: str, month: int, year: int, cvc: str, code: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await gateway().tokenise(number, month, year, cvc)
    assert caught.value.code == code


async def test_card_details_by_token() -> None:
    psp = gateway()
    tok = await token(psp)
    details = await psp.card_details(tok)
    assert (details.token, details.brand, details.last4) == (tok, "visa", "4242")
    with pytest.raises(InvalidInputError) as caught:
        await psp.card_details("tok_unknown")
    assert caught.value.code == "unknown_card_token"


# --- test cards ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["4242424242424242", "5555555555554444", "4000056655665556"])
async def test_approved_cards_are_held(number: str) -> None:
    psp = gateway()
    result = await psp.authorise(
        amount=eur("30.00"),
        method_token=await token(psp, number),
        idempotency_key="k",
        reference="p1",
    )
    assert (result.outcome, result.amount, result.decline_code) == (
        Outcome.AUTHORISED,
        D("30.00"),
        None,
    )
    assert result.provider_ref is not None
    assert result.provider_ref.startswith("sbx_pi_")


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
    ],
)
async def test_declining_cards(number: str, code: str) -> None:
    psp = gateway()
    result = await psp.authorise(
        amount=eur("30.00"),
        method_token=await token(psp, number),
        idempotency_key="k",
        reference="p1",
    )
    assert (result.outcome, result.amount, result.decline_code) == (Outcome.DECLINED, 0, code)
    view = await psp.lookup(reference="p1", provider_ref=None)
    assert view is not None
    assert (view.declined, view.decline_code, view.authorised) == (True, code, 0)
    # A declined hold cannot be captured or raised.
    ref = result.provider_ref
    assert ref is not None
    capture = await psp.capture(provider_ref=ref, amount=eur("1"), idempotency_key="k-c")
    assert (capture.outcome, capture.decline_code) == (Outcome.DECLINED, "not_held")
    raised = await psp.increment(provider_ref=ref, new_total=eur("40"), idempotency_key="k-r")
    assert raised.outcome is Outcome.DECLINED


async def test_timeout_card_times_out_after_the_psp_did_it() -> None:
    """The dangerous case: no answer, yet the money is held. A retry with the same key gets
    the same hold (and times out again); the janitor's lookup sees it."""
    psp = gateway()
    tok = await token(psp, "4000000000000119")
    with pytest.raises(GatewayTimeoutError):
        await psp.authorise(
            amount=eur("30.00"), method_token=tok, idempotency_key="k", reference="p1"
        )
    view = await psp.lookup(reference="p1", provider_ref=None)
    assert view is not None
    assert (view.authorised, view.captured, view.declined) == (D("30.00"), 0, False)
    with pytest.raises(GatewayTimeoutError):
        await psp.authorise(
            amount=eur("30.00"), method_token=tok, idempotency_key="k", reference="p1"
        )
    again = await psp.lookup(reference="p1", provider_ref=None)
    assert again == view  # not held twice
    with pytest.raises(GatewayTimeoutError):
        await psp.capture(provider_ref=view.provider_ref, amount=eur("10"), idempotency_key="c")
    captured = await psp.lookup(reference="p1", provider_ref=view.provider_ref)
    assert captured is not None
    assert captured.captured == D("10")


async def test_limited_card_is_approved_up_to_fifty() -> None:
    psp = gateway()
    tok = await token(psp, "4000000000005126")
    over = await psp.authorise(
        amount=eur("50.01"), method_token=tok, idempotency_key="k1", reference="p1"
    )
    assert (over.outcome, over.decline_code) == (Outcome.DECLINED, "insufficient_funds")
    ok = await psp.authorise(
        amount=eur("30.00"), method_token=tok, idempotency_key="k2", reference="p2"
    )
    assert ok.outcome is Outcome.AUTHORISED
    assert ok.provider_ref is not None
    up = await psp.increment(
        provider_ref=ok.provider_ref, new_total=eur("50"), idempotency_key="r1"
    )
    assert (up.outcome, up.amount) == (Outcome.AUTHORISED, D("50"))
    refused = await psp.increment(
        provider_ref=ok.provider_ref, new_total=eur("70"), idempotency_key="r2"
    )
    assert (refused.outcome, refused.amount, refused.decline_code) == (
        Outcome.DECLINED,
        D("50"),
        "insufficient_funds",
    )


async def test_the_documented_test_cards_pass_luhn_and_are_known() -> None:
    for number in TEST_CARDS:
        await gateway().tokenise(number, 12, 2030, "123")  # valid numbers, whatever they do


# --- idempotency -----------------------------------------------------------------------------


async def test_same_key_same_request_gets_the_first_answer() -> None:
    psp = gateway()
    tok = await token(psp)
    first = await psp.authorise(
        amount=eur("30.00"), method_token=tok, idempotency_key="k", reference="p1"
    )
    second = await psp.authorise(
        amount=eur("30.00"), method_token=tok, idempotency_key="k", reference="p1"
    )
    assert second == first
    other = await psp.authorise(
        amount=eur("30.00"), method_token=tok, idempotency_key="k2", reference="p2"
    )
    assert other.provider_ref != first.provider_ref


@pytest.mark.parametrize(
    "changes",
    [{"amount": eur("31.00")}, {"reference": "p2"}, {"capture": True}],
    ids=["amount", "reference", "capture"],
)
async def test_same_key_other_request_is_refused(changes: dict[str, object]) -> None:
    psp = gateway()
    tok = await token(psp)
    request: dict[str, object] = {
        "amount": eur("30.00"),
        "method_token": tok,
        "idempotency_key": "k",
        "reference": "p1",
        "capture": False,
    }
    await psp.authorise(**request)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as caught:
        await psp.authorise(**(request | changes))  # type: ignore[arg-type]
    assert caught.value.code == "idempotency_mismatch"


async def test_capture_and_refund_keys_are_idempotent() -> None:
    psp = gateway()
    ref = await held(psp)
    first = await psp.capture(provider_ref=ref, amount=eur("20"), idempotency_key="c")
    assert await psp.capture(provider_ref=ref, amount=eur("20"), idempotency_key="c") == first
    with pytest.raises(InvalidInputError):
        await psp.capture(provider_ref=ref, amount=eur("21"), idempotency_key="c")
    refund = await psp.refund(provider_ref=ref, amount=eur("5"), idempotency_key="r", reason="x")
    again = await psp.refund(provider_ref=ref, amount=eur("5"), idempotency_key="r", reason="x")
    assert again == refund
    view = await psp.lookup(reference="p1", provider_ref=ref)
    assert view is not None
    assert view.refunds == ((refund.refund_ref, D("5")),)
    with pytest.raises(InvalidInputError):
        await psp.refund(provider_ref=ref, amount=eur("6"), idempotency_key="r", reason="x")


# --- holds, captures, releases, refunds ------------------------------------------------------


async def test_one_capture_per_hold() -> None:
    psp = gateway()
    ref = await held(psp)
    first = await psp.capture(provider_ref=ref, amount=eur("20"), idempotency_key="c1")
    assert (first.outcome, first.amount) == (Outcome.CAPTURED, D("20"))
    second = await psp.capture(provider_ref=ref, amount=eur("25"), idempotency_key="c2")
    assert (second.outcome, second.amount) == (Outcome.CAPTURED, D("20"))  # not repeated
    view = await psp.lookup(reference="p1", provider_ref=ref)
    assert view is not None
    assert view.captured == D("20")


async def test_capture_above_the_hold_is_refused() -> None:
    psp = gateway()
    ref = await held(psp, "30.00")
    with pytest.raises(InvalidInputError) as caught:
        await psp.capture(provider_ref=ref, amount=eur("30.01"), idempotency_key="c")
    assert caught.value.code == "capture_above_hold"
    # Nothing was taken, and the hold can still be captured within it.
    ok = await psp.capture(provider_ref=ref, amount=eur("30.00"), idempotency_key="c2")
    assert ok.amount == D("30.00")


async def test_raise_then_capture_up_to_the_new_hold() -> None:
    psp = gateway()
    ref = await held(psp, "30.00")
    raised = await psp.increment(provider_ref=ref, new_total=eur("50"), idempotency_key="r1")
    assert (raised.outcome, raised.amount) == (Outcome.AUTHORISED, D("50"))
    lower = await psp.increment(provider_ref=ref, new_total=eur("40"), idempotency_key="r2")
    assert lower.amount == D("50")  # a hold never shrinks by raising
    ok = await psp.capture(provider_ref=ref, amount=eur("45"), idempotency_key="c")
    assert ok.amount == D("45")
    late = await psp.increment(provider_ref=ref, new_total=eur("60"), idempotency_key="r3")
    assert (late.outcome, late.decline_code) == (Outcome.DECLINED, "not_held")


async def test_release() -> None:
    psp = gateway()
    ref = await held(psp)
    released = await psp.release(provider_ref=ref, idempotency_key="x1")
    assert (released.outcome, released.amount) == (Outcome.RELEASED, 0)
    assert (await psp.release(provider_ref=ref, idempotency_key="x2")).outcome is Outcome.RELEASED
    capture = await psp.capture(provider_ref=ref, amount=eur("1"), idempotency_key="c")
    assert (capture.outcome, capture.decline_code) == (Outcome.DECLINED, "not_held")
    view = await psp.lookup(reference="p1", provider_ref=ref)
    assert view is not None
    assert (view.released, view.captured) == (True, 0)

    psp2 = gateway()
    captured_ref = await held(psp2)
    await psp2.capture(provider_ref=captured_ref, amount=eur("10"), idempotency_key="c")
    too_late = await psp2.release(provider_ref=captured_ref, idempotency_key="x")
    assert (too_late.outcome, too_late.decline_code) == (Outcome.DECLINED, "captured")


async def test_refunds_stay_within_what_was_captured() -> None:
    psp = gateway()
    ref = await held(psp)
    await psp.capture(provider_ref=ref, amount=eur("20"), idempotency_key="c")
    first = await psp.refund(provider_ref=ref, amount=eur("15"), idempotency_key="r1", reason="a")
    assert (first.outcome, first.amount) == (Outcome.REFUNDED, D("15"))
    assert first.refund_ref is not None
    assert first.refund_ref.startswith("sbx_re_")
    over = await psp.refund(provider_ref=ref, amount=eur("5.01"), idempotency_key="r2", reason="b")
    assert (over.outcome, over.decline_code) == (Outcome.DECLINED, "over_refund")
    zero = await psp.refund(provider_ref=ref, amount=eur("0"), idempotency_key="r3", reason="c")
    assert zero.outcome is Outcome.DECLINED
    rest = await psp.refund(provider_ref=ref, amount=eur("5"), idempotency_key="r4", reason="d")
    assert rest.outcome is Outcome.REFUNDED
    assert rest.refund_ref != first.refund_ref
    view = await psp.lookup(reference="p1", provider_ref=None)
    assert view is not None
    assert sum(a for _, a in view.refunds) == D("20")


async def test_nothing_to_refund_before_a_capture() -> None:
    psp = gateway()
    ref = await held(psp)
    result = await psp.refund(provider_ref=ref, amount=eur("1"), idempotency_key="r", reason="x")
    assert (result.outcome, result.decline_code) == (Outcome.DECLINED, "over_refund")


async def test_unknown_payment_and_token() -> None:
    psp = gateway()
    with pytest.raises(InvalidInputError) as caught:
        await psp.capture(provider_ref="sbx_pi_nope", amount=eur("1"), idempotency_key="c")
    assert caught.value.code == "unknown_payment"
    with pytest.raises(InvalidInputError) as caught:
        await psp.authorise(
            amount=eur("1"), method_token="tok_nope", idempotency_key="k", reference="p"
        )
    assert caught.value.code == "unknown_card_token"


async def test_lookup() -> None:
    psp = gateway()
    assert await psp.lookup(reference="never", provider_ref=None) is None
    assert await psp.lookup(reference="never", provider_ref="sbx_pi_never") is None
    ref = await held(psp, "30.00")
    by_reference = await psp.lookup(reference="p1", provider_ref=None)
    by_ref = await psp.lookup(reference="whatever", provider_ref=ref)
    assert by_reference == by_ref
    assert by_reference is not None
    assert (by_reference.provider_ref, by_reference.authorised, by_reference.captured) == (
        ref,
        D("30.00"),
        0,
    )
    assert (by_reference.refunds, by_reference.released, by_reference.declined) == (
        (),
        False,
        False,
    )


async def test_capture_at_once_for_a_top_up() -> None:
    psp = gateway()
    result = await psp.authorise(
        amount=eur("25.00"),
        method_token=await token(psp),
        idempotency_key="k",
        reference="t1",
        capture=True,
    )
    assert (result.outcome, result.amount) == (Outcome.CAPTURED, D("25.00"))
    view = await psp.lookup(reference="t1", provider_ref=None)
    assert view is not None
    assert (view.authorised, view.captured) == (D("25.00"), D("25.00"))


# --- repeatable by seed ----------------------------------------------------------------------


async def _run(psp: SandboxGateway) -> list[str]:
    tok = await token(psp)
    ids = [tok]
    result = await psp.authorise(
        amount=eur("30"), method_token=tok, idempotency_key="k", reference="p1"
    )
    assert result.provider_ref is not None
    ids.append(result.provider_ref)
    await psp.capture(provider_ref=result.provider_ref, amount=eur("30"), idempotency_key="c")
    refund = await psp.refund(
        provider_ref=result.provider_ref, amount=eur("3"), idempotency_key="r", reason="x"
    )
    assert refund.refund_ref is not None
    ids.append(refund.refund_ref)
    payout = await psp.pay_out()
    assert payout is not None
    ids.append(payout.payout_id)
    return ids


async def test_ids_are_repeatable_per_seed() -> None:
    first, again, other = await _run(gateway(7)), await _run(gateway(7)), await _run(gateway(8))
    assert first == again
    assert len(set(first)) == 4
    assert not set(first) & set(other)


async def test_ids_never_look_like_card_numbers() -> None:
    """Our own tokens pass the card-data guard: a hex id once held 13+ digits passing Luhn
    (``tok_f2331620748258d0``) and storing the card was refused at random."""
    psp = gateway()
    tokens = [await token(psp) for _ in range(300)]
    assert len(set(tokens)) == 300
    for value in tokens:
        body = value.split("_", 1)[1]
        assert len(body) == 18
        assert set(body) <= set(string.ascii_lowercase)
        assert not looks_like_card_number(value)


# --- payouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("captured", "fee"),
    [
        ("100.00", "1.65"),  # 1.40 + 0.25
        ("6.25", "0.34"),  # 0.0875 + 0.25 = 0.3375
        ("12.50", "0.43"),  # 0.175 + 0.25 = 0.425: half-up (DESIGN §2), not half-even
        ("0.01", "0.25"),
    ],
)
async def test_payout_fee_is_1_4_percent_plus_25_cents(captured: str, fee: str) -> None:
    psp = gateway()
    ref = await held(psp, captured)
    await psp.capture(provider_ref=ref, amount=eur(captured), idempotency_key="c")
    payout = await psp.pay_out("EUR")
    assert payout is not None
    assert (payout.gross, payout.fee, payout.net) == (
        eur(captured),
        eur(fee),
        eur(captured) - eur(fee),
    )
    assert payout.arrival == NOW.date()
    assert payout.payout_id.startswith("po_")


async def test_payouts_pay_each_captured_payment_once_less_refunds() -> None:
    psp = gateway()
    assert await psp.pay_out() is None  # nothing captured yet
    ref = await held(psp, "40.00")
    await psp.capture(provider_ref=ref, amount=eur("40.00"), idempotency_key="c")
    await psp.refund(provider_ref=ref, amount=eur("10.00"), idempotency_key="r", reason="x")
    other = await psp.authorise(
        amount=eur("20.00"), method_token=await token(psp), idempotency_key="k2", reference="p2"
    )
    assert other.provider_ref is not None  # held, not captured: not paid out
    payout = await psp.pay_out()
    assert payout is not None
    assert (payout.gross, payout.fee) == (eur("30.00"), eur("0.81"))  # 0.56 + 0.25
    assert await psp.pay_out() is None  # nothing new
    assert await psp.pay_out("USD") is None
    await psp.capture(provider_ref=other.provider_ref, amount=eur("20.00"), idempotency_key="c2")
    second = await psp.pay_out()
    assert second is not None
    assert (second.gross, second.fee) == (eur("20.00"), eur("0.53"))  # 0.28 + 0.25
    assert await psp.payouts(NOW - timedelta(days=1)) == [payout, second]
    assert await psp.payouts(NOW + timedelta(days=1)) == []


# --- webhooks out ----------------------------------------------------------------------------


async def test_events_are_signed_and_delivered_until_accepted() -> None:
    psp = gateway()
    psp.max_webhook_delay = 0
    received: list[tuple[bytes, dict[str, str]]] = []
    answers = iter([500, 200])

    async def sink(payload: bytes, headers: Mapping[str, str]) -> int:
        received.append((payload, dict(headers)))
        return next(answers, 200)

    psp.deliver_webhooks_to(sink)
    ref = await held(psp, "30.00")
    await psp.settle()
    assert not psp.busy
    assert len(received) == 2  # refused once, delivered again
    assert received[0] == received[1]
    payload, headers = received[0]
    event = psp.verify_webhook(payload, headers, NOW)
    assert (event.kind, event.provider_ref, event.reference, event.amount, event.currency) == (
        WebhookKind.AUTHORISED,
        ref,
        "p1",
        D("30.00"),
        "EUR",
    )
    await psp.capture(provider_ref=ref, amount=eur("12.00"), idempotency_key="c")
    await psp.refund(provider_ref=ref, amount=eur("2.00"), idempotency_key="r-op", reason="x")
    await psp.pay_out()
    await psp.settle()
    events = [psp.verify_webhook(p, h, NOW) for p, h in received[2:]]
    assert [e.kind for e in events] == [
        WebhookKind.CAPTURED,
        WebhookKind.REFUNDED,
        WebhookKind.PAYOUT_PAID,
    ]
    refund, payout = events[1], events[2]
    assert (refund.amount, refund.operation) == (D("2.00"), "r-op")
    assert refund.refund_ref is not None
    assert payout.payout is not None
    assert (payout.payout.gross, payout.payout.fee) == (eur("10.00"), eur("0.42"))
    assert len({e.event_id for e in events}) == 3


# --- webhooks in: verification ---------------------------------------------------------------

BODY: dict[str, object] = {
    "id": "evt_1",
    "type": "payment.captured",
    "created": int(NOW.timestamp()),
    "provider_ref": "sbx_pi_1",
    "reference": "p1",
    "currency": "EUR",
    "amount": "12.00",
}


def test_a_valid_signature_is_accepted() -> None:
    psp = gateway()
    payload, headers = psp.signed(BODY)
    event = psp.verify_webhook(payload, headers, NOW)
    assert (event.event_id, event.kind, event.amount, event.created) == (
        "evt_1",
        WebhookKind.CAPTURED,
        D("12.00"),
        NOW,
    )
    # Header names are case-insensitive, as over HTTP.
    assert psp.verify_webhook(payload, {"Sandbox-Signature": headers[SIGNATURE_HEADER]}, NOW)
    # Within the tolerance on either side.
    edge = timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS)
    assert psp.verify_webhook(payload, headers, NOW + edge)
    assert psp.verify_webhook(payload, headers, NOW - edge)


def test_unknown_event_types_are_valid_but_ignored() -> None:
    psp = gateway()
    payload, headers = psp.signed(BODY | {"type": "customer.created"})
    assert psp.verify_webhook(payload, headers, NOW).kind is WebhookKind.IGNORED


def _signed_with(secret: str, body: bytes, at: datetime = NOW) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(secret, int(at.timestamp()), body)}


PAYLOAD = json.dumps(BODY, sort_keys=True).encode()
GOOD = _signed_with(SECRET, PAYLOAD)[SIGNATURE_HEADER]
REJECTIONS: list[tuple[str, bytes, dict[str, str], str]] = [
    ("no header", PAYLOAD, {}, "webhook_unsigned"),
    ("empty header", PAYLOAD, {SIGNATURE_HEADER: ""}, "webhook_unsigned"),
    ("other secret", PAYLOAD, _signed_with("whsec_other", PAYLOAD), "webhook_forged"),
    (
        "tampered body",
        PAYLOAD.replace(b"12.00", b"99.00"),
        {SIGNATURE_HEADER: GOOD},
        "webhook_forged",
    ),
    (
        "garbage v1",
        PAYLOAD,
        {SIGNATURE_HEADER: GOOD.split(",v1=")[0] + ",v1=deadbeef"},
        "webhook_forged",
    ),
    (
        "non-ASCII v1",
        PAYLOAD,
        {SIGNATURE_HEADER: GOOD.split(",v1=")[0] + ",v1=é"},
        "webhook_forged",
    ),
    ("no v1", PAYLOAD, {SIGNATURE_HEADER: GOOD.split(",v1=")[0]}, "webhook_forged"),
    ("no timestamp", PAYLOAD, {SIGNATURE_HEADER: GOOD.split(",", 1)[1]}, "webhook_forged"),
    ("timestamp not a number", PAYLOAD, {SIGNATURE_HEADER: "t=soon,v1=00"}, "webhook_forged"),
    ("header garbage", PAYLOAD, {SIGNATURE_HEADER: "garbage"}, "webhook_forged"),
    (
        "timestamp moved (signature covers it)",
        PAYLOAD,
        {
            SIGNATURE_HEADER: GOOD.replace(
                f"t={int(NOW.timestamp())}", f"t={int(NOW.timestamp()) + 1}"
            )
        },
        "webhook_forged",
    ),
    (
        "stale",
        PAYLOAD,
        _signed_with(SECRET, PAYLOAD, NOW - timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS + 1)),
        "webhook_stale",
    ),
    (
        "far future",
        PAYLOAD,
        _signed_with(SECRET, PAYLOAD, NOW + timedelta(days=1)),
        "webhook_stale",
    ),
    ("not JSON", b"not json", _signed_with(SECRET, b"not json"), "webhook_malformed"),
    ("JSON list", b"[1, 2]", _signed_with(SECRET, b"[1, 2]"), "webhook_malformed"),
    ("JSON string", b'"evt"', _signed_with(SECRET, b'"evt"'), "webhook_malformed"),
    ("invalid UTF-8", b"\xff\xfe", _signed_with(SECRET, b"\xff\xfe"), "webhook_malformed"),
]


def _malformed(change: dict[str, object], drop: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = {k: v for k, v in (BODY | change).items() if k != drop}
    payload = json.dumps(body).encode()
    return payload, _signed_with(SECRET, payload)


MALFORMED_BODIES = {
    "no id": _malformed({}, drop="id"),
    "no type": _malformed({}, drop="type"),
    "no created": _malformed({}, drop="created"),
    "created not a number": _malformed({"created": "yesterday"}),
    "created out of range": _malformed({"created": 10**20}),
    "amount not a number": _malformed({"amount": "twelve"}),
    "amount not finite": _malformed({"amount": "NaN"}),
    "amount negative": _malformed({"amount": "-12.00"}),
    "payout without its fields": _malformed({"type": "payout.paid"}),
    "payout with a bad amount": _malformed(
        {
            "type": "payout.paid",
            "payout_id": "po_1",
            "gross": "lots",
            "fee": "0",
            "arrival": "2026-03-01",
        }
    ),
    "payout with a bad currency": _malformed(
        {
            "type": "payout.paid",
            "payout_id": "po_1",
            "gross": "10",
            "fee": "0",
            "currency": "EURO",
            "arrival": "2026-03-01",
        }
    ),
    "payout with a bad date": _malformed(
        {
            "type": "payout.paid",
            "payout_id": "po_1",
            "gross": "10",
            "fee": "0",
            "arrival": "soon",
        }
    ),
}
for name, (body, headers) in MALFORMED_BODIES.items():
    REJECTIONS.append((name, body, headers, "webhook_malformed"))


@pytest.mark.parametrize(
    ("payload", "headers", "code"),
    [(p, h, c) for _, p, h, c in REJECTIONS],
    ids=[name for name, _, _, _ in REJECTIONS],
)
def test_rejected_webhooks(payload: bytes, headers: dict[str, str], code: str) -> None:
    """Every way a delivery can be wrong ends in WebhookRejectedError with its reason code,
    never in another exception (which the API would turn into a 500)."""
    with pytest.raises(WebhookRejectedError) as caught:
        gateway().verify_webhook(payload, headers, NOW)
    assert caught.value.code == code
    assert caught.value.http_status == 400


def test_a_payout_event_is_read_with_its_fee() -> None:
    psp = gateway()
    payload, headers = psp.signed(
        {
            "id": "evt_po",
            "type": "payout.paid",
            "created": int(NOW.timestamp()),
            "provider_ref": None,
            "payout_id": "po_1",
            "gross": "100.00",
            "fee": "1.65",
            "currency": "EUR",
            "arrival": "2026-03-02",
        }
    )
    event = psp.verify_webhook(payload, headers, NOW)
    assert event.kind is WebhookKind.PAYOUT_PAID
    assert event.payout is not None
    assert (event.payout.payout_id, event.payout.net, event.payout.arrival.isoformat()) == (
        "po_1",
        eur("98.35"),
        "2026-03-02",
    )
