"""What a tariff is applied to: OCPI 2.2.1 CDR charging periods (§10.4.6-10.4.8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.tariffs.model import Tariff
from chargeledger.domain.tariffs.quantities import hours_of
from chargeledger.money import Currency


class DimensionType(StrEnum):
    """OCPI 2.2.1 §10.4.7 CdrDimensionType. Volumes: kWh, hours, A, kW, %."""

    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


DURATIONS = frozenset(
    {DimensionType.TIME, DimensionType.PARKING_TIME, DimensionType.RESERVATION_TIME}
)


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    """A period in which nothing that can change the price changes; it ends where the next
    one starts (the last one at the CDR's end). Volumes are authoritative, not time gaps.

    ``dimensions`` hold the quantities in OCPI units (kWh, A, kW, %); ``durations`` hold TIME,
    PARKING_TIME and RESERVATION_TIME as whole milliseconds, never as hours, so that they add
    up exactly and step rounding cannot bill noise (see :mod:`.quantities`)."""

    start_date_time: datetime
    dimensions: tuple[tuple[DimensionType, Decimal], ...]
    tariff_id: str | None = None
    durations: tuple[tuple[DimensionType, int], ...] = ()

    def __post_init__(self) -> None:
        if any(kind in DURATIONS for kind, _ in self.dimensions) or any(
            kind not in DURATIONS or not isinstance(ms, int) for kind, ms in self.durations
        ):
            raise ValueError("durations go in whole milliseconds into `durations`")

    def volume(self, kind: DimensionType) -> Decimal | None:
        """The first volume of ``kind`` in OCPI units (durations in hours)."""
        if kind in DURATIONS:
            millis = self.millis(kind)
            return None if millis is None else hours_of(millis)
        return next((v for k, v in self.dimensions if k is kind), None)

    def millis(self, kind: DimensionType) -> int | None:
        """The first duration of ``kind`` in milliseconds."""
        return next((ms for k, ms in self.durations if k is kind), None)


@dataclass(frozen=True, slots=True)
class Cdr:
    start_date_time: datetime
    end_date_time: datetime
    currency: Currency
    charging_periods: tuple[ChargingPeriod, ...]
    tariffs: tuple[Tariff, ...] = ()
    country: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))

    def tariff_at_start(self) -> Tariff | None:
        """OCPI 2.2.1 §11.3: the tariff valid when the session started, first one listed."""
        begin = (
            self.charging_periods[0].start_date_time
            if self.charging_periods
            else (self.start_date_time)
        )
        return next((t for t in self.tariffs if t.valid_at(begin)), None)
