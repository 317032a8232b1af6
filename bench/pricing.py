"""Pricing benchmark: CDRs priced per second on one core by ``price(cdr, tariff)``, for typical
CDRs (3-5 periods) and long ones (50+ periods), next to two references measured in the same
run on the same CDRs:

- a straightforward baseline (first matching element per period and dimension, volume ×
  price, no step rounding, no explanation lines);
- a bare Decimal loop (one multiply-add per volume of every period at a fixed price, nothing
  else): the floor of what any Decimal pricing in Python costs, and the stable yardstick on a
  busy machine, where absolute rates move with the load but the ratio to it barely does.

``price`` computes every total and line amount eagerly but builds the explanation lines
(``PriceLine`` objects and texts) on first access, so it is measured twice: totals only, as an
invoice run reads them, and with every line and its explanation text read, as an invoice annex
or the API reads them. Every figure is the median of ``--rounds`` rounds (``--best``: the
fastest round, steadier on a busy machine, where another process only ever adds time); the
four measurements alternate within each round so that a change of load hits them alike.

Usage: python bench/pricing.py [--typical 20000] [--long 2000] [--rounds 5] [--seed 1] [--best]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs import Cdr, ChargingPeriod, DimensionType, Tariff, price
from chargeledger.domain.tariffs.model import ComponentType
from chargeledger.domain.tariffs.ocpi_json import parse_tariff
from chargeledger.domain.tariffs.restrictions import PeriodContext, applies
from chargeledger.money import Currency

ZONE = "Europe/Berlin"


def tariff() -> Tariff:
    """Time of use with a session fee, an idle fee and step sizes: a realistic tariff."""

    def component(kind: str, value: str, step: int = 1) -> dict[str, object]:
        return {"type": kind, "price": Decimal(value), "vat": Decimal(19), "step_size": step}

    return parse_tariff(
        {
            "id": "BENCH",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        component("ENERGY", "0.59", 100),
                        component("PARKING_TIME", "6.00", 60),
                    ],
                    "restrictions": {
                        "start_time": "17:00",
                        "end_time": "21:00",
                        "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
                    },
                },
                {
                    "price_components": [component("ENERGY", "0.39", 100)],
                    "restrictions": {"start_time": "22:00", "end_time": "06:00"},
                },
                {
                    "price_components": [
                        component("ENERGY", "0.49", 100),
                        component("PARKING_TIME", "6.00", 60),
                        component("FLAT", "0.35"),
                    ]
                },
            ],
        }
    )


def make_cdrs(count: int, periods: tuple[int, int], seed: int) -> list[Cdr]:
    rng = random.Random(seed)
    cdrs = []
    for _ in range(count):
        start = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(minutes=rng.randrange(7 * 24 * 60))
        moment, built = start, []
        for index in range(rng.randint(*periods)):
            minutes = rng.randint(5, 40)
            idle = index > 0 and rng.random() < 0.25
            millis = minutes * 60_000
            built.append(
                ChargingPeriod(
                    start_date_time=moment,
                    dimensions=()
                    if idle
                    else ((DimensionType.ENERGY, Decimal(rng.randint(500, 20000)) / 1000),),
                    durations=(
                        (DimensionType.PARKING_TIME if idle else DimensionType.TIME, millis),
                    ),
                )
            )
            moment += timedelta(minutes=minutes)
        cdrs.append(
            Cdr(
                start_date_time=start,
                end_date_time=moment,
                currency=Currency.of("EUR"),
                charging_periods=tuple(built),
            )
        )
    return cdrs


def baseline(cdr: Cdr, tariff: Tariff, time_zone: str) -> Decimal:
    """The straightforward way: per period and dimension, the first matching element."""
    zone = ZoneInfo(time_zone)
    first = cdr.charging_periods[0].start_date_time
    total, kwh = Decimal(0), Decimal(0)
    for period in cdr.charging_periods:
        context = PeriodContext(
            period.start_date_time.astimezone(zone),
            kwh,
            Decimal((period.start_date_time - first).total_seconds()),
            period,
        )
        for kind, dimension in (
            (ComponentType.ENERGY, DimensionType.ENERGY),
            (ComponentType.TIME, DimensionType.TIME),
            (ComponentType.PARKING_TIME, DimensionType.PARKING_TIME),
        ):
            for element in tariff.elements:
                component = element.component(kind)
                if component is not None and applies(element.restrictions, context):
                    total += (period.volume(dimension) or 0) * component.price
                    break
        kwh += period.volume(DimensionType.ENERGY) or 0
    return total


_BARE_PRICE = Decimal("0.49")
_BARE_PRICE_PER_MS = Decimal("6.00") / 3_600_000


def bare_decimal_loop(cdr: Cdr) -> Decimal:
    """The floor: one Decimal multiply-add per volume of every period, nothing else."""
    total = Decimal(0)
    for period in cdr.charging_periods:
        for _, volume in period.dimensions:
            total += volume * _BARE_PRICE
        for _, millis in period.durations:
            total += millis * _BARE_PRICE_PER_MS
    return total


def with_lines(cdr: Cdr, tariff: Tariff) -> int:
    """Price, then read every line's explanation, as an invoice annex does."""
    return sum(len(line.explanation) for line in price(cdr, tariff, ZONE).lines)


def cpu_rate(cdrs: Sequence[Cdr], work: Callable[[Cdr], object]) -> float:
    started = time.process_time()
    for cdr in cdrs:
        work(cdr)
    return len(cdrs) / (time.process_time() - started)


def measure(
    cdrs: Sequence[Cdr], the_tariff: Tariff, rounds: int, best: bool = False
) -> dict[str, float]:
    """The median (``best``: the highest) rate of each measurement over ``rounds``
    alternating rounds."""
    works: dict[str, Callable[[Cdr], object]] = {
        "price(): totals": lambda c: price(c, the_tariff, ZONE),
        "price(): totals and lines": lambda c: with_lines(c, the_tariff),
        "straightforward baseline": lambda c: baseline(c, the_tariff, ZONE),
        "bare Decimal loop": bare_decimal_loop,
    }
    rates: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, work in works.items():
            rates[name].append(cpu_rate(cdrs, work))
    pick = max if best else statistics.median
    return {name: pick(values) for name, values in rates.items()}


def main(args: argparse.Namespace) -> None:
    the_tariff = tariff()
    for label, count, periods in (
        ("typical (3-5 periods)", args.typical, (3, 5)),
        ("long (50-80 periods)", args.long, (50, 80)),
    ):
        cdrs = make_cdrs(count, periods, args.seed)
        statistic = "best" if args.best else "median"
        print(f"{label}: {count} CDRs, {statistic} of {args.rounds} rounds (CPU time)")
        medians = measure(cdrs, the_tariff, args.rounds, args.best)
        bare, base = medians["bare Decimal loop"], medians["straightforward baseline"]
        for name, per_second in medians.items():
            print(
                f"  {name:27} {per_second:>10,.0f} CDRs/s"
                f"  {per_second / bare:6.3f} × bare loop  {per_second / base:5.2f} × baseline"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--typical", type=int, default=20000)
    parser.add_argument("--long", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--best", action="store_true", help="the fastest round, not the median")
    main(parser.parse_args())
