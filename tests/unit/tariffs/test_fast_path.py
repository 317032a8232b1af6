"""The compiled engine prices exactly as the straightforward reference implementation.

``price`` compiles each tariff once (``domain/tariffs/plan.py``), reads each period's
dimensions in one pass, converts local time by wall-clock arithmetic when no UTC offset change
lies within the CDR, and builds its lines lazily. Each of those is a chance to drift from
OCPI 2.2.1 §11, so random tariffs with every restriction kind (time and date windows incl.
midnight wrap, weekdays, kWh, duration, current, power, reservation and expired reservation;
§11.4.5-11.4.6), min/max price, and random CDRs (reservation time, plain and min/max current and
power, repeated dimensions, durations in milliseconds, sessions across DST changes and longer
than two days) are priced
by both, and totals and lines (texts included) must be identical, not merely close.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeledger.domain.tariffs import (
    Cdr,
    ChargingPeriod,
    ComponentType,
    DimensionType,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
    price,
)
from chargeledger.domain.tariffs.model import DayOfWeek, PriceLimit, ReservationRestriction
from tests.unit.tariffs import reference_pricing

T = TypeVar("T")
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOTALS = (
    "tariff_id",
    "currency",
    "total_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_fixed_cost",
    "total_reservation_cost",
    "total_energy",
    "total_time",
    "total_parking_time",
)
LINE_FIELDS = (
    "category",
    "excl_vat",
    "incl_vat",
    "explanation",
    "volume",
    "unit",
    "unit_price",
    "vat",
    "period_index",
    "element_index",
)
# Zones with DST changes on different dates and one with a half-hour offset.
TIME_ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Berlin",
        "Europe/Lisbon",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
    ]
)
# Around the 2026 DST changes in Europe (29 March, 25 October) and the US (8 March, 1 November).
STARTS = st.sampled_from(
    [
        datetime(2026, 3, 28, 20, tzinfo=UTC),
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 3, 7, 23, tzinfo=UTC),
        datetime(2026, 10, 31, 23, tzinfo=UTC),
        datetime(2026, 4, 4, 14, tzinfo=UTC),
        datetime(2026, 11, 2, 6, tzinfo=UTC),
    ]
)


def _maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """Present one time in three, so that elements often apply."""
    return st.one_of(st.none(), st.none(), strategy)


clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
day = st.dates(min_value=date(2026, 3, 1), max_value=date(2026, 11, 30))
small = st.decimals(min_value=0, max_value=40, places=1)
weekdays = st.lists(st.sampled_from(list(DayOfWeek)), min_size=1, max_size=7, unique=True)

restrictions = st.builds(
    Restrictions,
    start_time=_maybe(clock),
    end_time=_maybe(clock),
    start_date=_maybe(day),
    end_date=_maybe(day),
    min_kwh=_maybe(small),
    max_kwh=_maybe(small),
    min_current=_maybe(small),
    max_current=_maybe(small),
    min_power=_maybe(small),
    max_power=_maybe(small),
    min_duration=_maybe(st.integers(0, 14400)),
    max_duration=_maybe(st.integers(0, 28800)),
    day_of_week=_maybe(weekdays.map(tuple)),
    reservation=_maybe(st.sampled_from(list(ReservationRestriction))),
)
components = st.builds(
    PriceComponent,
    type=st.sampled_from(list(ComponentType)),
    price=st.decimals(min_value=0, max_value=5, places=2),
    step_size=st.sampled_from([0, 1, 60, 300, 900, 1000, 5000]),
    vat=st.one_of(st.none(), st.decimals(min_value=0, max_value=25, places=1)),
)
elements = st.builds(
    TariffElement,
    price_components=st.lists(components, min_size=1, max_size=4).map(tuple),
    restrictions=st.one_of(st.none(), restrictions),
)
limits = st.builds(
    PriceLimit,
    excl_vat=st.decimals(min_value=0, max_value=20, places=2),
    incl_vat=st.one_of(st.none(), st.decimals(min_value=0, max_value=25, places=2)),
)
tariffs = st.builds(
    Tariff,
    id=st.just("T"),
    currency=st.just("EUR"),
    elements=st.lists(elements, min_size=1, max_size=5).map(tuple),
    min_price=st.one_of(st.none(), limits),
    max_price=st.one_of(st.none(), limits),
)
dimension = st.tuples(
    st.sampled_from(
        [
            DimensionType.ENERGY,
            DimensionType.CURRENT,
            DimensionType.MIN_CURRENT,
            DimensionType.MAX_CURRENT,
            DimensionType.POWER,
            DimensionType.MIN_POWER,
            DimensionType.MAX_POWER,
            DimensionType.STATE_OF_CHARGE,
        ]
    ),
    st.decimals(min_value=0, max_value=50, places=3),
)
# Durations in whole milliseconds (issue 11 item 16): any ms up to 50 h, or whole minutes.
duration = st.tuples(
    st.sampled_from(
        [DimensionType.TIME, DimensionType.PARKING_TIME, DimensionType.RESERVATION_TIME]
    ),
    st.one_of(st.integers(0, 50 * 3_600_000), st.integers(0, 3000).map(lambda m: m * 60_000)),
)


@st.composite
def cdrs(draw: st.DrawFn) -> Cdr:
    start = draw(STARTS) + timedelta(minutes=draw(st.integers(0, 24 * 60)))
    moment, periods = start, []
    for _ in range(draw(st.integers(1, 8))):
        dimensions = tuple(draw(st.lists(dimension, max_size=4)))
        durations = tuple(draw(st.lists(duration, max_size=3)))
        periods.append(
            ChargingPeriod(start_date_time=moment, dimensions=dimensions, durations=durations)
        )
        # Mostly minutes to hours, sometimes a day: CDRs that outlast the 48-hour shortcut.
        moment += timedelta(seconds=draw(st.sampled_from([60, 900, 3600, 7200, 86400])))
    return Cdr(
        start_date_time=start, end_date_time=moment, currency="EUR", charging_periods=tuple(periods)
    )


def _plain(value: object) -> object:
    """An amount as (excl, incl): the reference has its own Amount class."""
    if hasattr(value, "excl_vat"):
        return (value.excl_vat, value.incl_vat)
    return value


@SETTINGS
@given(tariffs, cdrs(), TIME_ZONES)
def test_compiled_engine_matches_the_reference(tariff: Tariff, cdr: Cdr, time_zone: str) -> None:
    ours = price(cdr, tariff, time_zone)
    reference = reference_pricing.price(cdr, tariff, time_zone)
    for name in TOTALS:
        assert _plain(getattr(ours, name)) == _plain(getattr(reference, name)), name
    assert [tuple(getattr(line, f) for f in LINE_FIELDS) for line in ours.lines] == [
        tuple(getattr(line, f) for f in LINE_FIELDS) for line in reference.lines
    ]


_CATEGORY_TOTALS = {
    "energy": "total_energy_cost",
    "time": "total_time_cost",
    "parking": "total_parking_cost",
    "fixed": "total_fixed_cost",
    "reservation": "total_reservation_cost",
}


@SETTINGS
@given(tariffs, cdrs(), TIME_ZONES)
def test_totals_are_the_sums_of_the_lines(tariff: Tariff, cdr: Cdr, time_zone: str) -> None:
    """``price`` sums each category as it walks the periods, without the lines; each total
    must still be exactly its lines summed in order (DESIGN §9: totals = sum of components),
    and the same whether or not the lines were read first."""
    alone = price(cdr, tariff, time_zone)
    totals = {name: _plain(getattr(alone, name)) for name in TOTALS}
    explained = price(cdr, tariff, time_zone)
    lines = explained.lines
    for category, name in _CATEGORY_TOTALS.items():
        excl = incl = Decimal(0)
        for line in lines:
            if line.category == category:
                excl += line.excl_vat
                incl += line.incl_vat
        assert totals[name] == (excl, incl), name
    assert totals == {name: _plain(getattr(explained, name)) for name in TOTALS}
    assert alone.lines == lines


def test_local_time_across_a_dst_change_follows_the_zone() -> None:
    """A session over the night of 25 October 2026 in Berlin (UTC+2 → UTC+1): a 22:00-06:00
    element must price the period that starts at 05:30 local (04:30 UTC) and not the one at
    06:30 local (05:30 UTC), although wall-clock arithmetic from the start would say 06:30 and
    07:30."""
    night = TariffElement(
        (PriceComponent(ComponentType.ENERGY, Decimal("0.10"), 1),),
        Restrictions(start_time=time(22), end_time=time(6)),
    )
    day_rate = TariffElement((PriceComponent(ComponentType.ENERGY, Decimal("0.50"), 1),))
    tariff = Tariff(id="NIGHT", currency="EUR", elements=(night, day_rate))
    start = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # 23:00 CEST
    periods = tuple(
        ChargingPeriod(start + timedelta(hours=h), ((DimensionType.ENERGY, Decimal(1)),))
        for h in (0, 7.5, 8.5)
    )
    cdr = Cdr(start, start + timedelta(hours=9), "EUR", periods)
    result = price(cdr, tariff, "Europe/Berlin")
    assert [line.unit_price for line in result.lines] == [
        Decimal("0.10"),
        Decimal("0.10"),
        Decimal("0.50"),
    ]
