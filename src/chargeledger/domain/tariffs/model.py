"""The OCPI 2.2.1 Tariff model (OCPI 2.2.1 §11.3-11.4), as frozen dataclasses.

Prices are per unit, excluding VAT. ``vat`` absent means no VAT applies (incl = excl), which is
not the same as ``vat: 0`` written out; both are kept apart so a tariff is written back as read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chargeledger.money import Currency


class ComponentType(StrEnum):
    """OCPI 2.2.1 §11.4.2 TariffDimensionType."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestriction(StrEnum):
    """OCPI 2.2.1 §11.4.5: the element prices a reservation, or an expired one."""

    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TariffType(StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """OCPI 2.2.1 §11.4.3. ``step_size``: Wh for ENERGY, seconds for TIME and PARKING_TIME."""

    type: ComponentType
    price: Decimal
    step_size: int
    vat: Decimal | None = None

    def incl_vat(self, amount: Decimal) -> Decimal:
        return amount if self.vat is None else amount * (1 + self.vat / 100)


@dataclass(frozen=True, slots=True)
class Restrictions:
    """OCPI 2.2.1 §11.4.6 TariffRestrictions; times and dates are local to the location."""

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: tuple[DayOfWeek, ...] | None = None
    reservation: ReservationRestriction | None = None


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None = None

    def component(self, kind: ComponentType) -> PriceComponent | None:
        return next((c for c in self.price_components if c.type is kind), None)


@dataclass(frozen=True, slots=True)
class DisplayText:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class PriceLimit:
    """OCPI 2.2.1 §16.7 Price: excl_vat required, incl_vat optional."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Tariff:
    """OCPI 2.2.1 §11.3.1. Fields we do not interpret (energy_mix) are kept as read."""

    id: str
    currency: Currency
    elements: tuple[TariffElement, ...]
    country_code: str | None = None
    party_id: str | None = None
    type: TariffType | None = None
    tariff_alt_text: tuple[DisplayText, ...] = ()
    tariff_alt_url: str | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    energy_mix: Any = None
    last_updated: datetime | None = None
    present: frozenset[str] = field(default=frozenset(), compare=False)
    # The pricing plan compiled from this tariff (``plan.plan_for``), set once on first use:
    # derived data, not part of the OCPI object, so left out of __init__, equality and repr.
    # Typed ``object`` because the plan module builds on this one.
    compiled_plan: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))

    def valid_at(self, instant: datetime) -> bool:
        """OCPI 2.2.1 §11.3.1: valid from start_date_time (inclusive) until end_date_time."""
        if self.start_date_time is not None and instant < self.start_date_time:
            return False
        return self.end_date_time is None or instant < self.end_date_time
