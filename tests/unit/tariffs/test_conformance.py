"""Every CDR case of the external conformance corpus (``cases.json["cases"]``) priced by
``price(cdr, tariff, time_zone)`` and held against the CDR totals of OCPI 2.2.1 §10.3.1.

What is compared follows the corpus README ("What to compare"): the reference harness checks
``total_cost``, ``total_energy``, ``total_energy_cost``, ``total_time``, ``total_time_cost``,
``total_parking_time``, ``total_parking_cost``, ``total_reservation_cost`` and
``total_fixed_cost``; a ``*_cost`` field the CDR leaves out counts as 0. The expected values are
the CDR's own ``total_*`` fields, with ``cases.json`` taking precedence where it corrects them
(quirk 4). Money is compared at 4 decimals (OCPI 2.2.1 §16.4 number) after rounding our exact
value half-up, as the reference does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.tariffs import PriceResult, parse_cdr, parse_tariff, price
from tests.unit.tariffs.support import corpus, manifest, rounded

CASES: list[dict[str, Any]] = manifest()["cases"]
IDS = [case["id"] for case in CASES]

MONEY = (
    "total_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
    "total_fixed_cost",
)
QUANTITIES = ("total_energy", "total_time", "total_parking_time")

# Fields the README says not to compare, with the quirk that says so.
SKIPPED = {
    # Quirk 5: the spec's example CDR claims total_energy 15.342 but has no ENERGY dimension.
    ("spec/cdr_example", "total_energy"): "README quirk 5",
}

# Comparison precision where the expected figure itself carries fewer decimals than 4.
PLACES = {
    # The reference output for this case is given to cents only (case notes; exact value
    # 1.83702/2.22279, checked at 4 dp in test_codeberg_issue_228_exact_value).
    ("cb/codeberg_issue_228/cdr", "total_cost"): 2,
    ("cb/codeberg_issue_228/cdr", "total_energy_cost"): 2,
    # The spec's example CDR states total_time 1.973 h for 21:39:09-23:37:32, which is 7103 s =
    # 1.97306 h: the spec rounded it to 3 decimals (not a README quirk; found here).
    ("spec/cdr_example", "total_time"): 3,
}


def _priced(case: dict[str, Any]) -> tuple[PriceResult, dict[str, Any]]:
    cdr_doc = corpus(case["cdr"])
    cdr = parse_cdr(cdr_doc)
    tariff = parse_tariff(corpus(case["tariff"])) if case["tariff"] else cdr.tariffs[0]
    return price(cdr, tariff, case["time_zone"]), cdr_doc


def _pair(amount: Any, places: int = 4) -> tuple[Decimal, Decimal]:
    return rounded(amount.excl_vat, places), rounded(amount.incl_vat, places)


def _reference(case: dict[str, Any], cdr_doc: dict[str, Any]) -> dict[str, Any]:
    """The reference totals: the CDR's own fields, overridden by cases.json, missing costs 0."""
    reference: dict[str, Any] = {
        name: cdr_doc[name] for name in (*MONEY, *QUANTITIES) if name in cdr_doc
    }
    reference.update(case["expected"])
    for name in MONEY:
        reference.setdefault(name, {"excl_vat": 0, "incl_vat": 0})
    return reference


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conformance_case(case: dict[str, Any]) -> None:
    """The OCPI 2.2.1 §10.3.1 totals of the CDR match the reference, field by field."""
    result, cdr_doc = _priced(case)
    reference = _reference(case, cdr_doc)
    spec = case.get("spec_expected", {})
    checked = []
    for name, expected in reference.items():
        if (case["id"], name) in SKIPPED:
            continue
        places = PLACES.get((case["id"], name), 4)
        if name in spec:
            # The spec and the reference disagree (README quirk 1: reference 0.6.1 ignores
            # min_price). We follow the spec and record that the reference says otherwise.
            assert rounded(spec[name]["excl_vat"]) != rounded(expected["excl_vat"])
            assert rounded(spec[name]["incl_vat"]) != rounded(expected["incl_vat"])
            expected = spec[name]
        if name in MONEY:
            amount = getattr(result, name)
            actual = (rounded(amount.excl_vat, places), rounded(amount.incl_vat, places))
            wanted = (rounded(expected["excl_vat"], places), rounded(expected["incl_vat"], places))
        else:
            actual, wanted = rounded(getattr(result, name), places), rounded(expected, places)
        assert actual == wanted, f"{name}: {actual} != {wanted}"
        checked.append(name)
    assert set(checked) >= {"total_cost", "total_time"}


def test_every_case_is_covered() -> None:
    """The corpus README promises 12 CDR cases (9 primary, 3 supplementary); all run here."""
    assert len(CASES) == 12
    assert len(set(IDS)) == len(IDS)


def test_min_price_deviation_from_the_reference() -> None:
    """OCPI 2.2.1 §11.3.1 min_price: under 2 kWh the spec bills 0.50/0.55. Reference 0.6.1
    ignores min_price and expects 0.30/0.33 (README quirk 1); we follow the spec. The energy
    cost itself stays 0.30/0.33 either way."""
    (case,) = [c for c in CASES if c["id"] == "td/025kwh_min_price/cdr2_less_than_2kWh"]
    result, _ = _priced(case)
    assert _pair(result.total_cost) == (Decimal("0.5000"), Decimal("0.5500"))
    reference = case["expected"]["total_cost"]
    assert (reference["excl_vat"], reference["incl_vat"]) == (Decimal("0.3"), Decimal("0.33"))
    assert _pair(result.total_energy_cost) == (Decimal("0.3000"), Decimal("0.3300"))


def test_codeberg_issue_228_exact_value() -> None:
    """README quirk 4: the exact total is 1.83702/2.22279 (the CPO billed 1.83/2.21 by rounding
    per period; the reference shows 1.84/2.22). We keep full precision and round once."""
    (case,) = [c for c in CASES if c["id"] == "cb/codeberg_issue_228/cdr"]
    result, cdr_doc = _priced(case)
    assert rounded(result.total_cost.excl_vat, 5) == Decimal("1.83702")
    assert rounded(result.total_cost.incl_vat, 5) == Decimal("2.22279")
    # The CPO's own figures in the CDR differ from the exact value (recorded, not followed).
    assert rounded(cdr_doc["total_cost"]["excl_vat"], 2) != rounded(result.total_cost.excl_vat, 2)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ocpi_totals_round_half_up(case: dict[str, Any]) -> None:
    """``ocpi_totals(places)`` reports the exact totals rounded half-up, with OCPI names."""
    result, _ = _priced(case)
    for places in (2, 4):
        totals = result.ocpi_totals(places)
        for name in MONEY:
            amount = getattr(result, name)
            assert totals[name] == {
                "excl_vat": rounded(amount.excl_vat, places),
                "incl_vat": rounded(amount.incl_vat, places),
            }
        for name in QUANTITIES:
            assert totals[name] == rounded(getattr(result, name), places)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_lines_explain_the_totals(case: dict[str, Any]) -> None:
    """Every amount is explained: the lines of a category add up to that category's total and
    all lines to ``total_cost`` (issue 4: "line items that explain every amount")."""
    result, _ = _priced(case)
    categories = {
        "energy": result.total_energy_cost,
        "time": result.total_time_cost,
        "parking": result.total_parking_cost,
        "fixed": result.total_fixed_cost,
        "reservation": result.total_reservation_cost,
    }
    for category, total in categories.items():
        lines = [line for line in result.lines if line.category == category]
        assert sum((line.excl_vat for line in lines), Decimal(0)) == total.excl_vat
        assert sum((line.incl_vat for line in lines), Decimal(0)) == total.incl_vat
    assert sum((line.excl_vat for line in result.lines), Decimal(0)) == result.total_cost.excl_vat
    assert sum((line.incl_vat for line in result.lines), Decimal(0)) == result.total_cost.incl_vat
    assert all(line.explanation for line in result.lines)


@pytest.mark.parametrize(
    ("case_id", "places", "in_utc"),
    [("cb/step_size/cdr1", 4, "0.4502"), ("cb/codeberg_issue_228/cdr", 2, "1.88")],
)
def test_restrictions_need_the_local_time_zone(case_id: str, places: int, in_utc: str) -> None:
    """README quirk 3, note §8: these cases hold only with restrictions read in
    Europe/Amsterdam; read in UTC they give 0.4502 and 1.88 instead."""
    (case,) = [c for c in CASES if c["id"] == case_id]
    assert case["time_zone"] == "Europe/Amsterdam"
    result, _ = _priced({**case, "time_zone": "UTC"})
    assert rounded(result.total_cost.excl_vat, places) == rounded(Decimal(in_utc), places)
    assert rounded(result.total_cost.excl_vat, places) != rounded(
        case["expected"]["total_cost"]["excl_vat"], places
    )


def test_skipped_fields_exist() -> None:
    """The README's skip list is applied to fields that really are in the reference."""
    for case_id, name in SKIPPED:
        (case,) = [c for c in CASES if c["id"] == case_id]
        assert name in _reference(case, corpus(case["cdr"]))
