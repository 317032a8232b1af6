"""A tariff as a driver reads it on the app or the station screen (EU AFIR art. 5: the ad hoc
price per kWh, per minute and any session or idle fee shown before the session starts)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from chargeledger.domain.tariffs.model import (
    ComponentType,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
)

_UNITS = {
    ComponentType.ENERGY: "per kWh",
    ComponentType.TIME: "per hour charging",
    ComponentType.PARKING_TIME: "per hour idle (parking)",
    ComponentType.FLAT: "per session",
}


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP)} {currency}"


# How a price states the VAT due: (percent, label), e.g. (19, "incl. 19% VAT"); None: as the
# tariff's own components state it.
Vat = tuple[Decimal, str] | None


def _vat_text(c: PriceComponent, currency: str, vat: Vat) -> str:
    if vat is None:
        if c.vat is None:
            return ""
        return f" ({_money(c.incl_vat(c.price), currency)} incl. {c.vat.normalize():f}% VAT)"
    percent, label = vat
    if not percent:
        return f" ({label})"
    return f" ({_money(c.price * (1 + percent / 100), currency)} {label})"


def _component(c: PriceComponent, currency: str, vat_due: Vat) -> str:
    vat = _vat_text(c, currency, vat_due)
    step = ""
    if c.step_size > 1 and c.type in (ComponentType.TIME, ComponentType.PARKING_TIME):
        step = f", billed per {c.step_size // 60 or c.step_size} " + (
            "min" if c.step_size >= 60 else "s"
        )
    elif c.step_size > 1 and c.type is ComponentType.ENERGY:
        step = f", billed per {c.step_size} Wh"
    return f"{_money(c.price, currency)} {_UNITS[c.type]}{vat}{step}"


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
            f"from {r.min_kwh or 0} kWh"
            + (f" up to {r.max_kwh} kWh" if r.max_kwh is not None else "")
        )
    if r.min_duration is not None:
        parts.append(f"after {r.min_duration // 60} min")
    if r.max_duration is not None:
        parts.append(f"during the first {r.max_duration // 60} min")
    if r.min_power is not None or r.max_power is not None:
        parts.append(f"at {r.min_power or 0}-{r.max_power or '∞'} kW")
    if r.min_current is not None or r.max_current is not None:
        parts.append(f"at {r.min_current or 0}-{r.max_current or '∞'} A")
    if r.reservation is not None:
        parts.append(
            "for an expired reservation"
            if r.reservation.value.endswith("EXPIRES")
            else "while reserved"
        )
    return "; ".join(parts)


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
        lines.append(f"minimum per session {_money(tariff.min_price.excl_vat, tariff.currency)}")
    if tariff.max_price is not None:
        lines.append(f"maximum per session {_money(tariff.max_price.excl_vat, tariff.currency)}")
    return lines
