"""Bodies of tariff versions (OCPI 2.2.1 Tariff objects) and their assignments."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import Input
from chargeledger.domain.tariffs import PriceLine, tariff_to_json
from chargeledger.domain.tariffs.assignment import StoredTariff, TariffAssignment, TariffScope


class TariffOut(BaseModel):
    id: uuid.UUID
    ocpi_id: str
    currency: str
    created_at: datetime
    tariff: dict[str, Any]  # the OCPI 2.2.1 Tariff object as imported

    @classmethod
    def of(cls, stored: StoredTariff) -> TariffOut:
        return cls(
            id=stored.id,
            ocpi_id=stored.tariff.id,
            currency=stored.tariff.currency,
            created_at=stored.created_at,
            tariff=tariff_to_json(stored.tariff),
        )


class AssignmentIn(Input):
    """Where the tariff applies: ``scope_id`` is the site, station or account id,
    ``STATION_ID:EVSE:CONNECTOR`` for a connector, a site id or nothing for ``ad_hoc``, and
    nothing for the operator's default."""

    scope: TariffScope
    scope_id: str | None = Field(None, max_length=120)


class AssignmentOut(BaseModel):
    tariff_id: uuid.UUID
    scope: TariffScope
    scope_id: str
    assigned_at: datetime

    @classmethod
    def of(cls, a: TariffAssignment) -> AssignmentOut:
        return cls(
            tariff_id=a.tariff_id, scope=a.scope, scope_id=a.scope_id, assigned_at=a.assigned_at
        )


class PreviewLineOut(BaseModel):
    category: str
    volume: Decimal
    unit: str
    unit_price: Decimal
    vat: Decimal | None
    excl_vat: Decimal
    incl_vat: Decimal
    explanation: str

    @classmethod
    def of(cls, line: PriceLine) -> PreviewLineOut:
        return cls(
            category=line.category,
            volume=line.volume,
            unit=line.unit,
            unit_price=line.unit_price,
            vat=line.vat,
            excl_vat=line.excl_vat,
            incl_vat=line.incl_vat,
            explanation=line.explanation,
        )


class PreviewOut(BaseModel):
    """The exact (unrounded) result of ``price()``: the tariff's own amounts, no VAT of a
    place of supply added."""

    tariff_id: uuid.UUID
    ocpi_tariff_id: str
    time_zone: str
    currency: str
    total_excl_vat: Decimal
    total_incl_vat: Decimal
    lines: list[PreviewLineOut]
