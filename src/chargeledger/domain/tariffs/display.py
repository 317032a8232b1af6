"""A tariff as a driver reads it on the app or the station screen (EU AFIR art. 5: the ad hoc
price per kWh, per minute and any session or idle fee shown before the session starts).

Numbers read as everywhere else (:mod:`chargeledger.domain.text`): a price per unit as the tariff
states it (``0.595 EUR per kWh``, never rounded to ``0.60``), caps in the currency's minor
units, quantities in plain decimals (``from 20 kWh``), durations and steps in whole minutes or
else in seconds (a 90-second step is ``billed per 90 s``, not ``per 1 min``).
"""

from __future__ import annotations

from decimal import Decimal

from chargeledger.domain.tariffs.model import (
    ComponentType,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
)
from chargeledger.domain.text import (
    UNIT_DECIMALS,
    money_text,
    percent_text,
    plain_number,
    quantity_text,
    unit_price_text,
)

_UNITS = {
    ComponentType.ENERGY: "per kWh",
    ComponentType.TIME: "per hour charging",
    ComponentType.PARKING_TIME: "per hour idle (parking)",
    ComponentType.FLAT: "per session",
}


def _duration(seconds: int) -> str:
    """Whole minutes as minutes, anything else in seconds: ``30 min``, ``90 s``."""
    return f"{seconds // 60} min" if seconds % 60 == 0 and seconds else f"{seconds} s"


# How a price states the VAT due: (percent, label), e.g. (19, "incl. 19% VAT"); None: as the
# tariff's own components state it.
Vat = tuple[Decimal, str] | None


def _vat_text(c: PriceComponent, currency: str, vat: Vat) -> str:
    if vat is None:
        if c.vat is None:
            return ""
        incl = unit_price_text(c.incl_vat(c.price), currency)
        return f" ({incl} incl. {percent_text(c.vat)}% VAT)"
    percent, label = vat
    if not percent:
        return f" ({label})"
    return f" ({unit_price_text(c.price * (1 + percent / 100), currency)} {label})"


def _component(c: PriceComponent, currency: str, vat_due: Vat) -> str:
    vat = _vat_text(c, currency, vat_due)
    step = ""
    if c.step_size > 1 and c.type in (ComponentType.TIME, ComponentType.PARKING_TIME):
        step = f", billed per {_duration(c.step_size)}"
    elif c.step_size > 1 and c.type is ComponentType.ENERGY:
        step = f", billed per {quantity_text(Decimal(c.step_size), 'Wh')}"
    return f"{unit_price_text(c.price, currency)} {_UNITS[c.type]}{vat}{step}"


def _conditions(r: Restrictions | None) -> str:
    if r is None:
        return ""
    parts = []
    if r.start_time or r.end_time:
        start = r.start_time.strftime("%H:%M") if r.start_time else "00:00"
        end = r.end_time.strftime("%H:%M") if r.end_time else "24:00"
        parts.append(f"{start}-{'24:00' if end == '00:00' else end}")
    if r.day_of_week:
        parts.append(", ".join(d.value.title()[:3] for d in r.day_of_week))
    if r.start_date or r.end_date:
        parts.append(f"from {r.start_date or '…'} until before {r.end_date or '…'}")
    if r.min_kwh is not None or r.max_kwh is not None:
        parts.append(
            f"from {quantity_text(r.min_kwh or 0, 'kWh')}"
            + (f" up to {quantity_text(r.max_kwh, 'kWh')}" if r.max_kwh is not None else "")
        )
    if r.min_duration is not None:
        parts.append(f"after {_duration(r.min_duration)}")
    if r.max_duration is not None:
        parts.append(f"during the first {_duration(r.max_duration)}")
    if r.min_power is not None or r.max_power is not None:
        parts.append(f"at {_band(r.min_power, r.max_power, 'kW')}")
    if r.min_current is not None or r.max_current is not None:
        parts.append(f"at {_band(r.min_current, r.max_current, 'A')}")
    if r.reservation is not None:
        parts.append(
            "for an expired reservation"
            if r.reservation.value.endswith("EXPIRES")
            else "while reserved"
        )
    return "; ".join(parts)


def _band(low: Decimal | None, high: Decimal | None, unit: str) -> str:
    top = "∞" if high is None else plain_number(high, UNIT_DECIMALS[unit])
    return f"{plain_number(low or 0, UNIT_DECIMALS[unit])}-{top} {unit}"


def _element_lines(element: TariffElement, currency: str, vat: Vat) -> list[str]:
    when = _conditions(element.restrictions)
    prefix = f"{when}: " if when else ""
    return [prefix + _component(c, currency, vat) for c in element.price_components]


def price_display(
    tariff: Tariff, vat_percent: Decimal | None = None, vat_label: str = ""
) -> list[str]:
    """One line per price a driver can meet, in the tariff's order (the first match wins),
    then the session caps. ``vat_percent`` is the VAT due where and for whom the price is
    shown (the place of supply, or 0 under reverse charge, named by ``vat_label``): the gross
    shown is then the gross billed, whatever VAT the tariff's components state."""
    vat = None if vat_percent is None else (vat_percent, vat_label)
    lines = [line for e in tariff.elements for line in _element_lines(e, tariff.currency, vat)]
    if tariff.min_price is not None:
        lines.append(
            f"minimum per session {money_text(tariff.min_price.excl_vat, tariff.currency)}"
        )
    if tariff.max_price is not None:
        lines.append(
            f"maximum per session {money_text(tariff.max_price.excl_vat, tariff.currency)}"
        )
    return lines
