"""The pure payment rules of issue 6: the event log folded into a state (in any order), facts
that make one event of the same news learnt twice, the deterministic PSP idempotency keys, the
refusal of card data, stored cards, wallet rules, hold steps, and the journal entries of money
moving (every one balances)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargeledger.domain.ledger import BAD_DEBT, BANK, PSP_FEES, EntryKind, psp, receivable, wallet
from chargeledger.domain.payment_postings import (
    WALLET_GATEWAY,
    captured,
    money_account,
    paid_out,
    refunded,
    settled_account,
    written_off,
)
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentState,
    PaymentStatus,
    StoredCard,
    WalletSettings,
    fact_of,
    fold,
    hold_steps,
    looks_like_card_number,
    luhn_valid,
    operation_key,
    operation_of,
    refuse_card_data,
    summarise,
)
from chargeledger.domain.postings import WALK_IN
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PID = uuid.UUID("11111111-2222-3333-4444-555555555555")
ACCOUNT = uuid.UUID("99999999-8888-7777-6666-555555555555")
D = Decimal


def key(operation: Operation, number: int = 0) -> str:
    return operation_key(PID, operation, number)


def ev(
    kind: EventKind,
    amount: str = "0",
    operation: str | None = None,
    *,
    minute: int = 0,
    distinct: str | None = None,
    detail: str | None = None,
    provider_ref: str | None = "pi_1",
) -> PaymentEvent:
    return PaymentEvent(
        payment_id=PID,
        kind=kind,
        fact=fact_of(kind, operation, distinct),
        at=T0 + timedelta(minutes=minute),
        amount=D(amount),
        operation=operation,
        provider_ref=provider_ref,
        detail=detail,
    )


AUTH, CAPTURE, RELEASE = key(Operation.AUTHORISE), key(Operation.CAPTURE), key(Operation.RELEASE)
REFUND1, REFUND2 = key(Operation.REFUND, 1), key(Operation.REFUND, 2)
RAISE1 = key(Operation.RAISE, 1)


def requested(operation: str, amount: str = "0", minute: int = 0) -> PaymentEvent:
    return ev(EventKind.REQUESTED, amount, operation, minute=minute, provider_ref=None)


def comparable(state: PaymentState) -> tuple[object, ...]:
    return (
        state.status,
        state.requested,
        state.authorised,
        state.captured,
        state.refunded,
        state.provider_ref,
        sorted(state.open_operations),
        state.decline_code,
        state.raises,
        state.refunds,
    )


# --- fold: order independence ----------------------------------------------------------------

# A session's full life: asked, held, raised, captured less than held, refunded twice.
LIFE = [
    requested(AUTH, "30"),
    ev(EventKind.AUTHORISED, "30", AUTH),
    requested(RAISE1, "50"),
    ev(EventKind.RAISED, "50", RAISE1, distinct="50"),
    requested(CAPTURE, "42.10"),
    ev(EventKind.CAPTURED, "42.10", CAPTURE),
    requested(REFUND1, "10"),
    ev(EventKind.REFUNDED, "10", REFUND1, distinct="re_1"),
    requested(REFUND2, "2.10"),
    ev(EventKind.REFUNDED, "2.10", REFUND2, distinct="re_2"),
]
# A hold in doubt: the capture timed out and was never answered.
IN_DOUBT = [
    requested(AUTH, "30"),
    ev(EventKind.AUTHORISED, "30", AUTH),
    requested(CAPTURE, "12"),
    ev(EventKind.UNKNOWN, "0", CAPTURE, detail="gateway_timeout", provider_ref=None),
]


def _with_times(events: list[PaymentEvent], minutes: list[int]) -> list[PaymentEvent]:
    return [
        PaymentEvent(
            payment_id=e.payment_id,
            kind=e.kind,
            fact=e.fact,
            at=T0 + timedelta(minutes=m),
            amount=e.amount,
            operation=e.operation,
            provider_ref=e.provider_ref,
            detail=e.detail,
            id=e.id,
        )
        for e, m in zip(events, minutes, strict=True)
    ]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), scenario=st.sampled_from([LIFE, IN_DOUBT]))
def test_fold_is_order_independent(data: st.DataObject, scenario: list[PaymentEvent]) -> None:
    """Webhooks overtake answers: whatever order the facts arrive (and are timestamped) in,
    and in whichever order the list is handed over, the folded state is the same."""
    expected = comparable(fold(scenario))
    arrival = data.draw(st.permutations(range(len(scenario))), label="arrival order")
    timed = _with_times(scenario, [arrival.index(i) for i in range(len(scenario))])
    listed = data.draw(st.permutations(timed), label="list order")
    assert comparable(fold(listed)) == expected
    # Same instant for everything (a batch of webhooks): still the same.
    assert comparable(fold(_with_times(listed, [0] * len(listed)))) == expected


def test_fold_of_a_full_life() -> None:
    state = fold(LIFE)
    assert state.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (state.requested, state.authorised, state.captured, state.refunded) == (
        D(30),
        D(50),
        D("42.10"),
        D("12.10"),
    )
    assert state.refundable == D(30)
    assert (state.raises, state.refunds) == (1, 2)
    assert state.provider_ref == "pi_1"
    assert state.open_operations == ()
    assert not state.holds


def test_fold_names_the_operation_in_doubt() -> None:
    state = fold(IN_DOUBT)
    assert state.status is PaymentStatus.UNKNOWN
    assert state.open_operations == (CAPTURE,)
    answered = fold([*IN_DOUBT, ev(EventKind.CAPTURED, "12", CAPTURE, minute=5)])
    assert answered.status is PaymentStatus.CAPTURED
    assert answered.open_operations == ()


# --- fold: the status table ------------------------------------------------------------------

STATUS_TABLE: list[tuple[str, list[PaymentEvent], PaymentStatus]] = [
    ("nothing yet", [], PaymentStatus.PENDING),
    ("asked, no answer yet", [requested(AUTH, "30")], PaymentStatus.PENDING),
    (
        "held",
        [requested(AUTH, "30"), ev(EventKind.AUTHORISED, "30", AUTH)],
        PaymentStatus.AUTHORISED,
    ),
    (
        "held, raise declined",
        [
            ev(EventKind.AUTHORISED, "30", AUTH),
            ev(EventKind.RAISE_DECLINED, "30", RAISE1, detail="insufficient_funds"),
        ],
        PaymentStatus.AUTHORISED,
    ),
    (
        "captured",
        [ev(EventKind.AUTHORISED, "30", AUTH), ev(EventKind.CAPTURED, "20", CAPTURE)],
        PaymentStatus.CAPTURED,
    ),
    (
        "captured without the authorisation seen yet (webhook first)",
        [ev(EventKind.CAPTURED, "20", CAPTURE)],
        PaymentStatus.CAPTURED,
    ),
    (
        "partly refunded",
        [
            ev(EventKind.AUTHORISED, "30", AUTH),
            ev(EventKind.CAPTURED, "20", CAPTURE),
            ev(EventKind.REFUNDED, "5", REFUND1, distinct="re_1"),
        ],
        PaymentStatus.PARTIALLY_REFUNDED,
    ),
    (
        "fully refunded in two",
        [
            ev(EventKind.CAPTURED, "20", CAPTURE),
            ev(EventKind.REFUNDED, "5", REFUND1, distinct="re_1"),
            ev(EventKind.REFUNDED, "15", REFUND2, distinct="re_2"),
        ],
        PaymentStatus.REFUNDED,
    ),
    (
        "a refund refused by the PSP changes nothing",
        [
            ev(EventKind.CAPTURED, "20", CAPTURE),
            ev(EventKind.REFUND_FAILED, "0", REFUND1, detail="over_refund"),
        ],
        PaymentStatus.CAPTURED,
    ),
    (
        "released",
        [ev(EventKind.AUTHORISED, "30", AUTH), ev(EventKind.RELEASED, "0", RELEASE)],
        PaymentStatus.RELEASED,
    ),
    (
        "declined",
        [requested(AUTH, "30"), ev(EventKind.DECLINED, "0", AUTH, detail="card_declined")],
        PaymentStatus.FAILED,
    ),
    (
        "capture failed",
        [
            ev(EventKind.AUTHORISED, "30", AUTH),
            ev(EventKind.CAPTURE_FAILED, "0", CAPTURE, detail="not_held"),
        ],
        PaymentStatus.FAILED,
    ),
    (
        "authorisation timed out",
        [
            requested(AUTH, "30"),
            ev(EventKind.UNKNOWN, "0", AUTH, detail="gateway_timeout", provider_ref=None),
        ],
        PaymentStatus.UNKNOWN,
    ),
    (
        "timed out, then learnt (from the janitor or a webhook)",
        [
            requested(AUTH, "30"),
            ev(EventKind.UNKNOWN, "0", AUTH, provider_ref=None),
            ev(EventKind.AUTHORISED, "30", AUTH, minute=3),
        ],
        PaymentStatus.AUTHORISED,
    ),
    (
        "a timeout that was never asked is no doubt",
        [ev(EventKind.AUTHORISED, "30", AUTH), ev(EventKind.UNKNOWN, "0", CAPTURE)],
        PaymentStatus.AUTHORISED,
    ),
]


@pytest.mark.parametrize(
    ("events", "status"),
    [(events, status) for _, events, status in STATUS_TABLE],
    ids=[name for name, _, _ in STATUS_TABLE],
)
def test_status_table(events: list[PaymentEvent], status: PaymentStatus) -> None:
    assert fold(events).status is status


def test_fold_keeps_the_decline_code_and_the_requested_amount() -> None:
    state = fold([requested(AUTH, "45"), ev(EventKind.DECLINED, "0", AUTH, detail="expired_card")])
    assert (state.decline_code, state.requested, state.authorised) == ("expired_card", D(45), 0)


def test_holds_only_while_authorised() -> None:
    assert fold([ev(EventKind.AUTHORISED, "30", AUTH)]).holds
    assert not fold([ev(EventKind.AUTHORISED, "30", AUTH), ev(EventKind.RELEASED)]).holds


# --- facts -----------------------------------------------------------------------------------


def test_the_same_outcome_from_answer_and_webhook_is_one_fact() -> None:
    """The API's answer and the webhook name the capture with the same fact, whatever
    operation key each carries; a raise is one fact per operation, a refund per PSP id."""
    assert fact_of(EventKind.CAPTURED, CAPTURE) == fact_of(EventKind.CAPTURED, None) == "capture"
    assert fact_of(EventKind.CAPTURE_FAILED, CAPTURE) == "capture"
    assert fact_of(EventKind.AUTHORISED, AUTH) == fact_of(EventKind.DECLINED, None) == "authorise"
    assert fact_of(EventKind.RELEASED, RELEASE) == fact_of(EventKind.RELEASED, None) == "release"
    assert fact_of(EventKind.REFUNDED, REFUND1, "re_1") == fact_of(EventKind.REFUNDED, None, "re_1")
    assert fact_of(EventKind.REFUNDED, REFUND1, "re_1") != fact_of(
        EventKind.REFUNDED, REFUND1, "re_2"
    )
    assert fact_of(EventKind.REFUNDED, REFUND1) == f"refunded:{REFUND1}"
    # A raise is one fact per raise operation: two raises to the same total both answer.
    assert fact_of(EventKind.RAISED, RAISE1, "50") == f"raised:{RAISE1}"
    assert fact_of(EventKind.RAISED, None, "50") == "raised:50"
    # Asking and timing out are per operation: a retry of the same operation is one fact.
    assert fact_of(EventKind.REQUESTED, AUTH) != fact_of(EventKind.REQUESTED, CAPTURE)
    assert fact_of(EventKind.UNKNOWN, AUTH) != fact_of(EventKind.REQUESTED, AUTH)
    assert fact_of(EventKind.REFUND_FAILED, REFUND1) != fact_of(EventKind.REFUND_FAILED, REFUND2)


def test_every_fact_fits_its_column() -> None:
    """``payment_events.fact`` is 120 characters; the longest facts are keyed by operation."""
    longest = key(Operation.REFUND, 999)
    for kind in EventKind:
        assert len(fact_of(kind, longest, "sbx_re_" + "f" * 16)) <= 120


# --- operation keys --------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation))
@pytest.mark.parametrize("number", [0, 1, 2, 12])
def test_operation_key_round_trip(operation: Operation, number: int) -> None:
    payment_id = uuid.uuid4()
    made = operation_key(payment_id, operation, number)
    assert made.startswith(f"cl-{payment_id}-{operation.value}")
    assert operation_of(made) is operation
    assert operation_key(payment_id, operation, number) == made  # deterministic
    assert len(made) <= 80  # payment_events.operation


def test_operation_keys_differ_per_operation_number_and_payment() -> None:
    keys = {operation_key(PID, op, n) for op in Operation for n in (0, 1, 2)}
    assert len(keys) == len(Operation) * 3
    assert operation_key(PID, Operation.CAPTURE) != operation_key(uuid.uuid4(), Operation.CAPTURE)
    payment = Payment(PaymentPurpose.SESSION, PaymentMethodKind.CARD, "sandbox", "EUR", id=PID)
    assert payment.key(Operation.REFUND, 3) == operation_key(PID, Operation.REFUND, 3)


@pytest.mark.parametrize("bad", ["", f"cl-{PID}-charge", "cl-x-raise-y-z", "cl-abc-refunds"])
def test_operation_of_refuses_what_is_not_a_key(bad: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        operation_of(bad)
    assert caught.value.code == "invalid_operation_key"


# --- no card data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4242424242424242", True),
        ("5555555555554444", True),
        ("4000000000000002", True),
        ("378282246310005", True),  # Amex, 15 digits
        ("79927398713", True),  # the textbook example
        ("4242424242424241", False),
        ("1234567812345678", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "looks"),
    [
        ("4242424242424242", True),
        ("4242 4242 4242 4242", True),
        ("4242-4242-4242-4242", True),
        ("card 5555555555554444 exp 12/30", True),
        ("378282246310005", True),
        ("6011000990139424", True),  # Discover
        ("4242424242424241", False),  # fails Luhn
        ("424242424242", False),  # 12 digits: too short
        ("tok_4242", False),
        ("sbx_pi_1a2b3c4d5e6f7a8b", False),
        ("pm_card_visa", False),
        ("", False),
    ],
)
def test_looks_like_card_number(text: str, looks: bool) -> None:
    assert looks_like_card_number(text) is looks


def test_refuse_card_data() -> None:
    refuse_card_data("tok_0123456789abcdef", "token")  # a token passes
    with pytest.raises(InvalidInputError) as caught:
        refuse_card_data("4242 4242 4242 4242", "token")
    assert (caught.value.code, caught.value.field) == ("card_data_refused", "token")
    assert "4242" not in caught.value.message


def test_a_payment_refuses_a_card_number_as_its_token() -> None:
    with pytest.raises(InvalidInputError) as caught:
        Payment(
            PaymentPurpose.SESSION,
            PaymentMethodKind.CARD,
            "sandbox",
            "EUR",
            method_token="4000000000000002",
        )
    assert caught.value.code == "card_data_refused"
    payment = Payment("top_up", "app", "sandbox", "EUR", method_token="tok_1")  # type: ignore[arg-type]
    assert (payment.purpose, payment.method) == (PaymentPurpose.TOP_UP, PaymentMethodKind.APP)


def card(**changes: object) -> StoredCard:
    fields: dict[str, object] = {
        "account_id": ACCOUNT,
        "gateway": "sandbox",
        "token": "tok_abc",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
    }
    fields.update(changes)
    return StoredCard(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"token": "4242424242424242"}, "card_data_refused"),
        ({"token": "tok 5555 5555 5555 4444"}, "card_data_refused"),
        ({"last4": "424"}, "invalid_last4"),
        ({"last4": "42424"}, "invalid_last4"),
        ({"last4": "42a2"}, "invalid_last4"),
        ({"last4": ""}, "invalid_last4"),
        ({"exp_month": 0}, "invalid_expiry"),
        ({"exp_month": 13}, "invalid_expiry"),
        ({"exp_year": 1999}, "invalid_expiry"),
        ({"exp_year": 2101}, "invalid_expiry"),
    ],
)
def test_stored_card_validation(changes: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        card(**changes)
    assert caught.value.code == code


def test_stored_card_expiry_is_the_end_of_its_month() -> None:
    stored = card(exp_month=2, exp_year=2026)
    assert not stored.expired_at(datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    assert stored.expired_at(datetime(2026, 3, 1, tzinfo=UTC))
    assert not stored.expired_at(datetime(2025, 12, 31, tzinfo=UTC))
    assert stored.is_default
    assert stored.active


def test_wallet_settings_validation() -> None:
    WalletSettings(ACCOUNT, "EUR", minimum_balance=D(0), top_up_below=D(0))
    for bad in (
        {"minimum_balance": D(-1)},
        {"top_up_below": D("-0.01")},
        {"top_up_amount": D(0)},
        {"top_up_amount": D(-5)},
    ):
        with pytest.raises(InvalidInputError) as caught:
            WalletSettings(ACCOUNT, "EUR", **bad)  # type: ignore[arg-type]
        assert caught.value.code == "invalid_wallet_settings"


# --- hold steps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimate", "held", "expected"),
    [
        ("0", "30", "30"),
        ("23.99", "30", "30"),  # below 80 %: keep
        ("24", "30", "50"),  # at 80 %: one step
        ("39.99", "30", "50"),
        ("40", "30", "70"),  # at 80 % of the next total already: two steps
        ("100", "30", "130"),  # the cost jumped: as many steps as needed
        ("250", "30", "300"),  # never above the ceiling
        ("1000", "30", "300"),
        ("290", "300", "300"),  # at the ceiling: nothing more to hold
    ],
)
def test_hold_steps(estimate: str, held: str, expected: str) -> None:
    assert hold_steps(D(estimate), D(held), step=D(20), ceiling=D(300)) == D(expected)


@settings(max_examples=200, deadline=None)
@given(
    estimate=st.decimals(min_value=0, max_value=2000, places=2),
    held=st.decimals(min_value=1, max_value=300, places=2),
)
def test_hold_steps_never_exceeds_the_ceiling_and_covers_the_cost(
    estimate: Decimal, held: Decimal
) -> None:
    wanted = hold_steps(estimate, held, D(20), D(300))
    assert held <= wanted <= max(held, D(300))
    if wanted < D(300) and wanted != held:
        assert estimate < wanted * D("0.8")


# --- reports ---------------------------------------------------------------------------------


def test_summarise_counts_per_method_and_status() -> None:
    app = Payment(PaymentPurpose.SESSION, PaymentMethodKind.APP, "sandbox", "EUR")
    wal = Payment(PaymentPurpose.SESSION, PaymentMethodKind.WALLET, WALLET_GATEWAY, "EUR")
    captured_state = fold([ev(EventKind.CAPTURED, "5", CAPTURE)])
    failed_state = fold([ev(EventKind.DECLINED, "0", AUTH)])
    counts = summarise([(app, captured_state), (app, captured_state), (app, failed_state)])
    assert counts == {("app", "captured"): 2, ("app", "failed"): 1}
    assert summarise([(wal, captured_state)]) == {("wallet", "captured"): 1}
    assert summarise([]) == {}


# --- journal entries of money moving (DESIGN §5) ---------------------------------------------

ON = date(2026, 3, 1)


def payment(purpose: PaymentPurpose, gateway: str = "sandbox", account: bool = True) -> Payment:
    return Payment(
        purpose=purpose,
        method=PaymentMethodKind.WALLET if gateway == WALLET_GATEWAY else PaymentMethodKind.APP,
        gateway=gateway,
        currency="EUR",
        account_id=ACCOUNT if account else None,
    )


def lines(entry: object) -> dict[str, Decimal]:
    postings = entry.postings  # type: ignore[attr-defined]
    assert sum(p.units.amount for p in postings) == 0, "the entry must balance"
    assert {p.units.currency for p in postings} == {"EUR"}
    return {p.account: p.units.amount for p in postings}


CAPTURE_TABLE = [
    (payment(PaymentPurpose.SESSION), EntryKind.CAPTURE, psp("sandbox"), receivable(ACCOUNT)),
    (
        payment(PaymentPurpose.SESSION, account=False),
        EntryKind.CAPTURE,
        psp("sandbox"),
        receivable(WALK_IN),
    ),
    (payment(PaymentPurpose.TOP_UP), EntryKind.WALLET_TOP_UP, psp("sandbox"), wallet(ACCOUNT)),
    (
        payment(PaymentPurpose.INVOICE),
        EntryKind.INVOICE_PAYMENT,
        psp("sandbox"),
        receivable(ACCOUNT),
    ),
    (
        payment(PaymentPurpose.SESSION, WALLET_GATEWAY),
        EntryKind.WALLET_DEBIT,
        wallet(ACCOUNT),
        receivable(ACCOUNT),
    ),
    (
        payment(PaymentPurpose.SESSION, "stripe"),
        EntryKind.CAPTURE,
        "Assets:PSP:Stripe",
        receivable(ACCOUNT),
    ),
]


@pytest.mark.parametrize(
    ("paid", "kind", "debit", "credit"),
    CAPTURE_TABLE,
    ids=["session", "walk-in", "top-up", "invoice", "wallet session", "stripe"],
)
def test_captured_entry(paid: Payment, kind: EntryKind, debit: str, credit: str) -> None:
    entry = captured(paid, D("12.34"), ON)
    assert entry is not None
    assert (entry.kind, entry.booked_on, entry.source_type, entry.source_id) == (
        kind,
        ON,
        "payment",
        str(paid.id),
    )
    assert lines(entry) == {debit: D("12.34"), credit: D("-12.34")}
    assert (money_account(paid), settled_account(paid)) == (debit, credit)
    # A refund is the exact reverse, once per PSP refund id.
    back = refunded(paid, D("2.34"), "re_9", ON)
    assert back.kind is EntryKind.REFUND
    assert back.source_type == "refund"
    assert back.source_id == f"{paid.id}:re_9"
    assert lines(back) == {credit: D("2.34"), debit: D("-2.34")}


def test_nothing_captured_books_nothing() -> None:
    assert captured(payment(PaymentPurpose.SESSION), D(0), ON) is None
    assert written_off(payment(PaymentPurpose.SESSION), D(0), ON, "declined") is None


def test_refund_source_fits_its_column() -> None:
    back = refunded(payment(PaymentPurpose.SESSION), D(1), "re_" + "x" * 100, ON)
    assert len(back.source_id) == 64


def test_written_off_entry() -> None:
    walk_in = payment(PaymentPurpose.SESSION, account=False)
    entry = written_off(walk_in, D("6.25"), ON, "card_declined")
    assert entry is not None
    assert entry.kind is EntryKind.WRITE_OFF
    assert "card_declined" in entry.description
    assert lines(entry) == {BAD_DEBT: D("6.25"), receivable(WALK_IN): D("-6.25")}


@pytest.mark.parametrize(
    ("gross", "fee", "expected"),
    [
        ("100.00", "1.65", {BANK: "98.35", PSP_FEES: "1.65", "Assets:PSP:Sandbox": "-100.00"}),
        ("100.00", "0", {BANK: "100.00", "Assets:PSP:Sandbox": "-100.00"}),
        ("0.30", "0.30", {PSP_FEES: "0.30", "Assets:PSP:Sandbox": "-0.30"}),
    ],
    ids=["with fee", "zero fee", "all fee"],
)
def test_paid_out_entry(gross: str, fee: str, expected: dict[str, str]) -> None:
    entry = paid_out("sandbox", "po_1", Money.of(gross, "EUR"), Money.of(fee, "EUR"), ON)
    assert (entry.kind, entry.source_type, entry.source_id) == (EntryKind.PAYOUT, "payout", "po_1")
    assert lines(entry) == {account: D(amount) for account, amount in expected.items()}


@settings(max_examples=100, deadline=None)
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    fee=st.decimals(min_value=0, max_value=D("100"), places=2),
    purpose=st.sampled_from(list(PaymentPurpose)),
    gateway=st.sampled_from(["sandbox", "stripe", WALLET_GATEWAY]),
)
def test_every_payment_entry_balances(
    amount: Decimal, fee: Decimal, purpose: PaymentPurpose, gateway: str
) -> None:
    paid = payment(purpose, gateway)
    entries = [
        captured(paid, amount, ON),
        refunded(paid, amount, "re_1", ON),
        written_off(paid, amount, ON, "x"),
        paid_out(gateway, "po_1", Money.of(amount + fee, "EUR"), Money.of(fee, "EUR"), ON),
    ]
    for entry in entries:
        assert entry is not None
        lines(entry)
