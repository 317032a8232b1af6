"""Hand-written edge cases from the research note ``ocpi-tariff-rules.md`` §10, each pinned to
the OCPI 2.2.1 clause it exercises (§11.4.3 PriceComponent/step_size, §11.4.6 restrictions,
§11.3.1 min/max_price) and the note section that reads it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.tariffs import PriceResult, parse_cdr, parse_tariff, price
from tests.unit.tariffs.support import (
    cdr_json,
    component,
    corpus,
    element,
    hours,
    instant,
    rounded,
    tariff_json,
)

DAY = "2026-05-05"  # a Tuesday
MONDAY = "2026-05-04"


def _price(tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str = "UTC") -> PriceResult:
    return price(parse_cdr(cdr), parse_tariff(tariff), time_zone)


def _money(amount: Any) -> tuple[Decimal, Decimal]:
    return rounded(amount.excl_vat), rounded(amount.incl_vat)


def _d(value: str) -> Decimal:
    return rounded(Decimal(value))


def _one_hour_of(kind: str, local_start: str, time_zone: str = "UTC") -> dict[str, Any]:
    """A one-period session of one hour (or 1 kWh) starting at ``local_start``."""
    return cdr_json(instant(local_start, time_zone), [(0, {kind: 1})], 60)


# --- §10.1 the component is chosen per dimension ------------------------------------------


def test_component_chosen_per_dimension_not_per_element() -> None:
    """Note §3/§10.1, §11.4.6: for each dimension the first element that has a component of it
    and whose restrictions hold. The FLAT-only first element does not shadow the rest; when the
    power band switches element 1 off, ENERGY comes from element 2 but TIME (which element 2
    lacks) from element 3."""
    tariff = tariff_json(
        element(component("FLAT", "1.00")),
        element(component("TIME", "2.00"), component("ENERGY", "0.40"), max_power=11),
        element(component("ENERGY", "0.25")),
        element(
            component("TIME", "1.00"),
            component("ENERGY", "0.99"),
            component("PARKING_TIME", "3.00"),
        ),
    )
    cdr = cdr_json(
        instant(f"{DAY}T10:00"),
        [
            (0, {"ENERGY": 7, "TIME": 1, "MIN_POWER": 7, "MAX_POWER": 7}),
            (60, {"ENERGY": 22, "TIME": 1, "MIN_POWER": 22, "MAX_POWER": 22}),
            (120, {"PARKING_TIME": "0.5"}),
        ],
        150,
    )
    result = _price(tariff, cdr)
    assert rounded(result.total_energy_cost.excl_vat) == _d("8.30")  # 7 x 0.40 + 22 x 0.25
    assert rounded(result.total_time_cost.excl_vat) == _d("3.00")  # 1 x 2.00 + 1 x 1.00
    assert rounded(result.total_parking_cost.excl_vat) == _d("1.50")  # 0.5 x 3.00
    assert rounded(result.total_fixed_cost.excl_vat) == _d("1.00")
    assert rounded(result.total_cost.excl_vat) == _d("13.80")


# --- §10.2 step_size on the session total --------------------------------------------------


def test_energy_step_on_the_session_total() -> None:
    """§11.4.3 step_size, note §5: 4.3 kWh + 1.1 kWh with a 500 Wh step bill 5.5 kWh in total
    (5.50), not each period rounded (4.5 + 1.5 = 6.00)."""
    tariff = tariff_json(element(component("ENERGY", "1.00", 500)))
    cdr = cdr_json(instant(f"{DAY}T16:30"), [(0, {"ENERGY": "4.3"}), (30, {"ENERGY": "1.1"})], 60)
    result = _price(tariff, cdr)
    assert rounded(result.total_energy_cost.excl_vat) == _d("5.50")
    assert rounded(result.total_energy) == _d("5.4")  # the raw volume, not the billed one


def test_energy_step_of_the_last_period_at_its_price() -> None:
    """Note §5: the last period's step (500 Wh) rounds the total 5.4 kWh to 5.5 and the extra
    0.1 kWh is priced at the last period's 0.40: 4.3 x 0.20 + 1.2 x 0.40 = 1.34 (the first
    step, 100 Wh, would round nothing: 1.30; per-period rounding would give 1.50)."""
    tariff = tariff_json(
        element(component("ENERGY", "0.20", 100), start_time="00:00", end_time="17:00"),
        element(component("ENERGY", "0.40", 500), start_time="17:00", end_time="00:00"),
    )
    cdr = cdr_json(instant(f"{DAY}T16:30"), [(0, {"ENERGY": "4.3"}), (30, {"ENERGY": "1.1"})], 60)
    assert rounded(_price(tariff, cdr).total_energy_cost.excl_vat) == _d("1.34")


def test_energy_last_step_wins_even_when_smaller() -> None:
    """Corpus step_size_energy, inverted: the last period's step is 1 Wh, so 7 kWh stay 7 kWh
    (14.00) although the first period's component had an 8000 Wh step."""
    tariff = tariff_json(
        element(component("ENERGY", "2", 8000), start_time="00:00", end_time="17:00"),
        element(component("ENERGY", "2", 1), start_time="17:00", end_time="00:00"),
    )
    cdr = cdr_json(instant(f"{DAY}T16:55"), [(0, {"ENERGY": 5}), (5, {"ENERGY": 2})], 12)
    assert rounded(_price(tariff, cdr).total_energy_cost.excl_vat) == _d("14.00")


def test_time_step_on_the_session_total() -> None:
    """Note §5: 6 min + 22 min with a 10-min step bill 30 min in total, so 24 min fall after
    17:00: 6 x 1.20/60 + 24 x 2.40/60 = 1.08 (per period: 10 + 30 min = 1.40)."""
    tariff = tariff_json(
        element(component("TIME", "1.20", 600), start_time="00:00", end_time="17:00"),
        element(component("TIME", "2.40", 600), start_time="17:00", end_time="20:00"),
    )
    cdr = cdr_json(instant(f"{DAY}T16:54"), [(0, {"TIME": hours(6)}), (6, {"TIME": hours(22)})], 28)
    assert rounded(_price(tariff, cdr).total_time_cost.excl_vat) == _d("1.08")


# --- §10.3 TIME is not rounded when parking follows -----------------------------------------

TIME_AND_PARKING = tariff_json(
    element(component("TIME", "6.00", 300), component("PARKING_TIME", "3.00", 300))
)


def test_time_not_rounded_when_parking_follows() -> None:
    """§11.4.3 step_size, note §5: 21 min charging + 7 min parking with 5-min steps bill 21 min
    of charging (2.10) and 10 min of parking (0.50)."""
    cdr = cdr_json(
        instant(f"{DAY}T10:00"),
        [(0, {"TIME": hours(21)}), (21, {"PARKING_TIME": hours(7)})],
        28,
    )
    result = _price(TIME_AND_PARKING, cdr)
    assert rounded(result.total_time_cost.excl_vat) == _d("2.10")
    assert rounded(result.total_parking_cost.excl_vat) == _d("0.50")
    assert rounded(result.total_parking_time) == rounded(hours(7))


def test_time_rounded_without_parking() -> None:
    """The same 21 min of charging with no parking: TIME is rounded up to 25 min (2.50)."""
    cdr = cdr_json(instant(f"{DAY}T10:00"), [(0, {"TIME": hours(21)})], 21)
    assert rounded(_price(TIME_AND_PARKING, cdr).total_time_cost.excl_vat) == _d("2.50")


def test_time_rounded_when_the_parking_is_not_priced() -> None:
    """Note §5 (reference rule): TIME is rounded when no period had a *priced* PARKING_TIME;
    a tariff without a parking component leaves the idle time free, and TIME is rounded."""
    tariff = tariff_json(element(component("TIME", "6.00", 300)))
    cdr = cdr_json(
        instant(f"{DAY}T10:00"),
        [(0, {"TIME": hours(21)}), (21, {"PARKING_TIME": hours(7)})],
        28,
    )
    result = _price(tariff, cdr)
    assert rounded(result.total_time_cost.excl_vat) == _d("2.50")
    assert result.total_parking_cost.excl_vat == 0


# --- §10.4 only paid parking is rounded ------------------------------------------------------


def test_only_paid_parking_rounded_and_extra_at_last_paid_price() -> None:
    """Note §5/§10.4: parking 19:50-20:00 is paid (5 min at 1.20/h, 5 min at 3.60/h), free from
    20:00. Only the 10 paid minutes are rounded (to 15, step 900) and the extra 5 min are
    priced at the last *paid* period's 3.60/h: 5 x 0.02 + 10 x 0.06 = 0.70. (All 20 min rounded
    would be 30; the extra at the free period's price would give 0.40.)"""
    tariff = tariff_json(
        element(component("PARKING_TIME", "1.20", 900), start_time="17:00", end_time="19:55"),
        element(component("PARKING_TIME", "3.60", 900), start_time="19:55", end_time="20:00"),
        element(component("TIME", "2.40", 900), start_time="20:00", end_time="00:00"),
    )
    cdr = cdr_json(
        instant(f"{DAY}T19:50"),
        [
            (0, {"PARKING_TIME": hours(5)}),
            (5, {"PARKING_TIME": hours(5)}),
            (10, {"PARKING_TIME": hours(10)}),
        ],
        20,
    )
    result = _price(tariff, cdr)
    assert rounded(result.total_parking_cost.excl_vat) == _d("0.70")
    assert rounded(result.total_parking_time) == rounded(hours(20))


# --- §10.5 time windows past midnight -------------------------------------------------------


def _window_tariff(start: str, end: str) -> dict[str, Any]:
    return tariff_json(
        element(component("TIME", "1.00"), start_time=start, end_time=end),
        element(component("TIME", "0.50")),
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-05-05T19:59", "0.50"),
        ("2026-05-05T20:00", "1.00"),
        ("2026-05-05T23:30", "1.00"),
        ("2026-05-05T23:59", "1.00"),
        ("2026-05-06T00:00", "0.50"),
        ("2026-05-06T12:00", "0.50"),
    ],
)
def test_window_until_midnight(start: str, expected: str) -> None:
    """§11.4.6 end_time, note §4: "20:00"-"00:00" runs to the end of the day (end 00:00 means
    midnight, not an empty window)."""
    result = _price(_window_tariff("20:00", "00:00"), _one_hour_of("TIME", start))
    assert rounded(result.total_time_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-05-05T21:59", "0.50"),
        ("2026-05-05T22:00", "1.00"),
        ("2026-05-05T23:30", "1.00"),
        ("2026-05-06T00:00", "1.00"),
        ("2026-05-06T02:00", "1.00"),
        ("2026-05-06T05:59", "1.00"),
        ("2026-05-06T06:00", "0.50"),
        ("2026-05-06T12:00", "0.50"),
    ],
)
def test_window_wrapping_past_midnight(start: str, expected: str) -> None:
    """§11.4.6: end_time before start_time wraps past midnight ("22:00"-"06:00" is the night);
    start inclusive, end exclusive."""
    result = _price(_window_tariff("22:00", "06:00"), _one_hour_of("TIME", start))
    assert rounded(result.total_time_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(
    ("window", "expected"), [(("20:00", "00:00"), "0.75"), (("22:00", "06:00"), "1.00")]
)
def test_session_across_midnight(window: tuple[str, str], expected: str) -> None:
    """A 23:30 period and a 00:00 period: the evening window stops at midnight, the night
    window goes on."""
    cdr = cdr_json(instant(f"{DAY}T23:30"), [(0, {"TIME": "0.5"}), (30, {"TIME": "0.5"})], 60)
    result = _price(_window_tariff(*window), cdr)
    assert rounded(result.total_time_cost.excl_vat) == _d(expected)


# --- §10.6 exclusive upper bounds -----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [("16:59", "1.20"), ("17:00", "2.40"), ("19:59", "2.40"), ("20:00", "0.60")],
)
def test_end_time_exclusive(start: str, expected: str) -> None:
    """§11.4.6 end_time is exclusive and start_time inclusive: at exactly 17:00 the 17:00-20:00
    element prices, not the 00:00-17:00 one."""
    tariff = tariff_json(
        element(component("TIME", "1.20"), start_time="00:00", end_time="17:00"),
        element(component("TIME", "2.40"), start_time="17:00", end_time="20:00"),
        element(component("TIME", "0.60")),
    )
    result = _price(tariff, _one_hour_of("TIME", f"{DAY}T{start}"))
    assert rounded(result.total_time_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(
    ("start", "expected"),
    [("2026-05-05T00:00", "1.00"), ("2026-05-05T23:59", "1.00"), ("2026-05-06T00:00", "0.50")],
)
def test_end_date_exclusive(start: str, expected: str) -> None:
    """§11.4.6 start_date inclusive, end_date exclusive."""
    tariff = tariff_json(
        element(component("TIME", "1.00"), start_date="2026-05-05", end_date="2026-05-06"),
        element(component("TIME", "0.50")),
    )
    result = _price(tariff, _one_hour_of("TIME", start))
    assert rounded(result.total_time_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(
    ("second", "expected"), [("0.5", "0.20"), ("0.499", "0.00")], ids=["at 1 kWh", "below"]
)
def test_max_kwh_exclusive(second: str, expected: str) -> None:
    """§11.4.6 min_kwh inclusive, max_kwh exclusive, on the energy used before the period: with
    exactly 1 kWh before it, the third period leaves the free element (max_kwh 1)."""
    tariff = tariff_json(
        element(component("ENERGY", "0.00"), max_kwh=1),
        element(component("ENERGY", "0.20"), min_kwh=1),
    )
    cdr = cdr_json(
        instant(f"{DAY}T10:00"),
        [(0, {"ENERGY": "0.5"}), (20, {"ENERGY": second}), (40, {"ENERGY": 1})],
        60,
    )
    assert rounded(_price(tariff, cdr).total_energy_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(
    ("grace_seconds", "expected"), [(1800, "0.75"), (1799, "0.00")], ids=["at 1800 s", "1799 s"]
)
def test_max_duration_exclusive_grace_period(grace_seconds: int, expected: str) -> None:
    """§11.4.6 max_duration is exclusive (corpus grace_period_parking_time): a period that
    starts exactly 1800 s into the session is past the free grace element and pays 3.00/h."""
    tariff = corpus("tandemdrive/grace_period_parking_time/tariff.json")
    grace = Decimal(grace_seconds) / 60
    cdr = cdr_json(
        instant("2019-03-05T15:00"),
        [(0, {"PARKING_TIME": hours(grace)}), (grace, {"PARKING_TIME": "0.25"})],
        grace + 15,
    )
    result = _price(tariff, cdr)
    assert _money(result.total_parking_cost) == (_d(expected), _d(expected))


@pytest.mark.parametrize(("power", "expected"), [("16", "0.35"), ("15.99", "0.20")])
def test_max_power_exclusive(power: str, expected: str) -> None:
    """§11.4.6 max_power is exclusive: at exactly 16 kW the "< 16 kW" element does not apply."""
    tariff = corpus("tandemdrive/restriction_example_max_power/tariff.json")
    cdr = cdr_json(
        instant(f"{DAY}T10:00"),
        [(0, {"ENERGY": 1, "MIN_POWER": power, "MAX_POWER": power})],
        10,
    )
    assert rounded(_price(tariff, cdr).total_energy_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(("current", "expected"), [("32", "2.00"), ("31.9", "1.00")])
def test_max_current_exclusive_min_current_inclusive(current: str, expected: str) -> None:
    """§11.4.6 (corpus ``complex``): at exactly 32 A on a Monday the "max_current 32" element
    no longer applies and the "min_current 32" one does."""
    tariff = corpus("tandemdrive/complex/tariff.json")
    cdr = cdr_json(
        instant(f"{MONDAY}T10:00"),
        [(0, {"TIME": 1, "MIN_CURRENT": current, "MAX_CURRENT": current})],
        60,
    )
    assert rounded(_price(tariff, cdr).total_time_cost.excl_vat) == _d(expected)


# --- §10.7 min/max price, excl and incl independently ---------------------------------------


def test_min_price_clamps_excl_and_incl_independently() -> None:
    """§11.3.1 min_price, note §6: 2 kWh x 0.25 = 0.50 excl (above min 0.40, kept) and 0.55
    incl (below min 0.60, raised)."""
    tariff = tariff_json(
        element(component("ENERGY", "0.25", vat=10)),
        min_price={"excl_vat": Decimal("0.40"), "incl_vat": Decimal("0.60")},
    )
    result = _price(tariff, cdr_json(instant(f"{DAY}T10:00"), [(0, {"ENERGY": 2})], 60))
    assert _money(result.total_cost) == (_d("0.50"), _d("0.60"))
    assert _money(result.total_energy_cost) == (_d("0.50"), _d("0.55"))
    assert sum(line.incl_vat for line in result.lines) == result.total_cost.incl_vat
    assert any(line.category == "min_price" for line in result.lines)


def test_max_price_clamps_excl_and_incl_independently() -> None:
    """§11.3.1 max_price, note §6: 39.2 kWh x 0.25 = 9.80 excl (below max 10.00, kept) and
    10.78 incl (above max 10.50, capped)."""
    tariff = tariff_json(
        element(component("ENERGY", "0.25", vat=10)),
        max_price={"excl_vat": Decimal("10.00"), "incl_vat": Decimal("10.50")},
    )
    result = _price(tariff, cdr_json(instant(f"{DAY}T10:00"), [(0, {"ENERGY": "39.2"})], 60))
    assert _money(result.total_cost) == (_d("9.80"), _d("10.50"))
    assert sum(line.excl_vat for line in result.lines) == result.total_cost.excl_vat
    assert sum(line.incl_vat for line in result.lines) == result.total_cost.incl_vat
    assert any(line.category == "max_price" for line in result.lines)


def test_min_and_max_price_on_different_sides_explained_apart() -> None:
    """§11.3.1, note §6: 0.95 kWh x 1.00 at 25% VAT = 0.95/1.1875; min_price 1.00 lifts excl
    to 1.00 while max_price incl 1.10 caps incl. Each adjustment is explained by its own
    limit: a min_price line only raises, a max_price line only lowers."""
    tariff = tariff_json(
        element(component("ENERGY", "1.00", vat=25)),
        min_price={"excl_vat": Decimal("1.00"), "incl_vat": Decimal("1.00")},
        max_price={"excl_vat": Decimal("1.05"), "incl_vat": Decimal("1.10")},
    )
    result = _price(tariff, cdr_json(instant(f"{DAY}T10:00"), [(0, {"ENERGY": "0.95"})], 60))
    assert _money(result.total_cost) == (_d("1.00"), _d("1.10"))
    minimum = [line for line in result.lines if line.category == "min_price"]
    maximum = [line for line in result.lines if line.category == "max_price"]
    assert all(line.excl_vat >= 0 and line.incl_vat >= 0 for line in minimum)
    assert all(line.excl_vat <= 0 and line.incl_vat <= 0 for line in maximum)
    assert sum(line.excl_vat for line in minimum) == Decimal("0.05")
    assert sum(line.incl_vat for line in maximum) == Decimal("-0.0875")


# --- §10.8 vat absent vs vat 0 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("vat", "incl"), [(None, "2.50"), (0, "2.50"), ("19", "2.975")], ids=["absent", "0", "19"]
)
def test_vat_absent_or_zero(vat: Any, incl: str) -> None:
    """§11.4.3 vat, note §1/§6: no vat means incl = excl, as does vat 0; 19% adds 19%."""
    tariff = tariff_json(element(component("ENERGY", "0.25", vat=vat)))
    result = _price(tariff, cdr_json(instant(f"{DAY}T10:00"), [(0, {"ENERGY": 10})], 60))
    assert _money(result.total_cost) == (_d("2.50"), _d(incl))


# --- §10.10 FLAT once per session; reservations; several tariffs ----------------------------


def test_flat_once_per_session_across_elements() -> None:
    """Note §3 (README quirk 6): FLAT is charged once, the first time a FLAT is active; the
    afternoon element's 2.00 is not added when the session moves into its window."""
    tariff = tariff_json(
        element(component("FLAT", "1.00"), start_time="00:00", end_time="12:00"),
        element(component("FLAT", "2.00"), start_time="12:00", end_time="00:00"),
        element(component("TIME", "0.00")),
    )
    cdr = cdr_json(instant(f"{DAY}T11:00"), [(0, {"TIME": 1}), (60, {"TIME": 1})], 120)
    result = _price(tariff, cdr)
    assert _money(result.total_fixed_cost) == (_d("1.00"), _d("1.00"))
    assert [line.category for line in result.lines if line.excl_vat].count("fixed") == 1


def test_flat_charged_when_first_active() -> None:
    """Note §3: a FLAT that becomes active only in a later period is charged once, then."""
    tariff = tariff_json(
        element(component("FLAT", "2.00"), start_time="12:00", end_time="00:00"),
        element(component("ENERGY", "0.25")),
    )
    cdr = cdr_json(
        instant(f"{DAY}T11:00"),
        [(0, {"ENERGY": 4}), (60, {"ENERGY": 4}), (120, {"ENERGY": 4})],
        180,
    )
    result = _price(tariff, cdr)
    assert rounded(result.total_fixed_cost.excl_vat) == _d("2.00")
    assert rounded(result.total_cost.excl_vat) == _d("5.00")


def test_flat_ignores_step_size() -> None:
    """Note §2: FLAT has no unit to round; a step_size on it changes nothing."""
    tariff = tariff_json(element(component("FLAT", "0.50", 300, vat=20)))
    result = _price(tariff, cdr_json(instant(f"{DAY}T10:00"), [(0, {"TIME": 1})], 60))
    assert _money(result.total_cost) == (_d("0.50"), _d("0.60"))


def test_reservation_elements_do_not_price_charging_time() -> None:
    """§11.4.6 reservation, note §4/§10.10: an element restricted to RESERVATION prices
    reservation time only; an hour of charging is not billed at its 5.00/h."""
    tariff = corpus("tandemdrive/reservation_5_euro_per_hour/tariff.json")
    cdr = cdr_json(instant("2019-03-05T10:00"), [(0, {"ENERGY": 10, "TIME": 1})], 60)
    result = _price(tariff, cdr)
    assert result.total_time_cost.excl_vat == 0
    assert result.total_reservation_cost.excl_vat == 0
    assert _money(result.total_cost) == (_d("3.00"), _d("3.35"))  # 0.50 + 10 x 0.25


def test_default_time_zone_is_utc() -> None:
    """``price(cdr, tariff)`` without a time zone evaluates restrictions in UTC."""
    tariff = _window_tariff("17:00", "20:00")
    cdr = parse_cdr(_one_hour_of("TIME", f"{DAY}T17:30"))
    assert price(cdr, parse_tariff(tariff)) == price(cdr, parse_tariff(tariff), "UTC")


# --- §10.9 local time: Europe/Berlin, including both DST changes of 2026 --------------------

BERLIN = "Europe/Berlin"
PEAK = tariff_json(
    element(component("TIME", "2.40"), start_time="17:00", end_time="20:00"),
    element(component("TIME", "1.20")),
)


@pytest.mark.parametrize(
    ("utc_start", "time_zone", "expected"),
    [
        ("2026-03-28T15:30", BERLIN, "1.20"),  # 16:30 CET
        ("2026-03-29T15:30", BERLIN, "2.40"),  # 17:30 CEST, the day the clocks went forward
        ("2026-03-29T15:30", "UTC", "1.20"),
        ("2026-10-24T15:30", BERLIN, "2.40"),  # 17:30 CEST
        ("2026-10-25T15:30", BERLIN, "1.20"),  # 16:30 CET, the day the clocks went back
        ("2026-10-25T16:30", BERLIN, "2.40"),  # 17:30 CET
    ],
)
def test_window_in_local_time_across_dst(utc_start: str, time_zone: str, expected: str) -> None:
    """§11.4.6 start_time/end_time are local (note §8): the same UTC instant is peak or not
    depending on the offset in force that day."""
    result = _price(PEAK, _one_hour_of("TIME", utc_start), time_zone)
    assert rounded(result.total_time_cost.excl_vat) == _d(expected)


def _small_hours() -> dict[str, Any]:
    return tariff_json(
        element(component("TIME", "5.00"), start_time="02:00", end_time="03:00"),
        element(component("TIME", "1.00")),
    )


def test_window_that_does_not_exist_on_spring_forward_day() -> None:
    """Note §8: on 2026-03-29 Berlin jumps from 02:00 CET to 03:00 CEST, so a 02:00-03:00
    window never opens: 00:30Z is 01:30 and 01:00Z is 03:00 local (end exclusive)."""
    cdr = cdr_json(instant("2026-03-29T00:30"), [(0, {"TIME": "0.5"}), (30, {"TIME": "0.5"})], 60)
    result = _price(_small_hours(), cdr, BERLIN)
    assert rounded(result.total_time_cost.excl_vat) == _d("1.00")
    assert rounded(result.total_time) == _d("1")


def test_window_on_the_day_before_spring_forward() -> None:
    """Control for the above: on 2026-03-28 01:00Z is 02:00 CET, inside the window."""
    cdr = cdr_json(instant("2026-03-28T00:30"), [(0, {"TIME": "0.5"}), (30, {"TIME": "0.5"})], 60)
    assert rounded(_price(_small_hours(), cdr, BERLIN).total_time_cost.excl_vat) == _d("3.00")


def test_window_that_happens_twice_on_fall_back_day() -> None:
    """Note §8: on 2026-10-25 Berlin goes from 03:00 CEST back to 02:00 CET, so 02:00-03:00
    local lasts two real hours (00:00Z-02:00Z); the session 23:30Z-02:30Z pays 5.00/h for both
    and lasts 3 h, although the wall clock moves only 2 h (01:30 to 03:30)."""
    cdr = cdr_json(
        instant("2026-10-24T23:30"),
        [(0, {"TIME": "0.5"}), (30, {"TIME": 1}), (90, {"TIME": 1}), (150, {"TIME": "0.5"})],
        180,
    )
    result = _price(_small_hours(), cdr, BERLIN)
    assert rounded(result.total_time_cost.excl_vat) == _d("11.00")
    assert rounded(result.total_time) == _d("3")


@pytest.mark.parametrize(
    ("utc_start", "time_zone", "expected"),
    [
        ("2026-03-28T23:30", BERLIN, "0.50"),  # Saturday in UTC, Sunday 00:30 CET
        ("2026-03-29T22:30", BERLIN, "0.30"),  # Sunday in UTC, Monday 00:30 CEST
        ("2026-03-29T22:30", "UTC", "0.50"),
    ],
)
def test_day_of_week_in_local_time(utc_start: str, time_zone: str, expected: str) -> None:
    """§11.4.6 day_of_week is the local weekday (note §8)."""
    tariff = tariff_json(
        element(component("ENERGY", "0.50"), day_of_week=["SUNDAY"]),
        element(component("ENERGY", "0.30")),
    )
    result = _price(tariff, _one_hour_of("ENERGY", utc_start), time_zone)
    assert rounded(result.total_energy_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize(
    ("utc_start", "expected"),
    [
        ("2026-03-28T22:59", "0.30"),  # 23:59 CET on the 28th
        ("2026-03-28T23:00", "0.50"),  # 00:00 CET on the 29th: start_date inclusive
        ("2026-03-29T21:59", "0.50"),  # 23:59 CEST on the 29th
        ("2026-03-29T22:00", "0.30"),  # 00:00 CEST on the 30th: end_date exclusive
    ],
)
def test_dates_in_local_time_on_dst_day(utc_start: str, expected: str) -> None:
    """§11.4.6 start_date/end_date are local dates; the 29th has 23 hours in Berlin."""
    tariff = tariff_json(
        element(component("ENERGY", "0.50"), start_date="2026-03-29", end_date="2026-03-30"),
        element(component("ENERGY", "0.30")),
    )
    result = _price(tariff, _one_hour_of("ENERGY", utc_start), BERLIN)
    assert rounded(result.total_energy_cost.excl_vat) == _d(expected)


@pytest.mark.parametrize("utc_start", ["2026-03-29T00:30", "2026-10-25T00:30"])
def test_duration_is_elapsed_time_across_dst(utc_start: str) -> None:
    """§11.4.6 min/max_duration count real seconds since the session start, not wall-clock
    differences: 50 min in (3000 s) is still free although the Berlin clock moved 1h50 in
    spring (or went back in autumn); the period at 3600 s pays."""
    tariff = tariff_json(
        element(component("ENERGY", "0.00"), max_duration=3600),
        element(component("ENERGY", "0.30")),
    )
    cdr = cdr_json(
        instant(utc_start),
        [(0, {"ENERGY": 2}), (50, {"ENERGY": 2}), (60, {"ENERGY": 2})],
        90,
    )
    result = _price(tariff, cdr, BERLIN)
    assert rounded(result.total_energy_cost.excl_vat) == _d("0.60")
    assert rounded(result.total_time) == _d("1.5")
