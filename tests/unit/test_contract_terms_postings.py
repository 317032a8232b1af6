"""A car maker's pre-paid allowance in the ledger (issue 14): sold into deferred revenue with its
VAT, drawn by sessions into charging revenue, every entry balanced and nothing left on the
liability from rounding."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from chargeledger.domain.billing import ComponentAmount
from chargeledger.domain.contract_money import draw
from chargeledger.domain.contract_postings import (
    allowance_drawn_entry,
    allowance_sold_entry,
    deferred_release,
    drawn_components,
)
from chargeledger.domain.ledger import EntryKind, JournalEntry, contract_liability, receivable
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency, Money

D = Decimal
EUR = Currency("EUR")
CONTRACT = uuid.UUID("00000000-0000-4000-8000-00000000c0de")
CAR_MAKER = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
DAY = date(2026, 5, 31)
DEFERRED = contract_liability(CONTRACT)


def _postings(entry: JournalEntry) -> dict[str, Money]:
    return {p.account: p.units for p in entry.postings}


def test_allowance_sold_books_deferred_revenue_and_vat() -> None:
    """1,000.00 net + 19 % VAT 190.00 = 1,190.00 owed by the car maker."""
    entry = allowance_sold_entry(
        CONTRACT, CAR_MAKER, D("1000.00"), D("190.00"), "de", EUR, DAY, "inv-1"
    )
    assert entry.kind is EntryKind.ALLOWANCE_SOLD
    assert (entry.source_type, entry.source_id) == ("invoice", "inv-1")
    assert _postings(entry) == {
        receivable(CAR_MAKER): Money(D("1190.00"), EUR),
        DEFERRED: Money(D("-1000.00"), EUR),
        "Liabilities:VAT:DE": Money(D("-190.00"), EUR),
    }


def test_allowance_sold_without_vat_has_no_vat_posting() -> None:
    entry = allowance_sold_entry(CONTRACT, CAR_MAKER, D("500.00"), D("0"), "DE", EUR, DAY, "i2")
    assert set(_postings(entry)) == {receivable(CAR_MAKER), DEFERRED}


@pytest.mark.parametrize(
    ("net", "tax", "field"),
    [("0", "0", "net"), ("-1.00", "0", "net"), ("10.001", "0", "net"), ("10", "-1", "tax")],
)
def test_allowance_sold_refuses_impossible_amounts(net: str, tax: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        allowance_sold_entry(CONTRACT, CAR_MAKER, D(net), D(tax), "DE", EUR, DAY, "x")
    assert (caught.value.code, caught.value.field) == ("invalid_contract_amount", field)


def test_allowance_drawn_earns_revenue_per_component() -> None:
    components = (ComponentAmount("Energy", D("7.02")), ComponentAmount("Time", D("1.80")))
    entry = allowance_drawn_entry(CONTRACT, components, EUR, DAY, "charge-1")
    assert entry.kind is EntryKind.ALLOWANCE_DRAWN
    assert (entry.source_type, entry.source_id) == ("charge", "charge-1")
    assert _postings(entry) == {
        DEFERRED: Money(D("8.82"), EUR),  # 7.02 + 1.80
        "Income:Charging:Energy": Money(D("-7.02"), EUR),
        "Income:Charging:Time": Money(D("-1.80"), EUR),
    }


def test_a_draw_of_nothing_is_not_an_entry() -> None:
    with pytest.raises(InvalidInputError) as caught:
        allowance_drawn_entry(CONTRACT, (ComponentAmount("Energy", ZERO),), EUR, DAY, "c")
    assert caught.value.code == "unbalanced_entry"


def test_a_draw_names_real_revenue_components() -> None:
    with pytest.raises(InvalidInputError) as caught:
        allowance_drawn_entry(CONTRACT, (ComponentAmount("Tips", D("1")),), EUR, DAY, "c")
    assert caught.value.field == "components"


def test_releases_of_a_fully_drawn_kwh_allowance_add_up_to_the_sale() -> None:
    """1,000.00 net sold for 3 kWh (an awkward ratio on purpose): draws of 1 kWh release
    333.33, 333.34 (666.67 - 333.33) and 333.33 (1000.00 - 666.67): together 1,000.00."""
    releases = [deferred_release(D("1000.00"), D("3"), D(before), D("1"), EUR) for before in "012"]
    assert releases == [D("333.33"), D("333.34"), D("333.33")]
    assert sum(releases) == D("1000.00")


def test_a_session_of_an_oem_bundle_end_to_end() -> None:
    """Allowance 2,000 kWh sold for 700.00 net (0.35/kWh). A 30 kWh session charged 11.70
    (Energy 10.50, Time 1.20) when 20 kWh are left: 20 kWh covered, 10 beyond. Release:
    700.00 x 1,980/2,000 = 693.00 to date before, 700.00 after: 7.00, shared over the
    session's components 10.50 : 1.20 → 6.28 / 0.72 (628.2 and 71.8 cents: the cent left
    goes to the larger remainder)."""
    drawn = draw(D("20"), D("30"))
    assert (drawn.covered, drawn.left, drawn.beyond) == (D("20"), D("0"), D("10"))
    released = deferred_release(D("700.00"), D("2000"), D("1980"), drawn.covered, EUR)
    assert released == D("7.00")
    charge = (ComponentAmount("Energy", D("10.50")), ComponentAmount("Time", D("1.20")))
    shares = drawn_components(charge, released, EUR)
    assert shares == (
        ComponentAmount("Energy", D("6.28")),
        ComponentAmount("Time", D("0.72")),
    )
    sold = allowance_sold_entry(CONTRACT, CAR_MAKER, D("700.00"), D("133.00"), "DE", EUR, DAY, "i")
    entry = allowance_drawn_entry(CONTRACT, shares, EUR, DAY, "charge-7")
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for booked in (sold, entry):
        for posting in booked.postings:
            balances[posting.account] += posting.units.amount
    assert balances[DEFERRED] == D("-693.00")  # 700.00 deferred less 7.00 earned
    assert sum(balances.values()) == 0


def test_a_session_that_cost_nothing_draws_into_fixed() -> None:
    zero = (ComponentAmount("Energy", ZERO),)
    assert drawn_components(zero, D("1.00"), EUR) == (ComponentAmount("Fixed", D("1.00")),)


@pytest.mark.parametrize(
    ("allowance", "before", "now"),
    [("0", "0", "0"), ("10", "8", "3"), ("10", "-1", "1"), ("10", "0", "-1")],
)
def test_a_release_stays_within_the_allowance(allowance: str, before: str, now: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        deferred_release(D("100.00"), D(allowance), D(before), D(now), EUR)
    assert caught.value.code == "invalid_contract_amount"
