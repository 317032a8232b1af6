"""The shortcuts of ``price`` for time-of-use tariffs and for explanation texts give exactly
what the straightforward reference implementation gives.

A tariff whose charging elements read only the time of day and the weekday is priced from its
week table (``plan.WeekTable``: the first matching element of every dimension for each piece of
the local week, OCPI 2.2.1 §11.4.6), with each period's place in the week taken from its UTC
instant and the zone's offset; windows that wrap past midnight, an end_time of 00:00, zones
with DST changes and half-hour offsets, sessions longer than two days and reservation elements
beside it are all drawn. Step rounding texts are written from whole thousandths (mWh, ms;
``priced.thousandths_text``), held equal to ``domain.text.quantity_text``. Totals do not
depend on whether the lines were read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from decimal import Decimal
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from chargeledger.domain.tariffs import (
    Cdr,
    ComponentType,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
    price,
)
from chargeledger.domain.tariffs.model import DayOfWeek, ReservationRestriction
from chargeledger.domain.tariffs.plan import plan_for
from chargeledger.domain.tariffs.priced import thousandths_text
from chargeledger.domain.text import quantity_text
from tests.unit.tariffs import reference_pricing
from tests.unit.tariffs.test_fast_path import (
    LINE_FIELDS,
    SETTINGS,
    TIME_ZONES,
    TOTALS,
    cdrs,
    components,
    limits,
)

clock = st.one_of(
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    st.builds(time, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)),
)
weekdays = st.lists(st.sampled_from(list(DayOfWeek)), min_size=1, max_size=7, unique=True)
calendar = st.builds(
    Restrictions,
    start_time=st.one_of(st.none(), clock),
    end_time=st.one_of(st.none(), clock, st.just(time(0, 0))),
    day_of_week=st.one_of(st.none(), weekdays.map(tuple)),
)
reserving = st.builds(
    Restrictions,
    start_time=st.one_of(st.none(), clock),
    min_kwh=st.one_of(st.none(), st.decimals(min_value=0, max_value=40, places=1)),
    reservation=st.sampled_from(list(ReservationRestriction)),
)
elements = st.builds(
    TariffElement,
    price_components=st.lists(components, min_size=1, max_size=4).map(tuple),
    restrictions=st.one_of(st.none(), calendar, calendar, reserving),
)
time_of_use = st.builds(
    Tariff,
    id=st.just("TOU"),
    currency=st.just("EUR"),
    elements=st.lists(elements, min_size=1, max_size=5).map(tuple),
    min_price=st.one_of(st.none(), limits),
    max_price=st.one_of(st.none(), limits),
)


def _plain(value: object) -> object:
    if hasattr(value, "excl_vat"):
        return (value.excl_vat, value.incl_vat)
    return value


@SETTINGS
@given(time_of_use, cdrs(), TIME_ZONES)
def test_week_table_prices_as_the_reference(tariff: Tariff, cdr: object, time_zone: str) -> None:
    ours = price(cdr, tariff, time_zone)  # type: ignore[arg-type]
    reference = reference_pricing.price(cdr, tariff, time_zone)  # type: ignore[arg-type]
    for name in TOTALS:
        assert _plain(getattr(ours, name)) == _plain(getattr(reference, name)), name
    assert [tuple(getattr(line, f) for f in LINE_FIELDS) for line in ours.lines] == [
        tuple(getattr(line, f) for f in LINE_FIELDS) for line in reference.lines
    ]


@SETTINGS
@given(time_of_use, cdrs(), TIME_ZONES)
def test_totals_alone_equal_totals_with_lines(tariff: Tariff, cdr: object, time_zone: str) -> None:
    """Reading only the totals (an invoice run) gives what reading the lines first gives."""
    alone = price(cdr, tariff, time_zone)  # type: ignore[arg-type]
    explained = price(cdr, tariff, time_zone)  # type: ignore[arg-type]
    assert explained.lines is not None
    for name in TOTALS:
        assert getattr(alone, name) == getattr(explained, name), name
    assert alone == explained


@SETTINGS
@given(time_of_use, cdrs(), TIME_ZONES, st.randoms(use_true_random=False))
def test_periods_out_of_order_are_placed_as_the_reference_places_them(
    tariff: Tariff, cdr: Cdr, time_zone: str, random: Random
) -> None:
    """A CDR built in code need not list its periods in order (a parsed one is sorted): each
    start is still placed in its own local week, not from the first start's offset or piece."""
    periods = list(cdr.charging_periods)
    random.shuffle(periods)
    shuffled = replace(cdr, charging_periods=tuple(periods))
    ours = price(shuffled, tariff, time_zone)
    reference = reference_pricing.price(shuffled, tariff, time_zone)
    for name in TOTALS:
        assert _plain(getattr(ours, name)) == _plain(getattr(reference, name)), name
    assert [tuple(getattr(line, f) for f in LINE_FIELDS) for line in ours.lines] == [
        tuple(getattr(line, f) for f in LINE_FIELDS) for line in reference.lines
    ]


_ENERGY = (PriceComponent(ComponentType.ENERGY, Decimal("0.30"), 1),)


def _tariff(*restrictions: Restrictions | None) -> Tariff:
    return Tariff(
        id="T", currency="EUR", elements=tuple(TariffElement(_ENERGY, r) for r in restrictions)
    )


def test_only_a_time_of_use_tariff_has_a_week_table() -> None:
    """A week table where guards read time of day and weekday only; none where one reads
    more, or where nothing is restricted (the first element always applies)."""
    evening = Restrictions(start_time=time(17), end_time=time(21), day_of_week=(DayOfWeek.MONDAY,))
    week = plan_for(_tariff(evening, None)).week
    assert week is not None
    assert len(week.starts) == 7 * 3  # midnight, 17:00 and 21:00 of every day
    assert plan_for(_tariff(Restrictions(min_kwh=Decimal(10)), evening, None)).week is None
    assert plan_for(_tariff(None)).week is None


@given(st.integers(0, 10**15), st.sampled_from(["Wh", "s"]))
def test_thousandths_text_is_quantity_text(count: int, unit: str) -> None:
    """The step rounding texts read as every other quantity of the unit does."""
    assert thousandths_text(count, unit) == quantity_text(Decimal(count).scaleb(-3), unit)
