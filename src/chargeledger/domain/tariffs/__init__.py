"""OCPI 2.2.1 tariffs and the one pricing function ``price(cdr, tariff)`` (DESIGN §2)."""

from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import (
    ComponentType,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
)
from chargeledger.domain.tariffs.ocpi_json import parse_cdr, parse_tariff, tariff_to_json
from chargeledger.domain.tariffs.priced import Amount, PriceLine, PriceResult
from chargeledger.domain.tariffs.pricing import price

__all__ = [
    "Amount",
    "Cdr",
    "ChargingPeriod",
    "ComponentType",
    "DimensionType",
    "PriceComponent",
    "PriceLine",
    "PriceResult",
    "Restrictions",
    "Tariff",
    "TariffElement",
    "parse_cdr",
    "parse_tariff",
    "price",
    "tariff_to_json",
]
