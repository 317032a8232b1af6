"""Prices that follow the grid: an OCPI tariff derived from a day-ahead wholesale series.

Each wholesale slot becomes one element restricted to its local date and time of day, with an
ENERGY price of wholesale × factor + margin, kept between a floor and a cap (issue 4). A last,
unrestricted element charges the cap, so a session outside the published series is never
free. Sessions are priced by the version they started under, like any tariff.

Limitation: on the autumn daylight-saving day the repeated local hour cannot be told apart by
OCPI restrictions (they are local wall-clock times); the first of the two slots applies.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.model import (
    ComponentType,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
    TariffType,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

PRICE_QUANTUM = Decimal("0.0001")  # OCPI numbers carry four decimals


@dataclass(frozen=True, slots=True)
class WholesalePrice:
    start: datetime
    end: datetime
    price_per_mwh: Decimal
    currency: Currency

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))


def parse_wholesale_csv(text: str) -> list[WholesalePrice]:
    """CSV with a header ``start,end,price_per_mwh,currency`` (ISO 8601 instants with an
    offset). Errors name the line."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"start", "end", "price_per_mwh", "currency"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise InvalidInputError(
            "the CSV needs the columns start,end,price_per_mwh,currency",
            code="invalid_price_series",
        )
    series = []
    for number, row in enumerate(reader, start=2):
        try:
            start = datetime.fromisoformat(row["start"].strip().replace("Z", "+00:00"))
            end = datetime.fromisoformat(row["end"].strip().replace("Z", "+00:00"))
            price = Decimal(row["price_per_mwh"].strip())
            currency = Currency.of(row["currency"].strip())
        except (ValueError, InvalidOperation, InvalidInputError) as exc:
            raise InvalidInputError(
                f"line {number}: {exc}", code="invalid_price_series", field=f"line {number}"
            ) from exc
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise InvalidInputError(
                f"line {number}: start and end need offsets and end must follow start",
                code="invalid_price_series",
                field=f"line {number}",
            )
        series.append(WholesalePrice(start, end, price, currency))
    if not series:
        raise InvalidInputError("the price series is empty", code="invalid_price_series")
    if len({p.currency for p in series}) != 1:
        raise InvalidInputError("the series mixes currencies", code="invalid_price_series")
    return sorted(series, key=lambda p: p.start)


def retail_price(
    wholesale_per_mwh: Decimal, *, factor: Decimal, margin: Decimal, floor: Decimal, cap: Decimal
) -> Decimal:
    """Per kWh: wholesale (per MWh) / 1000 × factor + margin, between floor and cap."""
    raw = wholesale_per_mwh / 1000 * factor + margin
    return min(max(raw, floor), cap).quantize(PRICE_QUANTUM, ROUND_HALF_UP)


def dynamic_tariff(
    series: list[WholesalePrice],
    *,
    tariff_id: str,
    factor: Decimal,
    margin: Decimal,
    floor: Decimal,
    cap: Decimal,
    time_zone: str,
    vat: Decimal | None = None,
) -> Tariff:
    if floor > cap:
        raise InvalidInputError("the floor is above the cap", code="invalid_price_bounds")
    zone = ZoneInfo(time_zone)
    elements = []
    for slot in series:
        local_start = slot.start.astimezone(zone)
        local_end = slot.end.astimezone(zone)
        ends_next_day = local_end.date() > local_start.date()
        price = retail_price(slot.price_per_mwh, factor=factor, margin=margin, floor=floor, cap=cap)
        elements.append(
            TariffElement(
                price_components=(PriceComponent(ComponentType.ENERGY, price, 1, vat),),
                restrictions=Restrictions(
                    start_date=local_start.date(),
                    end_date=local_start.date() + timedelta(days=1),
                    start_time=local_start.time().replace(second=0, microsecond=0),
                    end_time=local_end.time().replace(second=0, microsecond=0)
                    if not ends_next_day
                    else local_end.time().replace(hour=0, minute=0, second=0, microsecond=0),
                ),
            )
        )
    elements.append(
        TariffElement(
            price_components=(
                PriceComponent(ComponentType.ENERGY, cap.quantize(PRICE_QUANTUM), 1, vat),
            )
        )
    )
    return Tariff(
        id=tariff_id,
        currency=series[0].currency,
        type=TariffType.REGULAR,
        elements=tuple(elements),
        start_date_time=series[0].start,
        end_date_time=series[-1].end,
    )
