"""What a re-priced session's difference becomes (``domain.repricing.settle``), and what its
correction books and bills (``domain.repricing_documents``), table by table (issue 15)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeledger.domain.billing import (
    COMPONENTS,
    Billed,
    Charge,
    ComponentAmount,
    VatCategory,
    VatTreatment,
)
from chargeledger.domain.ledger import unbilled
from chargeledger.domain.repricing import (
    BilledBy,
    PricedAs,
    Repricing,
    RepricingOutcome,
    Standing,
    settle,
)
from chargeledger.domain.repricing_documents import (
    correction_accrual,
    correction_line,
    correction_revenue,
    credit_line,
)
from chargeledger.errors import ConflictError
from chargeledger.money import Currency

D = Decimal
VAT = VatTreatment(VatCategory.STANDARD, D(19))
ACCOUNT = uuid.UUID(int=7)


def priced(energy: str, fixed: str = "0.35", tariff: int = 1) -> PricedAs:
    nets = {"Energy": D(energy), "Fixed": D(fixed)}
    components = tuple(ComponentAmount(name, nets.get(name, D("0.00"))) for name in COMPONENTS)
    billed = Billed(Currency.of("EUR"), components, VAT)
    return PricedAs(uuid.UUID(int=tariff), D(0), D(80_000), D(80), billed)


CHARGED = priced("39.20")  # 39.55 net, 7.51 VAT, 47.06 gross
LOWER = priced("29.40")  # 29.75, 5.65, 35.40: 11.66 less
HIGHER = priced("47.20")  # 47.55, 9.03, 56.58: 9.52 more

POSTPAID = Standing(BilledBy.NOTHING, paid_at_session=False, postpaid_account=True)
INVOICED = Standing(BilledBy.INVOICE, paid_at_session=False, postpaid_account=True)
CAPTURED = Standing(BilledBy.RECEIPT, True, True, collected=D("47.06"))
WALK_IN = Standing(BilledBy.RECEIPT, True, False, collected=D("47.06"))
UNPAID = Standing(BilledBy.RECEIPT, True, False)


@pytest.mark.parametrize(
    ("after", "standing", "outcome", "amount"),
    [
        (LOWER, POSTPAID, RepricingOutcome.NEXT_INVOICE, "-11.66"),
        (HIGHER, POSTPAID, RepricingOutcome.NEXT_INVOICE, "9.52"),
        (LOWER, INVOICED, RepricingOutcome.CREDIT_NOTE, "-11.66"),
        (HIGHER, INVOICED, RepricingOutcome.NEXT_INVOICE, "9.52"),
        (LOWER, CAPTURED, RepricingOutcome.REFUND, "-11.66"),
        (HIGHER, CAPTURED, RepricingOutcome.NEXT_INVOICE, "9.52"),
        (LOWER, WALK_IN, RepricingOutcome.REFUND, "-11.66"),
        (HIGHER, WALK_IN, RepricingOutcome.OWED, "9.52"),
        (LOWER, UNPAID, RepricingOutcome.CREDIT_NOTE, "-11.66"),
        (CHARGED, INVOICED, RepricingOutcome.NOTHING, "0"),
        (priced("39.20", tariff=2), CAPTURED, RepricingOutcome.NOTHING, "0"),
        # a correction waits: one lower that keeps the session above what was invoiced nets
        # against it on the same invoice
        (LOWER, Standing(BilledBy.INVOICE, False, True, pending_net=D("10")),
         RepricingOutcome.NEXT_INVOICE, "-11.66"),
    ],
    ids=[
        "postpaid-unbilled-lower",
        "postpaid-unbilled-higher",
        "invoiced-lower",
        "invoiced-higher",
        "card-captured-lower",
        "card-account-higher",
        "walk-in-lower",
        "walk-in-higher",
        "receipt-unpaid-lower",
        "equal",
        "another-version-same-price",
        "pending-correction-lower",
    ],
)  # fmt: skip
def test_what_the_difference_becomes(
    after: PricedAs, standing: Standing, outcome: RepricingOutcome, amount: str
) -> None:
    settled = settle(CHARGED, after, standing)
    assert (settled.outcome, settled.amount) == (outcome, D(amount))
    if outcome is RepricingOutcome.CREDIT_NOTE:
        assert settled.credit_net == D("9.80")


@pytest.mark.parametrize(
    ("standing", "code"),
    [
        (Standing(BilledBy.DRAFT, False, True), "charge_on_draft_invoice"),
        (Standing(BilledBy.NOTHING, True, True, collected=D(47)), "receipt_missing"),
        (Standing(BilledBy.INVOICE, True, True, collected=D(47)), "receipt_missing"),
        (Standing(BilledBy.INVOICE, False, True, pending_net=D(5)), "correction_pending"),
        (Standing(BilledBy.RECEIPT, True, False, collected=D(5)), "refund_exceeds_payment"),
    ],
)
def test_what_no_one_document_can_carry_is_refused(standing: Standing, code: str) -> None:
    with pytest.raises(ConflictError) as caught:
        settle(CHARGED, LOWER, standing)
    assert caught.value.code == code


def test_what_is_owed_is_taken_first_by_a_lower_price() -> None:
    """Owed 9.52 (a walk-in re-priced higher): 2.00 less only lowers what is owed; 14.04
    less cancels it and gives back the 4.52 paid too much (its credit at 19 %: 3.80)."""
    standing = Standing(BilledBy.RECEIPT, True, False, collected=D("47.06"), owed=D("9.52"))
    slightly = settle(HIGHER, priced("45.52"), standing)  # 45.87 net, 8.72, 54.59: −1.99
    assert (slightly.outcome, slightly.amount, slightly.owed_after) == (
        RepricingOutcome.OWED,
        D("-1.99"),
        D("7.53"),
    )
    much = settle(HIGHER, priced("35.40"), standing)  # 35.75, 6.79, 42.54: −14.04
    assert (much.outcome, much.amount, much.owed_after, much.credit_net) == (
        RepricingOutcome.REFUND,
        D("-4.52"),
        D(0),
        D("3.80"),
    )


def repricing(after: PricedAs = LOWER) -> Repricing:
    now = datetime(2026, 3, 5, 10, tzinfo=UTC)
    return Repricing(
        session_id=uuid.UUID(int=1),
        charge_id=uuid.UUID(int=2),
        sequence=1,
        account_id=ACCOUNT,
        country="DE",
        before=CHARGED,
        after=after,
        outcome=RepricingOutcome.NEXT_INVOICE,
        amount=D("-11.66"),
        reason="display showed 60 kWh",
        created_by="finance",
        created_at=now,
        booked_on=date(2026, 3, 5),
    )


def charge() -> Charge:
    return Charge(
        session_id=uuid.UUID(int=1),
        account_id=ACCOUNT,
        ad_hoc=False,
        site_id=uuid.UUID(int=3),
        site_name="Depot",
        station_name="CP-1",
        station_id=uuid.UUID(int=4),
        evse_id=1,
        country="DE",
        time_zone="Europe/Berlin",
        currency=Currency.of("EUR"),
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        stopped_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
        energy_kwh=D(80),
        charging_hours=D(1),
        idle_hours=D(0),
        components=CHARGED.billed.components,
        vat=VAT,
        tariff_id=uuid.UUID(int=1),
        id=uuid.UUID(int=2),
    )


@pytest.mark.parametrize(("after", "gross"), [(LOWER, "-11.66"), (HIGHER, "9.52")])
def test_a_correction_is_accrued_like_a_charge_with_the_differences_signs(
    after: PricedAs, gross: str
) -> None:
    done = repricing(after)
    entry = correction_accrual(done)
    assert entry is not None
    sums = {p.account: p.units.amount for p in entry.postings}
    assert sums[unbilled(ACCOUNT)] == D(gross)
    assert sum(sums.values()) == 0
    assert (entry.source_type, entry.source_id) == ("repricing", str(done.id))
    [treatment] = correction_revenue(done)
    assert -sum(n for _, n in treatment.nets) == sums["Income:Charging:Energy"]
    assert -treatment.tax == sums["Liabilities:VAT:DE"]


def test_the_correction_line_and_the_credit_line_reverse_the_energy_that_went_down() -> None:
    done = repricing()
    line = correction_line(3, done, charge())
    assert (line.position, line.net, line.repricing_id, line.charge_id) == (
        3,
        D("-9.80"),
        done.id,
        None,
    )
    assert dict(line.components)["Energy"] == D("-9.80")
    credit = credit_line(done, charge(), D("9.80"))
    assert (credit.net, credit.charge_id, credit.repricing_id) == (D("9.80"), charge().id, None)
    assert dict(credit.components) == {name: D("0.00") for name in COMPONENTS} | {
        "Energy": D("9.80")
    }
    shared = credit_line(done, charge(), D("3.80"))  # part of it only took back what was owed
    assert sum(a for _, a in shared.components) == D("3.80")


NETS = st.decimals(min_value=0, max_value=500, places=2)
REFUSALS = {
    "charge_on_draft_invoice",
    "receipt_missing",
    "correction_pending",
    "refund_exceeds_payment",
}


@given(
    before=NETS,
    after=NETS,
    billed_by=st.sampled_from(BilledBy),
    paid_at_session=st.booleans(),
    postpaid=st.booleans(),
    collected=NETS,
    owed=NETS,
)
def test_settling_is_deterministic_and_books_what_it_says(
    before: Decimal,
    after: Decimal,
    billed_by: BilledBy,
    paid_at_session: bool,
    postpaid: bool,
    collected: Decimal,
    owed: Decimal,
) -> None:
    """Any prices and standing (DESIGN §7: re-pricing is deterministic): settled the same
    twice, or refused with a code; the same price issues nothing; a correction's amount is
    what its accrual books, and the accrual balances; a refund never takes more than the
    payment holds; what is owed never goes below zero."""
    old, new = priced(str(before), "0.00"), priced(str(after), "0.00", tariff=2)
    standing = Standing(billed_by, paid_at_session, postpaid, collected, owed=owed)
    refusal = None
    try:
        settled = settle(old, new, standing)
    except ConflictError as refused:
        refusal = refused.code
    if refusal is not None:
        assert refusal in REFUSALS
        return
    assert settle(old, new, standing) == settled
    assert settled.owed_after >= 0
    if before == after:
        assert (settled.outcome, settled.amount) == (RepricingOutcome.NOTHING, D(0))
    if settled.outcome is RepricingOutcome.REFUND:
        assert 0 < -settled.amount <= collected
    if settled.outcome is RepricingOutcome.NEXT_INVOICE:
        entry = correction_accrual(replace(repricing(new), before=old))
        assert entry is not None
        assert sum(p.units.amount for p in entry.postings) == 0
        assert entry.postings[0].units.amount == settled.amount
