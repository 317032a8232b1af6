"""What contract terms do to money (issue 14): price books and discount tariffs priced by the
one pricing function, volume tiers, commitments, fees, allowances and revenue shares, each
against hand-computed figures."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.contract_money import (
    Draw,
    FeeCharge,
    applies_at,
    commitment_shortfall,
    contract_tariff,
    draw,
    fee_lines,
    prorated_commitment,
    revenue_share,
    tier_adjustment,
    tiered_energy,
)
from chargeledger.domain.contract_terms import (
    Discount,
    DiscountKind,
    FeeBasis,
    FixedFee,
    PriceBook,
    RevenueShare,
    TierBand,
    TierModel,
    VolumeTiers,
)
from chargeledger.domain.tariffs import PriceResult, parse_cdr, parse_tariff, price, tariff_to_json
from chargeledger.domain.tariffs.model import Tariff
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency
from tests.unit.tariffs.support import cdr_json, component, element, instant, tariff_json

D = Decimal
EUR = Currency("EUR")
JPY = Currency("JPY")
SITE_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SITE_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
TARIFF_ID = uuid.UUID("00000000-0000-4000-8000-0000000000ff")


def percent(value: str) -> PriceBook:
    return PriceBook(discount=Discount(DiscountKind.PERCENT, D(value)))


def per_kwh(value: str) -> PriceBook:
    return PriceBook(discount=Discount(DiscountKind.PER_KWH, D(value)))


# --- applies_at -----------------------------------------------------------------------------


def test_a_book_without_sites_or_power_class_applies_everywhere() -> None:
    book = PriceBook(tariff_id=TARIFF_ID)
    assert applies_at(book, SITE_A, None)
    assert applies_at(book, SITE_B, D("22"))


def test_a_book_applies_at_its_sites_only() -> None:
    book = PriceBook(tariff_id=TARIFF_ID, site_ids=frozenset({SITE_A}))
    assert applies_at(book, SITE_A, D("11"))
    assert not applies_at(book, SITE_B, D("11"))


@pytest.mark.parametrize(
    ("power", "applies"),
    [("49.999", False), ("50", True), ("149.999", True), ("150", False), (None, False)],
)
def test_a_power_class_holds_its_minimum_not_its_maximum(power: str | None, applies: bool) -> None:
    """OCPI 2.2.1 §11.4.6 reading: min_power inclusive, max_power exclusive; unknown power is
    not shown to be in the class."""
    book = PriceBook(tariff_id=TARIFF_ID, min_power_kw=D("50"), max_power_kw=D("150"))
    assert applies_at(book, SITE_A, None if power is None else D(power)) is applies


def test_an_open_ended_power_class() -> None:
    book = PriceBook(discount=Discount(DiscountKind.PERCENT, D("5")), min_power_kw=D("150"))
    assert applies_at(book, SITE_A, D("350"))
    assert not applies_at(book, SITE_A, D("22"))


# --- contract_tariff, priced by price() ----------------------------------------------------

# 20 kWh over one hour: ENERGY 0.39/kWh, TIME 2.00/h, FLAT 1.00.
LIST = tariff_json(
    element(component("FLAT", "1.00"), component("ENERGY", "0.39"), component("TIME", "2.00")),
    id="FLEET-LIST-2026",
    tariff_alt_text=[{"language": "en", "text": "0.39 EUR/kWh, 2.00 EUR/h, 1.00 EUR/session"}],
)
SESSION = cdr_json(instant("2026-05-05T10:00"), [(0, {"ENERGY": 20, "TIME": 1})], 60)


def _priced(tariff: Tariff, cdr: dict[str, Any] = SESSION) -> PriceResult:
    return price(parse_cdr(cdr), tariff)


def test_list_price_of_the_session() -> None:
    result = _priced(parse_tariff(LIST))
    assert result.total_cost.excl_vat == D("10.80")  # 20 x 0.39 + 1 x 2.00 + 1.00


def test_a_percent_discount_lowers_every_component() -> None:
    tariff = contract_tariff(parse_tariff(LIST), percent("10"))
    result = _priced(tariff)
    assert result.total_energy_cost.excl_vat == D("7.0200")  # 20 x (0.39 x 0.9 = 0.351)
    assert result.total_time_cost.excl_vat == D("1.80")  # 1 h x 1.80
    assert result.total_fixed_cost.excl_vat == D("0.90")
    assert result.total_cost.excl_vat == D("9.72")  # 10.80 x 0.9
    assert result.tariff_id == tariff.id


def test_a_per_kwh_discount_lowers_energy_only() -> None:
    result = _priced(contract_tariff(parse_tariff(LIST), per_kwh("0.05")))
    assert result.total_energy_cost.excl_vat == D("6.80")  # 20 x (0.39 - 0.05)
    assert result.total_time_cost.excl_vat == D("2.00")
    assert result.total_cost.excl_vat == D("9.80")  # 6.80 + 2.00 + 1.00


def test_a_per_kwh_discount_never_makes_energy_negative() -> None:
    tariff = contract_tariff(parse_tariff(LIST), per_kwh("0.50"))
    assert _priced(tariff).total_energy_cost.excl_vat == 0  # max(0, 0.39 - 0.50)
    assert _priced(tariff).total_cost.excl_vat == D("3.00")  # time and flat stay


def test_percent_prices_are_rounded_half_up_to_four_decimals() -> None:
    """0.3333 x 0.85 = 0.283305 -> 0.2833; 0.3335 x 0.9 = 0.30015 -> 0.3002 (half up)."""
    odd = tariff_json(
        element(component("ENERGY", "0.3333"), max_power=50),
        element(component("ENERGY", "0.3335")),
    )
    first = contract_tariff(parse_tariff(odd), percent("15")).elements[0]
    assert first.price_components[0].price == D("0.2833")
    second = contract_tariff(parse_tariff(odd), percent("10")).elements[1]
    assert second.price_components[0].price == D("0.3002")


def test_limits_scale_with_a_percent_and_stay_with_a_per_kwh_discount() -> None:
    """30 kWh at 0.50 = 15.00, capped at 10.00 (max_price). 10 % off: 0.45 x 30 = 13.50,
    capped at 9.00; 0.05 off per kWh: 13.50, still capped at 10.00."""
    capped = tariff_json(
        element(component("ENERGY", "0.50")),
        max_price={"excl_vat": D("10.00"), "incl_vat": D("11.90")},
        min_price={"excl_vat": D("1.00")},
    )
    session = cdr_json(instant("2026-05-05T10:00"), [(0, {"ENERGY": 30})], 60)
    tariff = parse_tariff(capped)
    assert _priced(tariff, session).total_cost.excl_vat == D("10.00")
    discounted = contract_tariff(tariff, percent("10"))
    assert discounted.max_price is not None
    assert discounted.min_price is not None
    assert (discounted.max_price.excl_vat, discounted.max_price.incl_vat) == (D("9"), D("10.71"))
    assert discounted.min_price.excl_vat == D("0.9")  # 1.00 x 0.9
    assert _priced(discounted, session).total_cost.excl_vat == D("9.00")
    assert _priced(contract_tariff(tariff, per_kwh("0.05")), session).total_cost.excl_vat == 10


def test_the_contract_tariff_is_a_valid_ocpi_tariff_with_a_bounded_id() -> None:
    long_id = "T" * 36
    tariff = contract_tariff(parse_tariff({**LIST, "id": long_id}), percent("12.5"))
    assert len(tariff.id) == 36
    assert tariff.id.startswith("T" * 26 + "-K")
    again = parse_tariff(tariff_to_json(tariff))  # it reads back as OCPI JSON
    assert again == tariff
    assert again.tariff_alt_text == ()  # the list-price text is not shown for it


def test_contract_tariff_ids_are_stable_and_tell_discounts_apart() -> None:
    base = parse_tariff(LIST)
    ten = contract_tariff(base, percent("10"))
    assert ten.id == contract_tariff(base, percent("10.00")).id
    assert ten.id.startswith("FLEET-LIST-2026-K")
    assert len(ten.id) == len("FLEET-LIST-2026") + 10
    assert ten.id != contract_tariff(base, percent("11")).id
    assert ten.id != contract_tariff(base, per_kwh("10")).id


def test_a_tariff_override_book_has_no_discount_to_apply() -> None:
    with pytest.raises(InvalidInputError) as caught:
        contract_tariff(parse_tariff(LIST), PriceBook(tariff_id=TARIFF_ID))
    assert caught.value.field == "price_book.discount"


# --- volume tiers ---------------------------------------------------------------------------

BANDS = (TierBand(D("0"), D("0.39")), TierBand(D("1000"), D("0.34")))
MARGINAL = VolumeTiers(TierModel.MARGINAL, BANDS)
RETROACTIVE = VolumeTiers(TierModel.RETROACTIVE, BANDS)


@pytest.mark.parametrize(
    ("tiers", "kwh", "expected"),
    [
        (MARGINAL, "1500", "560.00"),  # 1000 x 0.39 + 500 x 0.34 = 390 + 170
        (RETROACTIVE, "1500", "510.00"),  # 1500 x 0.34
        (MARGINAL, "1000", "390.00"),  # 1000 x 0.39: nothing beyond 1000
        (RETROACTIVE, "1000", "390.00"),  # 1000 is not beyond 1000: band one
        (RETROACTIVE, "1000.001", "340.00"),  # 1000.001 x 0.34 = 340.00034
        (MARGINAL, "1000.001", "390.00"),  # 390 + 0.001 x 0.34 = 390.00034
        (MARGINAL, "0", "0.00"),
        (RETROACTIVE, "0", "0.00"),
        (MARGINAL, "12.345", "4.81"),  # 12.345 x 0.39 = 4.81455
    ],
    ids=lambda value: str(getattr(value, "model", value)),
)
def test_tiered_energy(tiers: VolumeTiers, kwh: str, expected: str) -> None:
    assert tiered_energy(tiers, D(kwh), EUR) == D(expected)
    assert str(tiered_energy(tiers, D(kwh), EUR)) == expected  # to the cent


def test_three_marginal_bands() -> None:
    """0→0.40, 500→0.35, 2000→0.30 over 2500 kWh: 500 x 0.40 + 1500 x 0.35 + 500 x 0.30 =
    200 + 525 + 150 = 875.00; retroactive: 2500 x 0.30 = 750.00."""
    bands = (TierBand(D(0), D("0.40")), TierBand(D(500), D("0.35")), TierBand(D(2000), D("0.30")))
    assert tiered_energy(VolumeTiers(TierModel.MARGINAL, bands), D(2500), EUR) == D("875.00")
    assert tiered_energy(VolumeTiers(TierModel.RETROACTIVE, bands), D(2500), EUR) == D("750.00")


def test_tier_adjustment_is_a_discount_line() -> None:
    """1500 kWh charged at 0.39 = 585.00; marginal 560.00 → -25.00, retroactive 510.00 →
    -75.00."""
    assert tier_adjustment(MARGINAL, D(1500), D("585.00"), EUR) == D("-25.00")
    assert tier_adjustment(RETROACTIVE, D(1500), D("585.00"), EUR) == D("-75.00")
    assert tier_adjustment(MARGINAL, D(0), D("0.00"), EUR) == 0


def test_tiers_round_to_the_currency() -> None:
    yen = VolumeTiers(TierModel.MARGINAL, (TierBand(D(0), D("45.5")),))
    assert tiered_energy(yen, D(3), JPY) == D("137")  # 136.5 half up


@pytest.mark.parametrize("kwh", ["-1", "NaN"])
def test_tiers_refuse_impossible_volumes(kwh: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tiered_energy(MARGINAL, D(kwh), EUR)
    assert (caught.value.code, caught.value.field) == ("invalid_contract_amount", "kwh")


# --- commitment -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_net", "shortfall"),
    [
        ("412.35", "87.65"),  # 500.00 - 412.35
        ("500.00", "0.00"),
        ("650.10", "0.00"),
        ("0", "500.00"),
        ("-20.00", "500.00"),  # credits beyond the charges: the whole commitment, no more
        ("499.995", "0.01"),  # 0.005 half up
    ],
)
def test_commitment_shortfall(period_net: str, shortfall: str) -> None:
    assert str(commitment_shortfall(D("500.00"), D(period_net), EUR)) == shortfall


@pytest.mark.parametrize(
    ("days", "month", "expected"),
    [
        (10, 31, "161.29"),  # 500 x 10 / 31 = 161.2903...
        (31, 31, "500.00"),
        (0, 30, "0.00"),
        (14, 28, "250.00"),
        (1, 30, "16.67"),  # 16.666... half up
        (3, 30, "50.00"),  # 500 x 3 / 30
    ],
)
def test_prorated_commitment_by_days(days: int, month: int, expected: str) -> None:
    assert str(prorated_commitment(D("500.00"), days, month, EUR)) == expected


def test_prorated_commitment_exactly_half_a_cent_rounds_up() -> None:
    # 0.01 x 15 / 30 = 0.005 exactly -> 0.01 (half up from the exact fraction)
    assert prorated_commitment(D("0.01"), 15, 30, EUR) == D("0.01")
    assert prorated_commitment(D("1001"), 15, 30, JPY) == D("501")  # 500.5 -> 501


@pytest.mark.parametrize(("days", "month"), [(32, 31), (-1, 30), (10, 27), (1, 32)])
def test_prorated_commitment_refuses_impossible_days(days: int, month: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        prorated_commitment(D("500.00"), days, month, EUR)
    assert caught.value.code == "invalid_contract_amount"


# --- fixed fees -----------------------------------------------------------------------------

FEES = (
    FixedFee(FeeBasis.PER_CARD, D("2.50"), "RFID card"),
    FixedFee(FeeBasis.PER_VEHICLE, D("4.00"), "Vehicle"),
    FixedFee(FeeBasis.PER_SITE, D("30.00"), "Depot site"),
    FixedFee(FeeBasis.FLAT, D("25.00"), "Fleet portal"),
)


def test_fee_lines() -> None:
    counts = {FeeBasis.PER_CARD: 12, FeeBasis.PER_VEHICLE: 0, FeeBasis.FLAT: 7}
    assert fee_lines(FEES, counts) == (
        FeeCharge("RFID card", 12, D("2.50"), D("30.00")),  # 12 x 2.50
        # no vehicles and no sites counted: no lines
        FeeCharge("Fleet portal", 1, D("25.00"), D("25.00")),  # flat: once, whatever counted
    )
    assert fee_lines((), counts) == ()


@pytest.mark.parametrize("count", [-1, True, 1_000_001])
def test_fee_counts_are_bounded_whole_numbers(count: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fee_lines(FEES, {FeeBasis.PER_CARD: count})
    assert (caught.value.code, caught.value.field) == ("invalid_contract_amount", "counts.per_card")


# --- allowance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "wanted", "expected"),
    [
        ("100", "30.5", Draw(D("30.5"), D("69.5"), D("0"))),
        ("20.25", "30.5", Draw(D("20.25"), D("0"), D("10.25"))),  # 30.5 - 20.25 beyond
        ("0", "12", Draw(D("0"), D("0"), D("12"))),
        ("12.000", "12", Draw(D("12"), D("0"), D("0"))),
        ("5", "0", Draw(D("0"), D("5"), D("0"))),
    ],
)
def test_draw(left: str, wanted: str, expected: Draw) -> None:
    assert draw(D(left), D(wanted)) == expected


def test_draw_refuses_negative_amounts() -> None:
    with pytest.raises(InvalidInputError) as caught:
        draw(D("10"), D("-1"))
    assert caught.value.field == "wanted"


# --- revenue share --------------------------------------------------------------------------


def test_revenue_share_by_percent() -> None:
    # 12.5 % of 3,456.78 = 432.0975 -> 432.10
    share = RevenueShare(percent=D("12.5"))
    assert revenue_share(share, D("3456.78"), D("9000"), EUR) == D("432.10")


def test_revenue_share_per_kwh() -> None:
    # 8,765.432 kWh x 0.015 = 131.48148 -> 131.48
    share = RevenueShare(per_kwh=D("0.015"))
    assert revenue_share(share, D("3456.78"), D("8765.432"), EUR) == D("131.48")


def test_revenue_share_of_nothing_is_nothing() -> None:
    assert revenue_share(RevenueShare(percent=D("10")), D(0), D(0), EUR) == 0
