"""Reading and writing OCPI 2.2.1 Tariff JSON (§11.3.1 Tariff, §11.4 types, §16 types).

Every tariff of the conformance corpus parses and is written back as read: the same fields
present (``vat`` absent stays absent, ``vat: 0`` stays 0; note §1), the same numbers (compared
as Decimals, so 0.50 == 0.5), the same instants. Bad input raises ``InvalidInputError`` whose
``field`` points at the offending value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.tariffs import parse_cdr, parse_tariff, tariff_to_json
from chargeledger.errors import InvalidInputError
from tests.unit.tariffs.support import CORPUS, component, corpus, element, load_json, tariff_json

TARIFF_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("tariff.json"))
# Tariffs embedded in a CDR's ``tariffs`` list (OCPI 2.2.1 §10.3.1).
EMBEDDED = ["tandemdrive-codeberg/codeberg_issue_228/cdr.json", "ocpi-spec/cdr_example/cdr.json"]
DATETIME_FIELDS = {"start_date_time", "end_date_time", "last_updated"}


def _all_tariffs(bugs: dict[str, str] | None = None) -> list[Any]:
    """Every corpus tariff as a loader; ``bugs`` maps an id to an xfail reason."""
    loaders = [(path, lambda path=path: corpus(path)) for path in TARIFF_FILES]
    loaders += [
        (f"{path}#tariffs[0]", lambda path=path: corpus(path)["tariffs"][0]) for path in EMBEDDED
    ]
    bugs = bugs or {}
    return [
        pytest.param(
            load,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=bugs[name])] if name in bugs else [],
        )
        for name, load in loaders
    ]


def _normal(value: Any, key: str | None = None) -> Any:
    """JSON with numbers as Decimals and OCPI DateTimes as instants, for comparing documents
    by meaning: field presence and order of lists still count."""
    if isinstance(value, dict):
        return {k: _normal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        raise AssertionError(f"a float in a tariff document: {value!r}")
    if key in DATETIME_FIELDS and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _floats(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return [value] if isinstance(value, float) else []


def test_corpus_has_every_tariff() -> None:
    """README: 24 tandemdrive tariff folders plus the Codeberg step_size copy."""
    assert len(TARIFF_FILES) == 25


@pytest.mark.parametrize("load", _all_tariffs())
def test_tariff_round_trips(load: Callable[[], Any]) -> None:
    """§11.3.1: parse, write back, and get the same document (numbers compared as Decimal)."""
    document = load()
    tariff = parse_tariff(copy.deepcopy(document))
    written = tariff_to_json(tariff)
    assert _normal(written) == _normal(document)
    assert not _floats(written), "numbers are written as Decimal, never float"
    assert parse_tariff(written) == tariff


@pytest.mark.parametrize(
    "load",
    _all_tariffs(),
)
def test_datetimes_written_back_verbatim(load: Callable[[], Any]) -> None:
    """§16.2 DateTime is string(25), UTC; the corpus spells every one canonically, so writing
    it back must give the same text, and never more than 25 characters."""
    document = load()
    written = tariff_to_json(parse_tariff(copy.deepcopy(document)))
    for name in DATETIME_FIELDS & set(document):
        assert written[name] == document[name]
        assert len(written[name]) <= 25


def test_vat_absent_and_vat_zero_stay_apart() -> None:
    """Note §1/§10.8: no ``vat`` means incl = excl and is written back without ``vat``;
    ``vat: 0`` is written back as 0."""
    document = tariff_json(
        element(component("ENERGY", "0.25"), component("FLAT", "1.00", vat=0)),
    )
    written = tariff_to_json(parse_tariff(document))
    energy, flat = written["elements"][0]["price_components"]
    assert "vat" not in energy
    assert flat["vat"] == 0
    assert "vat" in flat


def test_optional_fields_keep_their_presence() -> None:
    """Fields the corpus leaves out (country_code, party_id, last_updated) stay out."""
    document = load_json(CORPUS / "tandemdrive/grace_period_parking_time/tariff.json")
    written = tariff_to_json(parse_tariff(document))
    assert set(written) == set(document)
    assert "country_code" not in written
    assert "last_updated" in written


def test_every_restriction_round_trips() -> None:
    """§11.4.6 TariffRestrictions: every field read and written back."""
    restrictions = {
        "start_time": "22:00",
        "end_time": "06:00",
        "start_date": "2026-03-29",
        "end_date": "2026-10-25",
        "min_kwh": Decimal("0.5"),
        "max_kwh": Decimal("20.25"),
        "min_current": Decimal("6.0"),
        "max_current": Decimal("32.0"),
        "min_power": Decimal("3.7"),
        "max_power": Decimal("22.0"),
        "min_duration": 0,
        "max_duration": 1800,
        "day_of_week": ["MONDAY", "SUNDAY"],
        "reservation": "RESERVATION_EXPIRES",
    }
    document = tariff_json(
        element(component("TIME", "2.00", 300, vat="19.0"), **restrictions),
        min_price={"excl_vat": Decimal("0.50"), "incl_vat": Decimal("0.60")},
        max_price={"excl_vat": Decimal("10.00")},
        start_date_time="2026-01-01T00:00:00Z",
        end_date_time="2027-01-01T00:00:00Z",
    )
    assert _normal(tariff_to_json(parse_tariff(copy.deepcopy(document)))) == _normal(document)


# --- bad input ---------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    return tariff_json(
        element(component("ENERGY", "0.25", vat=10), component("TIME", "2.00", 60, vat=10)),
        element(component("PARKING_TIME", "1.00", 300), start_time="09:00", end_time="18:00"),
        min_price={"excl_vat": Decimal("0.50"), "incl_vat": Decimal("0.55")},
    )


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the base document: set the value at a dotted/indexed path."""
    steps = [int(s) if s.isdigit() else s for s in re.findall(r"[^.\[\]]+", path)]

    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for step in steps[:-1]:
            target = target[step]
        target[steps[-1]] = value

    return mutate


BAD = [
    ("unknown component type", "elements[0].price_components[1].type", "KWH"),
    ("negative step_size", "elements[0].price_components[1].step_size", -60),
    ("fractional step_size", "elements[0].price_components[1].step_size", Decimal("1.5")),
    ("price is text", "elements[0].price_components[0].price", "zero point two five"),
    ("price is a boolean", "elements[0].price_components[0].price", True),
    ("price is null", "elements[0].price_components[0].price", None),
    ("price is a list", "elements[0].price_components[0].price", [Decimal("0.25")]),
    ("vat is text", "elements[0].price_components[0].vat", "ten"),
    ("start_time 25:00", "elements[1].restrictions.start_time", "25:00"),
    ("end_time 9:00", "elements[1].restrictions.end_time", "9:00"),
    ("start_date not a date", "elements[1].restrictions.start_date", "2026-02-30"),
    ("max_kwh text", "elements[1].restrictions.max_kwh", "lots"),
    ("max_duration negative", "elements[1].restrictions.max_duration", -1),
    ("reservation kind", "elements[1].restrictions.reservation", "BOOKED"),
    ("tariff type", "type", "CHEAP"),
    ("min_price excl_vat text", "min_price.excl_vat", "fifty cents"),
]


@pytest.mark.parametrize(("path", "value"), [(p, v) for _, p, v in BAD], ids=[n for n, _, _ in BAD])
def test_bad_value_names_its_field(path: str, value: Any) -> None:
    """A bad value raises InvalidInputError whose ``field`` is the value's path."""
    document = _base()
    _set(path, value)(document)
    with pytest.raises(InvalidInputError) as caught:
        parse_tariff(document)
    assert caught.value.field == path
    assert re.fullmatch(r"[a-z][a-z_]*", caught.value.code)


def test_unknown_day_of_week() -> None:
    """§11.4.1 DayOfWeek: "FUNDAY" is refused at its list index."""
    document = _base()
    document["elements"][1]["restrictions"]["day_of_week"] = ["MONDAY", "FUNDAY"]
    with pytest.raises(InvalidInputError) as caught:
        parse_tariff(document)
    assert caught.value.field == "elements[1].restrictions.day_of_week[1]"


@pytest.mark.parametrize("currency", ["EURO", "XYZ", "", "€"])
def test_unknown_currency(currency: str) -> None:
    """§11.3.1 currency: ISO 4217 code."""
    document = _base()
    document["currency"] = currency
    with pytest.raises(InvalidInputError) as caught:
        parse_tariff(document)
    assert caught.value.field == "currency"


@pytest.mark.parametrize("limit", ["min_price", "max_price"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"incl_vat": Decimal("0.55")}, id="incl only"),
        pytest.param({}, id="empty"),
    ],
)
def test_price_limit_without_excl_vat(limit: str, value: dict[str, Any]) -> None:
    """§16.5 Price: excl_vat is required (incl_vat optional)."""
    document = _base()
    document.pop("min_price")
    document[limit] = value
    with pytest.raises(InvalidInputError) as caught:
        parse_tariff(document)
    assert caught.value.field == f"{limit}.excl_vat"


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("id", "id"),
        ("currency", "currency"),
        ("elements", "elements"),
    ],
)
def test_missing_required_field(missing: str, field: str) -> None:
    """§11.3.1: id, currency and elements are required."""
    document = _base()
    del document[missing]
    with pytest.raises(InvalidInputError) as caught:
        parse_tariff(document)
    assert caught.value.field == field


@pytest.mark.parametrize("missing", ["type", "price", "step_size"])
def test_missing_component_field(missing: str) -> None:
    """§11.4.3 PriceComponent: type, price and step_size are required (vat is optional)."""
    document = _base()
    del document["elements"][0]["price_components"][1][missing]
    with pytest.raises(InvalidInputError) as caught:
        parse_tariff(document)
    assert caught.value.field == f"elements[0].price_components[1].{missing}"


def test_embedded_tariff_error_names_its_place_in_the_cdr() -> None:
    """§10.3.1 CDR.tariffs: an error in an embedded tariff names the full path from the CDR."""
    document = load_json(CORPUS / "ocpi-spec/cdr_example/cdr.json")
    document["tariffs"][0]["elements"][0]["price_components"][0]["price"] = "two"
    with pytest.raises(InvalidInputError) as caught:
        parse_cdr(document)
    assert caught.value.field == "tariffs[0].elements[0].price_components[0].price"


def test_bad_cdr_volume_names_its_field() -> None:
    """§10.4.2 CdrDimension.volume is a number."""
    document = load_json(CORPUS / "tandemdrive/step_size/cdr1.json")
    document["charging_periods"][2]["dimensions"][0]["volume"] = "a while"
    with pytest.raises(InvalidInputError) as caught:
        parse_cdr(document)
    assert caught.value.field == "charging_periods[2].dimensions[0].volume"


def test_unknown_cdr_dimension_names_its_field() -> None:
    """§10.4.3 CdrDimensionType."""
    document = load_json(CORPUS / "tandemdrive/step_size/cdr1.json")
    document["charging_periods"][1]["dimensions"][0]["type"] = "KWH"
    with pytest.raises(InvalidInputError) as caught:
        parse_cdr(document)
    assert caught.value.field == "charging_periods[1].dimensions[0].type"


def test_cdr_keeps_embedded_tariffs_and_periods() -> None:
    """§10.3.1: the CDR's tariffs, periods, times and currency are read."""
    cdr = parse_cdr(load_json(CORPUS / "tandemdrive-codeberg/codeberg_issue_228/cdr.json"))
    assert len(cdr.tariffs) == 1
    assert len(cdr.tariffs[0].elements) == 48
    assert len(cdr.charging_periods) == 2
    assert cdr.currency == "EUR"
    assert cdr.start_date_time < cdr.end_date_time
