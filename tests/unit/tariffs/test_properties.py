"""Properties of ``price`` over random tariffs and CDRs (Hypothesis), from issue 4: totals equal
the sum of their lines, incl >= excl, re-pricing is deterministic, caps hold.

Random tariffs have 1-4 elements with ENERGY/TIME/PARKING_TIME/FLAT components (OCPI 2.2.1
§11.4.3; prices 0-5, step sizes from 0 to 5000, vat absent or 0-25%) and optional time, kWh,
duration, power and weekday restrictions (§11.4.6); random CDRs have 1-6 consecutive periods
with non-negative volumes (§10.4). Durations are exact milliseconds, but the cost of a TIME or
PARKING_TIME period is price × ms / 3,600,000, which does not always terminate, so sums taken in
a different order may differ in the 28th significant digit: equalities allow 1e-18.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeledger.domain.tariffs import PriceResult, parse_cdr, parse_tariff, price
from tests.unit.tariffs.support import component, element, ocpi_datetime, tariff_json

TOLERANCE = Decimal("1e-18")
CATEGORIES = {
    "energy": "total_energy_cost",
    "time": "total_time_cost",
    "parking": "total_parking_cost",
    "fixed": "total_fixed_cost",
    "reservation": "total_reservation_cost",
}
KINDS = ("ENERGY", "TIME", "PARKING_TIME", "FLAT")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

prices = st.decimals(min_value=0, max_value=5, places=2)
vats = st.none() | st.decimals(min_value=0, max_value=25, places=1)
steps = st.sampled_from([0, 1, 60, 300, 900, 1000, 1800, 5000])
clock = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45])
)
days = st.lists(
    st.sampled_from(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]),
    min_size=1,
    max_size=7,
    unique=True,
)
time_zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])


@st.composite
def restrictions(draw: st.DrawFn) -> dict[str, Any]:
    """Each restriction present with probability 1/4, so that elements often apply."""

    def some() -> bool:
        return draw(st.integers(0, 3)) == 0

    doc: dict[str, Any] = {}
    if some():
        doc["start_time"], doc["end_time"] = draw(clock), draw(clock)
    if some():
        doc["min_kwh"] = draw(st.decimals(min_value=0, max_value=30, places=1))
    if some():
        doc["max_kwh"] = draw(st.decimals(min_value=0, max_value=60, places=1))
    if some():
        doc["min_duration"] = draw(st.integers(0, 7200))
    if some():
        doc["max_duration"] = draw(st.integers(0, 14400))
    if some():
        doc["max_power"] = draw(st.decimals(min_value=1, max_value=150, places=1))
    if some():
        doc["day_of_week"] = draw(days)
    return doc


@st.composite
def elements(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4, unique=True))
    components = [component(k, draw(prices), draw(steps), draw(vats)) for k in kinds]
    return element(*components, **draw(restrictions()))


@st.composite
def limits(draw: st.DrawFn) -> dict[str, Any]:
    """min_price <= max_price on excl and on incl; incl >= excl on each."""
    money = st.decimals(min_value=0, max_value=10, places=2)
    min_excl = draw(money)
    max_excl = min_excl + draw(money)
    min_incl = min_excl + draw(money)
    max_incl = max(max_excl, min_incl) + draw(money)
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["min_price"] = {"excl_vat": min_excl, "incl_vat": min_incl}
    if draw(st.booleans()) or not doc:
        doc["max_price"] = {"excl_vat": max_excl, "incl_vat": max_incl}
    return doc


@st.composite
def tariffs(draw: st.DrawFn, with_limits: bool = False) -> dict[str, Any]:
    extra = draw(limits()) if with_limits else {}
    return tariff_json(*draw(st.lists(elements(), min_size=1, max_size=4)), **extra)


@st.composite
def cdrs(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(
        st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31))
    ).replace(second=0, microsecond=0, tzinfo=UTC)
    moment, periods = start, []
    for _ in range(draw(st.integers(1, 6))):
        dimensions = []
        if draw(st.booleans()):
            dimensions.append(("ENERGY", draw(st.decimals(min_value=0, max_value=50, places=3))))
        if draw(st.booleans()):
            dimensions.append(("TIME", draw(st.decimals(min_value=0, max_value=2, places=4))))
        if draw(st.booleans()):
            volume = draw(st.decimals(min_value=0, max_value=2, places=4))
            dimensions.append(("PARKING_TIME", volume))
        if draw(st.booleans()):
            power = draw(st.decimals(min_value=0, max_value=150, places=1))
            dimensions += [("MIN_POWER", power), ("MAX_POWER", power)]
        periods.append(
            {
                "start_date_time": ocpi_datetime(moment),
                "dimensions": [{"type": k, "volume": v} for k, v in dimensions],
            }
        )
        moment += timedelta(seconds=draw(st.integers(60, 7200)))
    return {
        "start_date_time": ocpi_datetime(start),
        "end_date_time": ocpi_datetime(moment),
        "currency": "EUR",
        "tariffs": [],
        "charging_periods": periods,
    }


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE


def _sum(values: Any) -> Decimal:
    return sum(values, Decimal(0))


def _priced(tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str) -> PriceResult:
    return price(parse_cdr(cdr), parse_tariff(tariff), time_zone)


@SETTINGS
@given(tariffs(), cdrs(), time_zones)
def test_total_is_the_sum_of_the_categories(
    tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str
) -> None:
    """§10.3.1 total_cost: without min/max price it is the sum of the five cost totals."""
    result = _priced(tariff, cdr, time_zone)
    for side in ("excl_vat", "incl_vat"):
        parts = _sum(getattr(getattr(result, name), side) for name in CATEGORIES.values())
        assert _close(getattr(result.total_cost, side), parts)


@SETTINGS
@given(st.booleans().flatmap(lambda limited: tariffs(with_limits=limited)), cdrs(), time_zones)
def test_lines_add_up_to_their_category(
    tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str
) -> None:
    """Issue 4: the lines explain every amount: per category they add up to its total, and all
    lines (min/max adjustments included) to total_cost."""
    result = _priced(tariff, cdr, time_zone)
    assert {line.category for line in result.lines} <= {*CATEGORIES, "min_price", "max_price"}
    for category, name in CATEGORIES.items():
        lines = [line for line in result.lines if line.category == category]
        for side in ("excl_vat", "incl_vat"):
            total = getattr(getattr(result, name), side)
            assert _close(_sum(getattr(line, side) for line in lines), total), category
    for side in ("excl_vat", "incl_vat"):
        lines_total = _sum(getattr(line, side) for line in result.lines)
        assert _close(lines_total, getattr(result.total_cost, side))


@SETTINGS
@given(st.booleans().flatmap(lambda limited: tariffs(with_limits=limited)), cdrs(), time_zones)
def test_incl_vat_at_least_excl_vat(
    tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str
) -> None:
    """§11.4.3 vat >= 0 and prices >= 0: every total and every priced line has incl >= excl >=
    0 (min/max price keep it, as their incl bounds are >= their excl bounds here)."""
    result = _priced(tariff, cdr, time_zone)
    for name in ("total_cost", *CATEGORIES.values()):
        amount = getattr(result, name)
        assert amount.incl_vat >= amount.excl_vat >= 0, name
    for line in result.lines:
        if line.category in CATEGORIES:
            assert line.incl_vat >= line.excl_vat >= 0, line


@SETTINGS
@given(st.booleans().flatmap(lambda limited: tariffs(with_limits=limited)), cdrs(), time_zones)
def test_pricing_is_deterministic(
    tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str
) -> None:
    """Issue 4: pure and deterministic: pricing twice (and from freshly parsed input) gives
    identical results, lines and explanations included."""
    parsed_cdr, parsed_tariff = parse_cdr(cdr), parse_tariff(tariff)
    first = price(parsed_cdr, parsed_tariff, time_zone)
    assert price(parsed_cdr, parsed_tariff, time_zone) == first
    assert _priced(tariff, cdr, time_zone) == first
    assert first.ocpi_totals() == _priced(tariff, cdr, time_zone).ocpi_totals()


@SETTINGS
@given(tariffs(with_limits=True), cdrs(), time_zones)
def test_min_and_max_price_clamp(
    tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str
) -> None:
    """§11.3.1 min_price/max_price, note §6: the total stays within both, excl and incl
    independently, and equals the category sum clamped."""
    result = _priced(tariff, cdr, time_zone)
    for side in ("excl_vat", "incl_vat"):
        total = getattr(result.total_cost, side)
        parts = _sum(getattr(getattr(result, name), side) for name in CATEGORIES.values())
        low = tariff.get("min_price", {}).get(side)
        high = tariff.get("max_price", {}).get(side)
        wanted = parts
        if low is not None:
            assert total >= low
            wanted = max(wanted, low)
        if high is not None:
            assert total <= high
            wanted = min(wanted, high)
        assert _close(total, wanted)


@SETTINGS
@given(tariffs(), cdrs(), time_zones)
def test_quantities_are_raw_sums(
    tariff: dict[str, Any], cdr: dict[str, Any], time_zone: str
) -> None:
    """Corpus README "What to compare": total_energy and total_parking_time are the raw sums of
    the volumes (not billed amounts); total_time runs from the first period's start to the
    CDR's end."""
    result = _priced(tariff, cdr, time_zone)

    def volumes(kind: str) -> Decimal:
        return _sum(
            d["volume"]
            for p in cdr["charging_periods"]
            for d in p["dimensions"]
            if d["type"] == kind
        )

    assert result.total_energy == volumes("ENERGY")
    assert result.total_parking_time == volumes("PARKING_TIME")
    first = datetime.fromisoformat(cdr["charging_periods"][0]["start_date_time"])
    end = datetime.fromisoformat(cdr["end_date_time"])
    assert _close(result.total_time, Decimal((end - first).total_seconds()) / 3600)
