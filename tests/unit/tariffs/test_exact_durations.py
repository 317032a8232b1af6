"""Issue 11 item 16: step rounding never bills an extra step from the way a duration or an
energy share is written.

Durations travel as whole milliseconds from where they enter (OCPI JSON hours, the instants of
a planned or captured session) to the step rounding, which is an integer ceiling (OCPI 2.2.1
§11.4.3); OCPI hours that do not terminate are read to the nearest millisecond. Energy step
rounding reads the session total on a 1 mWh grid. Exact examples from the issue, the edge
conversion, and a Hypothesis property: however a session is split into periods, and however
the hours of those periods are written (down to 28-digit repeating decimals), its price is the
price of its exact durations.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeledger.domain.tariffs import (
    Cdr,
    DimensionType,
    PriceResult,
    Tariff,
    parse_cdr,
    parse_tariff,
    price,
)
from chargeledger.domain.tariffs.ocpi_json import cdr_to_json
from chargeledger.domain.tariffs.periods import planned_cdr
from chargeledger.errors import InvalidInputError
from tests.unit.tariffs.support import component, element, tariff_json

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday, 10:00 in Berlin
ENERGY_AND_IDLE_FEE = tariff_json(
    element(component("ENERGY", "0.25", 1), component("PARKING_TIME", "6.00", 60))
)
THIRTY_SIX = "0.6333333333333333333333333333"  # 38 min in hours, to 28 digits
MONEY = (
    "total_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_fixed_cost",
    "total_reservation_cost",
)
# Amounts of periods are exact to the 28-digit context; a missed or extra step is at least
# 0.01 per hour for one second (2.8e-6), far above this.
TOLERANCE = Decimal("1e-18")


def _wire(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cdr(periods: list[tuple[int, dict[str, Any]]], end_ms: int) -> Cdr:
    """An OCPI CDR from START: periods are (ms after START, {dimension: volume as text})."""
    at = [START + timedelta(milliseconds=offset) for offset, _ in periods]
    return parse_cdr(
        {
            "start_date_time": _wire(START),
            "end_date_time": _wire(START + timedelta(milliseconds=end_ms)),
            "currency": "EUR",
            "charging_periods": [
                {
                    "start_date_time": _wire(moment),
                    "dimensions": [{"type": k, "volume": v} for k, v in dimensions.items()],
                }
                for moment, (_, dimensions) in zip(at, periods, strict=True)
            ],
        }
    )


def test_a_quote_of_64_idle_minutes_bills_64_minutes() -> None:
    """The issue's quote: 60 min charging 10 kWh, then 64 min idle, under 0.25/kWh + 6.00/h
    parking per started minute: 2.50 + 6.40 = 8.90 (it said 9.00: 64 min were 1.0666…67 h
    and 3840.000…001 s rounded up to 65 min)."""
    tariff = parse_tariff(ENERGY_AND_IDLE_FEE)
    cdr = planned_cdr(
        tariff,
        START,
        kwh=Decimal(10),
        charging=timedelta(minutes=60),
        idle=timedelta(minutes=64),
        time_zone="Europe/Berlin",
    )
    result = price(cdr, tariff, "Europe/Berlin")
    assert result.total_cost.excl_vat == Decimal("8.90")
    assert result.total_parking_cost.excl_vat == Decimal("6.40")
    assert [line.category for line in result.lines] == ["energy", "parking"]


def test_two_38_minute_parking_periods_written_to_28_digits_bill_76_minutes() -> None:
    """The issue's CDR: two parking periods of 38 min as 0.6333…3 h each summed to
    4560.000…001 s and billed 77 min (10.20); they are 2,280,000 ms each: 76 min, 10.10."""
    cdr = _cdr(
        [
            (0, {"ENERGY": "10", "PARKING_TIME": THIRTY_SIX}),
            (38 * 60_000, {"PARKING_TIME": THIRTY_SIX}),
        ],
        76 * 60_000,
    )
    result = price(cdr, parse_tariff(ENERGY_AND_IDLE_FEE))
    assert result.total_cost.excl_vat == Decimal("10.10")
    assert result.total_parking_time == Decimal(76) / 60
    assert not [line for line in result.lines if "step_size" in line.explanation]


def test_energy_written_as_repeating_decimals_does_not_add_a_step() -> None:
    """0.5 kWh in three periods of 0.1666…7 kWh (28 digits) sum to 0.5000…0001 kWh; with a
    100 Wh step that billed 0.6 kWh (0.15). On the 1 mWh grid the total is 500 Wh: 0.125."""
    tariff = parse_tariff(tariff_json(element(component("ENERGY", "0.25", 100))))
    sixth = str(Decimal(1) / 6)
    assert sixth == "0.1666666666666666666666666667"
    cdr = _cdr([(i * 600_000, {"ENERGY": sixth}) for i in range(3)], 1_800_000)
    result = price(cdr, tariff)
    assert result.total_energy_cost.excl_vat.quantize(Decimal("1e-20")) == Decimal("0.125")
    assert not [line for line in result.lines if "step_size" in line.explanation]


def test_a_real_remainder_still_rounds_up() -> None:
    """Exactness is not leniency: 38 min and 1 ms of parking is 39 billed minutes."""
    cdr = _cdr(
        [(0, {"ENERGY": "10", "PARKING_TIME": str(Decimal(2_280_001) / 3_600_000)})], 2_280_001
    )
    result = price(cdr, parse_tariff(ENERGY_AND_IDLE_FEE))
    assert result.total_parking_cost.excl_vat == Decimal("3.90")
    (step,) = [line for line in result.lines if "step_size" in line.explanation]
    assert step.explanation == (
        "step_size 60: the session's parking rounded up from 2280.001 s to 2340 s, "
        "at period 1's price"
    )


@pytest.mark.parametrize(
    ("hours", "millis"),
    [
        (THIRTY_SIX, 2_280_000),
        ("0.6333333333333333333333333334", 2_280_000),
        ("0.633333", 2_279_999),  # 2,279,998.8 ms: a partner's own rounding is kept
        ("1.973", 7_102_800),
        ("0.0000001", 0),  # 0.36 ms
        ("0", 0),
    ],
)
def test_ocpi_hours_become_whole_milliseconds_at_the_edge(hours: str, millis: int) -> None:
    cdr = _cdr([(0, {"PARKING_TIME": hours})], 3_600_000)
    assert cdr.charging_periods[0].millis(DimensionType.PARKING_TIME) == millis


def test_a_cdr_written_and_read_again_keeps_every_millisecond() -> None:
    tariff = parse_tariff(ENERGY_AND_IDLE_FEE)
    cdr = planned_cdr(
        tariff,
        START + timedelta(milliseconds=123),
        kwh=Decimal("12.345"),
        charging=timedelta(minutes=47, milliseconds=7),
        idle=timedelta(minutes=13, seconds=11),
        time_zone="Europe/Berlin",
    )
    document = json.loads(json.dumps(cdr_to_json(cdr, {}), default=str), parse_float=Decimal)
    again = parse_cdr(document)
    assert again.charging_periods == cdr.charging_periods
    assert price(again, tariff) == price(cdr, tariff)


@pytest.mark.parametrize("hours", ["-0.5", "8785", "1E+999999"])
def test_impossible_durations_are_refused(hours: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        _cdr([(0, {"TIME": hours})], 60_000)
    assert caught.value.code == "invalid_tariff"
    assert caught.value.field == "charging_periods[0].dimensions[0].volume"


# --- the property ---------------------------------------------------------------------------

clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
days = st.lists(
    st.sampled_from(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]),
    min_size=1,
    max_size=7,
    unique=True,
)


@st.composite
def time_of_use_tariffs(draw: st.DrawFn) -> Tariff:
    """Time-of-use tariffs with step sizes: each element has a time window, weekdays or a
    duration bound (OCPI 2.2.1 §11.4.6), ENERGY/TIME/PARKING_TIME/FLAT components with steps
    (§11.4.3), and often an unrestricted fallback last."""
    steps = st.sampled_from([0, 1, 60, 300, 900, 1800])
    energy_steps = st.sampled_from([0, 1, 100, 500, 1000])
    prices = st.decimals(min_value=0, max_value=9, places=2)
    vats = st.none() | st.decimals(min_value=0, max_value=25, places=1)
    elements = []
    for _ in range(draw(st.integers(1, 4))):
        kinds = draw(
            st.lists(
                st.sampled_from(["ENERGY", "TIME", "PARKING_TIME", "FLAT"]),
                min_size=1,
                max_size=4,
                unique=True,
            )
        )
        parts = [
            component(k, draw(prices), draw(energy_steps if k == "ENERGY" else steps), draw(vats))
            for k in kinds
        ]
        restrictions: dict[str, Any] = {}
        if draw(st.booleans()):
            restrictions["start_time"], restrictions["end_time"] = draw(clock), draw(clock)
        if draw(st.booleans()):
            restrictions["day_of_week"] = draw(days)
        if draw(st.booleans()):
            restrictions["min_duration" if draw(st.booleans()) else "max_duration"] = draw(
                st.integers(0, 4 * 3600)
            )
        elements.append(element(*parts, **restrictions))
    if draw(st.booleans()):
        elements.append(
            element(
                component("ENERGY", draw(prices), draw(energy_steps)),
                component("TIME", draw(prices), draw(steps)),
                component("PARKING_TIME", draw(prices), draw(steps)),
            )
        )
    return parse_tariff(tariff_json(*elements))


@st.composite
def sessions(draw: st.DrawFn) -> dict[str, Any]:
    """A session on the millisecond: around the 2026 DST changes or any day in between."""
    base = draw(
        st.sampled_from(
            [
                datetime(2026, 3, 28, 22, tzinfo=UTC),
                datetime(2026, 10, 24, 22, tzinfo=UTC),
                datetime(2026, 6, 12, 14, tzinfo=UTC),
            ]
        )
    )
    return {
        "start": base + timedelta(milliseconds=draw(st.integers(0, 48 * 3_600_000))),
        "kwh": draw(st.decimals(min_value=0, max_value=80, places=3)),
        "charging": timedelta(milliseconds=draw(st.integers(1, 8 * 3_600_000))),
        "idle": timedelta(milliseconds=draw(st.integers(0, 4 * 3_600_000))),
        "time_zone": draw(st.sampled_from(["Europe/Berlin", "UTC", "America/New_York"])),
    }


def _hours_text(millis: int, digits: int, rounding: str) -> str:
    """``millis`` as OCPI hours written to ``digits`` significant digits, rounded one way."""
    with localcontext() as context:
        context.prec, context.rounding = digits, rounding
        return str(Decimal(millis) / 3_600_000)


@st.composite
def splits(draw: st.DrawFn, cdr: Cdr) -> Cdr:
    """``cdr`` with each period cut at up to three arbitrary milliseconds, its energy shared out
    on the 1 mWh grid (the pieces add up exactly), and every duration written in hours to 16-28
    digits, rounded down, up or to even: the 28-digit repeating decimals of the issue."""
    bounds = [p.start_date_time for p in cdr.charging_periods[1:]] + [cdr.end_date_time]
    origin = cdr.charging_periods[0].start_date_time
    pieces: list[tuple[int, dict[str, Any]]] = []
    for period, end in zip(cdr.charging_periods, bounds, strict=True):
        begin_ms = (period.start_date_time - origin) // timedelta(milliseconds=1)
        span = (end - period.start_date_time) // timedelta(milliseconds=1)
        cuts = sorted(draw(st.sets(st.integers(1, max(span - 1, 1)), max_size=3)) - {span})
        offsets = [0, *cuts, span]
        energy = period.volume(DimensionType.ENERGY)
        shares = _shares(energy, [draw(st.integers(0, 5)) for _ in offsets[1:]])
        kind = "TIME" if period.volume(DimensionType.TIME) is not None else "PARKING_TIME"
        for (start, stop), share in zip(itertools.pairwise(offsets), shares, strict=True):
            dimensions: dict[str, Any] = {} if energy is None else {"ENERGY": str(share)}
            digits = draw(st.integers(16, 28))
            rounding = draw(st.sampled_from([ROUND_DOWN, ROUND_UP, ROUND_HALF_EVEN]))
            dimensions[kind] = _hours_text(stop - start, digits, rounding)
            pieces.append((begin_ms + start, dimensions))
    at = [origin + timedelta(milliseconds=offset) for offset, _ in pieces]
    return parse_cdr(
        {
            "start_date_time": _wire(cdr.start_date_time),
            "end_date_time": _wire(cdr.end_date_time),
            "currency": cdr.currency,
            "charging_periods": [
                {
                    "start_date_time": _wire(moment),
                    "dimensions": [{"type": k, "volume": v} for k, v in dimensions.items()],
                }
                for moment, (_, dimensions) in zip(at, pieces, strict=True)
            ],
        }
    )


def _shares(energy: Decimal | None, weights: list[int]) -> list[Decimal]:
    """``energy`` in pieces in proportion to ``weights`` (all in the last when they are all
    0), cut from cumulative values on the 1 mWh grid, so that they add up to it exactly."""
    if energy is None:
        return [Decimal(0)] * len(weights)
    total = sum(weights)
    cumulative = [
        (energy * sum(weights[: i + 1]) / total).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
        if total
        else Decimal(0)
        for i in range(len(weights) - 1)
    ]
    return [b - a for a, b in itertools.pairwise([Decimal(0), *cumulative, energy])]


def _same_price(split: PriceResult, exact: PriceResult) -> None:
    for name in MONEY:
        for side in ("excl_vat", "incl_vat"):
            ours, wanted = getattr(getattr(split, name), side), getattr(getattr(exact, name), side)
            assert abs(ours - wanted) <= TOLERANCE, (name, side, ours, wanted)
    assert split.total_energy == exact.total_energy
    assert split.total_time == exact.total_time
    assert split.total_parking_time == exact.total_parking_time


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(time_of_use_tariffs(), sessions(), st.data())
def test_splitting_a_session_never_changes_its_price(
    tariff: Tariff, session: dict[str, Any], data: st.DataObject
) -> None:
    """The planned session is cut wherever the price can change (so each period has one
    component per dimension); cutting it further, anywhere, and writing the hours any way
    within the 28-digit context, prices every millisecond and every Wh as before: no step more,
    no step less, and the same totals."""
    exact = planned_cdr(tariff, **session)
    split = data.draw(splits(exact))
    _same_price(
        price(split, tariff, session["time_zone"]), price(exact, tariff, session["time_zone"])
    )
