"""The demo operator's prices: a flat tariff with a session fee, a time-of-use tariff, an idle
fee at fast chargers, and a dynamic tariff that follows a day-ahead price series (issue 4)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from chargeledger.domain.billing import VatRates, supply_vat
from chargeledger.domain.catalog import Site
from chargeledger.domain.tariffs import tariff_to_json
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.domain.tariffs.dynamic import WholesalePrice, dynamic_tariff
from chargeledger.money import Currency
from chargeledger.services import tariffs
from chargeledger.services.ports import Clock, UnitOfWork


def _component(kind: str, price: str, vat: Decimal, step: int = 1) -> dict[str, Any]:
    return {"type": kind, "price": Decimal(price), "vat": vat, "step_size": step}


def flat_with_session_fee(vat: Decimal) -> dict[str, Any]:
    return {
        "id": "FLAT-049",
        "currency": "EUR",
        "type": "AD_HOC_PAYMENT",
        "elements": [
            {
                "price_components": [
                    _component("ENERGY", "0.49", vat, 1),
                    _component("FLAT", "0.35", vat),
                ]
            }
        ],
    }


def time_of_use(vat: Decimal) -> dict[str, Any]:
    """Cheaper nights and weekends, a peak in the evening (local time)."""
    return {
        "id": "TOU-DE",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [_component("ENERGY", "0.59", vat)],
                "restrictions": {
                    "start_time": "17:00",
                    "end_time": "21:00",
                    "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
                },
            },
            {
                "price_components": [_component("ENERGY", "0.39", vat)],
                "restrictions": {"start_time": "22:00", "end_time": "06:00"},
            },
            {"price_components": [_component("ENERGY", "0.49", vat)]},
        ],
    }


def fast_with_idle_fee(vat: Decimal) -> dict[str, Any]:
    """DC: per kWh, and 0.10 per minute idle once the car has finished (billed per minute)."""
    return {
        "id": "DC-IDLE",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    _component("ENERGY", "0.69", vat),
                    _component("PARKING_TIME", "6.00", vat, 60),
                ]
            }
        ],
    }


def day_ahead(start: datetime, hours: int, seed: int) -> list[WholesalePrice]:
    """A plausible day-ahead curve: cheap at night, a morning and an evening peak."""
    rng = random.Random(seed)
    series = []
    for hour in range(hours):
        at = start + timedelta(hours=hour)
        shape = 90 + 60 * math.sin((at.hour - 9) / 24 * 2 * math.pi) + rng.uniform(-15, 15)
        price = Decimal(str(round(shape, 2)))
        series.append(WholesalePrice(at, at + timedelta(hours=1), price, Currency.of("EUR")))
    return series


async def seed_demo_tariffs(
    uow: UnitOfWork, clock: Clock, sites: list[Site], seed: int, rates: VatRates
) -> dict[str, str]:
    """Import the tariffs and assign one per site; returns site name → tariff id (OCPI).
    Each states the VAT due at its site (the country's standard rate today)."""
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    chosen: dict[str, str] = {}
    for index, site in enumerate(sites):
        vat = supply_vat(rates, site.address.country, site.time_zone, now, None).percent
        if site.address.country == "PT":
            document = tariff_to_json(
                dynamic_tariff(
                    day_ahead(now - timedelta(hours=27), 30, seed + index),
                    tariff_id=f"DYN-{site.address.city.upper()[:3]}",
                    factor=Decimal("1.0"),
                    margin=Decimal("0.18"),
                    floor=Decimal("0.25"),
                    cap=Decimal("0.75"),
                    time_zone=site.time_zone,
                    vat=vat,
                )
            )
        else:
            document = (time_of_use, flat_with_session_fee, fast_with_idle_fee)[index % 3](vat)
        stored = await tariffs.import_tariff(uow, clock, document)
        await tariffs.assign_tariff(uow, clock, stored.id, TariffScope.SITE, str(site.id), rates)
        chosen[site.name] = stored.tariff.id
    return chosen
