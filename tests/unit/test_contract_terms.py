"""Contract money terms (issue 14): the values check themselves, and their JSON shape reads
and writes them exactly, refusing what it cannot hold with a dotted path."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.contract_terms import (
    Allowance,
    AllowanceUnit,
    AnnexGrouping,
    Discount,
    DiscountKind,
    FeeBasis,
    FixedFee,
    PriceBook,
    RevenueShare,
    Terms,
    TierBand,
    TierModel,
    VolumeTiers,
)
from chargeledger.domain.contract_terms_json import terms_from_json, terms_to_json
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

EUR = Currency("EUR")
JPY = Currency("JPY")
SITE_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SITE_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
TARIFF = uuid.UUID("00000000-0000-4000-8000-0000000000ff")
D = Decimal

FULL: dict[str, Any] = {
    "price_book": {
        "discount": {"kind": "percent", "value": "10"},
        "site_ids": [str(SITE_A), str(SITE_B)],
        "min_power_kw": "50",
        "max_power_kw": "350.5",
    },
    "tiers": {
        "model": "marginal",
        "bands": [
            {"from_kwh": "0", "price_per_kwh": "0.39"},
            {"from_kwh": "1000", "price_per_kwh": "0.34"},
        ],
    },
    "monthly_commitment": "500.00",
    "fixed_fees": [
        {"basis": "per_card", "amount": "2.50", "description": "RFID card"},
        {"basis": "flat", "amount": "25", "description": "Fleet portal"},
    ],
    "credit_limit": "0",
    "payment_terms_days": 30,
    "purchase_order": "PO-4500012345",
    "cost_centre": "CC 7100",
    "annex": "per_cost_centre",
    "allowance": {"unit": "kwh", "amount": "2000.5", "price": "600.00"},
    "revenue_share": {"percent": "12.5"},
}

FULL_TERMS = Terms(
    price_book=PriceBook(
        discount=Discount(DiscountKind.PERCENT, D("10")),
        site_ids=frozenset({SITE_A, SITE_B}),
        min_power_kw=D("50"),
        max_power_kw=D("350.5"),
    ),
    tiers=VolumeTiers(
        TierModel.MARGINAL, (TierBand(D("0"), D("0.39")), TierBand(D("1000"), D("0.34")))
    ),
    monthly_commitment=D("500.00"),
    fixed_fees=(
        FixedFee(FeeBasis.PER_CARD, D("2.50"), "RFID card"),
        FixedFee(FeeBasis.FLAT, D("25"), "Fleet portal"),
    ),
    credit_limit=D("0"),
    payment_terms_days=30,
    purchase_order="PO-4500012345",
    cost_centre="CC 7100",
    annex=AnnexGrouping.PER_COST_CENTRE,
    allowance=Allowance(AllowanceUnit.KWH, D("2000.5"), D("600.00")),
    revenue_share=RevenueShare(percent=D("12.5")),
)


def test_a_full_document_reads_as_the_terms_it_states() -> None:
    assert terms_from_json(FULL, EUR) == FULL_TERMS


def test_round_trip_is_exact_both_ways() -> None:
    assert terms_to_json(FULL_TERMS) == FULL
    assert terms_from_json(terms_to_json(FULL_TERMS), EUR) == FULL_TERMS
    # "10.00" stays "10.00": the decimals written are the decimals held.
    written = terms_to_json(terms_from_json({"credit_limit": "10.00"}, EUR))
    assert written == {"credit_limit": "10.00"}


def test_empty_terms_and_nulls_are_no_terms() -> None:
    assert terms_from_json({}, EUR) == Terms()
    assert terms_from_json({"tiers": None, "fixed_fees": None}, EUR) == Terms()
    assert terms_to_json(Terms()) == {}


def test_a_tariff_override_book_and_a_per_kwh_share_round_trip() -> None:
    doc = {
        "price_book": {"tariff_id": str(TARIFF)},
        "revenue_share": {"per_kwh": "0.05"},
        "allowance": {"unit": "money", "amount": "1200.00"},
    }
    terms = terms_from_json(doc, EUR)
    assert terms.price_book == PriceBook(tariff_id=TARIFF)
    assert terms.revenue_share == RevenueShare(per_kwh=D("0.05"))
    assert terms_to_json(terms) == doc


def test_integers_are_read_and_written_as_strings() -> None:
    terms = terms_from_json({"monthly_commitment": 500, "payment_terms_days": 0}, EUR)
    assert terms.monthly_commitment == D("500")
    assert terms_to_json(terms) == {"monthly_commitment": "500", "payment_terms_days": 0}


def test_site_ids_are_written_sorted_and_in_canonical_form() -> None:
    upper = {"price_book": {"tariff_id": str(TARIFF), "site_ids": [str(SITE_B).upper()]}}
    written = terms_to_json(terms_from_json(upper, EUR))
    assert written["price_book"]["site_ids"] == [str(SITE_B)]


def _with(path: str, value: Any) -> dict[str, Any]:
    """FULL with the value at ``path`` (dotted, [i] for list items) replaced."""
    doc = copy.deepcopy(FULL)
    target: Any = doc
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


BAD = [
    # (case, document, field)
    ("unknown key", {**FULL, "discount": "5"}, "discount"),
    ("unknown nested key", _with("tiers.bands[1].to_kwh", "5"), "tiers.bands[1].to_kwh"),
    ("not an object", _with("price_book", "10%"), "price_book"),
    ("float amount", _with("monthly_commitment", 500.5), "monthly_commitment"),
    ("Decimal number", _with("credit_limit", D("1.5")), "credit_limit"),
    ("bool amount", _with("credit_limit", True), "credit_limit"),
    ("NaN", _with("credit_limit", "NaN"), "credit_limit"),
    ("Infinity", _with("tiers.bands[1].price_per_kwh", "Infinity"), "tiers.bands[1].price_per_kwh"),
    ("exponent", _with("monthly_commitment", "5E+2"), "monthly_commitment"),
    ("spaces", _with("monthly_commitment", " 500"), "monthly_commitment"),
    ("negative", _with("credit_limit", "-1.00"), "credit_limit"),
    ("negative int", _with("credit_limit", -1), "credit_limit"),
    ("zero commitment", _with("monthly_commitment", "0"), "monthly_commitment"),
    ("a tenth of a cent", _with("fixed_fees[0].amount", "2.505"), "fixed_fees[0].amount"),
    ("zero fee", _with("fixed_fees[1].amount", "0.00"), "fixed_fees[1].amount"),
    ("amount at 10^9", _with("credit_limit", "1000000000"), "credit_limit"),
    ("bad fee basis", _with("fixed_fees[0].basis", "per_driver"), "fixed_fees[0].basis"),
    ("empty description", _with("fixed_fees[0].description", " "), "fixed_fees[0].description"),
    ("too many fees", _with("fixed_fees", [FULL["fixed_fees"][0]] * 21), "fixed_fees"),
    (
        "percent above 100",
        _with("price_book.discount.value", "100.01"),
        "price_book.discount.value",
    ),
    ("percent zero", _with("price_book.discount.value", "0"), "price_book.discount.value"),
    (
        "price 5 decimals",
        _with("tiers.bands[0].price_per_kwh", "0.39001"),
        "tiers.bands[0].price_per_kwh",
    ),
    ("bad discount kind", _with("price_book.discount.kind", "fixed"), "price_book.discount.kind"),
    (
        "tariff and discount",
        _with("price_book.tariff_id", str(TARIFF)),
        "price_book.tariff_id",
    ),
    ("not a uuid", _with("price_book.site_ids[1]", "site-b"), "price_book.site_ids[1]"),
    ("site twice", _with("price_book.site_ids[1]", str(SITE_A)), "price_book.site_ids[1]"),
    ("power class upside down", _with("price_book.max_power_kw", "50"), "price_book.max_power_kw"),
    ("power above 10 MW", _with("price_book.max_power_kw", "10001"), "price_book.max_power_kw"),
    ("first band not at 0", _with("tiers.bands[0].from_kwh", "1"), "tiers.bands[0].from_kwh"),
    ("bands not increasing", _with("tiers.bands[1].from_kwh", "0"), "tiers.bands[1].from_kwh"),
    ("no bands", _with("tiers.bands", []), "tiers.bands"),
    ("too many bands", _with("tiers.bands", FULL["tiers"]["bands"] * 11), "tiers.bands"),
    ("bad tier model", _with("tiers.model", "stepped"), "tiers.model"),
    ("terms days above 120", _with("payment_terms_days", 121), "payment_terms_days"),
    ("terms days as text", _with("payment_terms_days", "30"), "payment_terms_days"),
    ("po too long", _with("purchase_order", "P" * 65), "purchase_order"),
    ("po with a newline", _with("purchase_order", "PO\n1"), "purchase_order"),
    ("cost centre padded", _with("cost_centre", " CC"), "cost_centre"),
    ("bad annex", _with("annex", "per_site"), "annex"),
    ("zero allowance", _with("allowance.amount", "0"), "allowance.amount"),
    ("kWh below the Wh", _with("allowance.amount", "1.0005"), "allowance.amount"),
    ("share of 100", _with("revenue_share.percent", "100"), "revenue_share.percent"),
    ("share both ways", _with("revenue_share.per_kwh", "0.05"), "revenue_share.percent"),
    ("share neither way", _with("revenue_share", {}), "revenue_share.percent"),
]


@pytest.mark.parametrize(("document", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_broken_rule_names_its_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        terms_from_json(document, EUR)
    assert caught.value.code == "invalid_contract_terms"
    assert caught.value.field == field


def test_money_decimals_follow_the_contract_currency() -> None:
    """JPY has no minor unit: 500 yen is a commitment, 500.5 yen is not; a price per kWh
    keeps its 4 decimals whatever the currency (OCPI 2.2.1 §16.4)."""
    assert terms_from_json({"monthly_commitment": "500"}, JPY).monthly_commitment == D("500")
    with pytest.raises(InvalidInputError) as caught:
        terms_from_json({"monthly_commitment": "500.5"}, JPY)
    assert caught.value.field == "monthly_commitment"
    tiers = {"model": "retroactive", "bands": [{"from_kwh": "0", "price_per_kwh": "45.125"}]}
    assert terms_from_json({"tiers": tiers}, JPY).tiers is not None
    # "500.00" is 500 in yen: trailing zeros are no decimals (money.within_minor_units).
    assert terms_from_json({"monthly_commitment": "500.00"}, JPY).monthly_commitment == 500


def test_a_card_number_in_free_text_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        terms_from_json({"purchase_order": "4242 4242 4242 4242"}, EUR)
    assert (caught.value.code, caught.value.field) == ("card_data_refused", "purchase_order")


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        terms_from_json([], EUR)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_contract_terms"


def test_values_built_in_code_obey_the_same_rules() -> None:
    with pytest.raises(InvalidInputError) as caught:
        VolumeTiers(TierModel.MARGINAL, (TierBand(D("0"), D("0.39")), TierBand(D("0"), D("1"))))
    assert caught.value.field == "bands[1].from_kwh"
    with pytest.raises(InvalidInputError):
        PriceBook()  # neither a tariff nor a discount
    with pytest.raises(InvalidInputError):
        TierBand(D("-0"), D("0.39"))  # -0 would be written as "-0"
    with pytest.raises(InvalidInputError):
        Terms(payment_terms_days=True)  # a bool is not a number of days
    # Enum members may be given as their strings, as rows and tests hand them in.
    assert Discount("per_kwh", D("0.05")).kind is DiscountKind.PER_KWH  # type: ignore[arg-type]
