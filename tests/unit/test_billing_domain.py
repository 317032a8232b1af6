"""The pure rules of issue 5: balanced entries, account names, billing periods, VAT treatment
and the rounding of a priced session into revenue components."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeledger.domain.accounts import BillingCycle
from chargeledger.domain.billing import (
    DEFAULT_VAT_RATES,
    VatCategory,
    component_nets,
    net_for_gross,
    vat_of,
    vat_treatment,
)
from chargeledger.domain.billing_periods import billing_period, period_containing, periods_within
from chargeledger.domain.invoicing import format_number
from chargeledger.domain.ledger import (
    Balance,
    EntryKind,
    JournalEntry,
    Posting,
    account_name,
    psp,
    receivable,
    rolled_up,
    trial_balance,
)
from chargeledger.domain.tariffs.priced import Amount
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, Money

D = Decimal


def entry(*postings: tuple[str, str, str]) -> JournalEntry:
    return JournalEntry(
        kind=EntryKind.ADJUSTMENT,
        booked_on=date(2026, 11, 1),
        description="test",
        postings=tuple(Posting(a, Money.of(v, c)) for a, v, c in postings),
        source_type="test",
        source_id=uuid.uuid4().hex,
    )


def test_an_entry_balances_per_currency() -> None:
    entry(("Assets:Bank", "10.00", "EUR"), ("Income:Charging:Energy", "-10.00", "EUR"))
    with pytest.raises(InvalidInputError) as raised:
        entry(("Assets:Bank", "10.00", "EUR"), ("Income:Charging:Energy", "-10.00", "CHF"))
    assert raised.value.code == "unbalanced_entry"
    with pytest.raises(InvalidInputError):
        entry(("Assets:Bank", "10.00", "EUR"), ("Income:Charging:Energy", "-9.99", "EUR"))


def test_an_entry_needs_two_non_zero_postings() -> None:
    with pytest.raises(InvalidInputError) as raised:
        entry(("Assets:Bank", "0", "EUR"), ("Income:Charging:Energy", "0", "EUR"))
    assert raised.value.code == "unbalanced_entry"


@pytest.mark.parametrize(
    "name", ["Revenue:Charging", "Assets", "Assets:bank", "Assets:Bank Account", "Assets::Bank"]
)
def test_account_names_follow_the_five_roots_and_beancount_grammar(name: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        account_name(*name.split(":"))
    assert raised.value.code == "invalid_ledger_account"


def test_customer_and_gateway_accounts_are_valid_names() -> None:
    account_id = uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100")
    assert receivable(account_id) == "Assets:Receivable:C0F0E0D0C0B0A09080706050403020100"
    assert psp("stripe_test") == "Assets:PSP:StripeTest"
    account_name(*psp("sandbox").split(":"))


def test_trial_balance_and_roll_up() -> None:
    balances = [
        Balance("Assets:Receivable:C1", "EUR", D("11.90"), D(0)),
        Balance("Assets:Receivable:C2", "EUR", D("5.00"), D("1.00")),
        Balance("Income:Charging:Energy", "EUR", D(0), D("13.00")),
        Balance("Liabilities:VAT:DE", "EUR", D(0), D("2.90")),
    ]
    assert trial_balance(balances) == {"EUR": D(0)}
    assert rolled_up(balances)[("Assets:Receivable", "EUR")] == D("15.90")
    assert rolled_up(balances)[("Assets", "EUR")] == D("15.90")


@pytest.mark.parametrize(
    ("cycle", "label", "start", "end"),
    [
        (BillingCycle.MONTHLY, "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        (BillingCycle.QUARTERLY, "2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        (BillingCycle.WEEKLY, "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
    ],
)
def test_billing_periods(cycle: BillingCycle, label: str, start: date, end: date) -> None:
    assert billing_period(cycle, label) == (start, end)


@pytest.mark.parametrize("label", ["2026-13", "2026-00", "26-10", "2026-W54", "october"])
def test_a_bad_period_is_refused(label: str) -> None:
    cycle = BillingCycle.WEEKLY if "W" in label else BillingCycle.MONTHLY
    with pytest.raises(InvalidInputError) as raised:
        billing_period(cycle, label)
    assert raised.value.code == "invalid_period"


def test_the_periods_a_month_run_bills() -> None:
    october = (date(2026, 10, 1), date(2026, 11, 1))
    assert periods_within(BillingCycle.MONTHLY, *october) == [october]
    weeks = periods_within(BillingCycle.WEEKLY, *october)
    # ISO weeks ending within October: 28 Sep-5 Oct ... 19-26 Oct; 26 Oct-2 Nov ends in November.
    assert weeks[0] == (date(2026, 9, 28), date(2026, 10, 5))
    assert weeks[-1] == (date(2026, 10, 19), date(2026, 10, 26))
    assert periods_within(BillingCycle.QUARTERLY, *october) == []
    december = (date(2026, 12, 1), date(2027, 1, 1))
    assert periods_within(BillingCycle.QUARTERLY, *december) == [
        (date(2026, 10, 1), date(2027, 1, 1))
    ]
    assert period_containing(BillingCycle.QUARTERLY, date(2026, 11, 15)) == (
        date(2026, 10, 1),
        date(2027, 1, 1),
    )


def test_numbers_are_zero_padded_per_series() -> None:
    assert format_number("INV-2026", 42) == "INV-2026-000042"


def test_vat_follows_the_site_and_the_date() -> None:
    assert vat_treatment(DEFAULT_VAT_RATES, "DE", date(2020, 8, 1), "DE", None).percent == 16
    assert vat_treatment(DEFAULT_VAT_RATES, "DE", date(2026, 8, 1), "DE", None).percent == 19
    assert vat_treatment(DEFAULT_VAT_RATES, "FI", date(2024, 9, 1), None, None).percent == D("25.5")
    with pytest.raises(InvalidInputError) as raised:
        vat_treatment(DEFAULT_VAT_RATES, "US", date(2026, 1, 1), None, None)
    assert raised.value.code == "unknown_vat_rate"


def test_reverse_charge_only_for_eu_businesses_across_borders() -> None:
    on = date(2026, 11, 1)
    cross = vat_treatment(DEFAULT_VAT_RATES, "DE", on, "PT", "PT501964843")
    assert (cross.category, cross.percent) == (VatCategory.REVERSE_CHARGE, D(0))
    assert cross.note is not None
    assert "Art. 196" in cross.note
    same_country = vat_treatment(DEFAULT_VAT_RATES, "DE", on, "DE", "DE136695976")
    assert same_country.category is VatCategory.STANDARD
    no_vat_id = vat_treatment(DEFAULT_VAT_RATES, "DE", on, "PT", None)
    assert (no_vat_id.category, no_vat_id.percent) == (VatCategory.STANDARD, D(19))
    outside_eu = vat_treatment(DEFAULT_VAT_RATES, "DE", on, "CH", "CHE-123.456.789")
    assert outside_eu.category is VatCategory.STANDARD


def test_vat_is_rounded_half_up_to_the_cent() -> None:
    assert vat_of(D("10.05"), D(19), Currency.of("EUR")) == D("1.91")  # 1.9095
    assert vat_of(D("0.50"), D(19), Currency.of("EUR")) == D("0.10")  # 0.095


class _Priced:
    """Only the totals ``component_nets`` reads."""

    def __init__(self, total: str, *parts: str) -> None:
        self.total_cost = Amount(D(total), D(total))
        names = ("energy", "time", "parking", "fixed", "reservation")
        for name, part in zip(names, parts, strict=True):
            setattr(self, f"total_{name}_cost", Amount(D(part), D(part)))


def test_a_capped_session_shares_the_rounded_total_across_components() -> None:
    """max_price cut 12.3456 to 10.00: the components keep their proportions, add to 10.00."""
    priced = _Priced("10.00", "8.2304", "0", "3.7652", "0.35", "0")
    nets = dict(component_nets(priced, Currency.of("EUR")))  # type: ignore[arg-type]
    assert sum(nets.values()) == D("10.00")
    assert nets == {
        "Energy": D("6.67"),
        "Time": D("0.00"),
        "Parking": D("3.05"),
        "Fixed": D("0.28"),
        "Reservation": D("0.00"),
    }


def test_a_minimum_price_on_a_free_session_is_a_fixed_fee() -> None:
    priced = _Priced("1.50", "0", "0", "0", "0", "0")
    nets = dict(component_nets(priced, Currency.of("EUR")))  # type: ignore[arg-type]
    assert nets["Fixed"] == D("1.50")
    assert sum(nets.values()) == D("1.50")


@given(
    gross_cents=st.integers(min_value=1, max_value=10_000_000),
    percent=st.sampled_from([Decimal(0), Decimal(7), Decimal(19), Decimal(21), Decimal(23)]),
)
def test_a_refunded_gross_is_credited_as_a_net_plus_its_vat(
    gross_cents: int, percent: Decimal
) -> None:
    """A refund's credit note states a net; its VAT (half-up) must give back the refunded gross
    to the cent whenever some net does, else the nearest net is taken."""
    eur = Currency.of("EUR")
    gross = Decimal(gross_cents) / 100
    net = net_for_gross(gross, percent, eur)
    exact = [
        n
        for n in (net - eur.quantum, net, net + eur.quantum)
        if n + vat_of(n, percent, eur) == gross
    ]
    if exact:
        assert net + vat_of(net, percent, eur) == gross
    else:
        assert abs(net + vat_of(net, percent, eur) - gross) <= eur.quantum


def test_a_gross_no_net_can_make_is_credited_with_a_net_a_cent_away() -> None:
    """At 19 % a net of 0.13 makes 0.15 and 0.14 makes 0.17: no net makes 0.16."""
    eur = Currency.of("EUR")
    assert net_for_gross(Decimal("11.90"), Decimal(19), eur) == Decimal("10.00")
    assert net_for_gross(Decimal("0.16"), Decimal(19), eur) == Decimal("0.13")
