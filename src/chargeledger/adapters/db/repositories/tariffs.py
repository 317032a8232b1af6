"""The repository of tariff versions (kept as their OCPI JSON) and their assignments."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import TableRepository
from chargeledger.adapters.db.repositories.upsert import upsert
from chargeledger.adapters.db.tables import tariff_assignments, tariffs
from chargeledger.domain.tariffs import parse_tariff, tariff_to_json
from chargeledger.domain.tariffs.assignment import StoredTariff, TariffAssignment, TariffScope
from chargeledger.services.paging import Page


class SqlTariffRepository(TableRepository[StoredTariff]):
    table = tariffs

    def to_row(self, entity: StoredTariff) -> dict[str, Any]:
        return {
            "id": entity.id,
            "ocpi_id": entity.tariff.id,
            "currency": entity.tariff.currency.code,
            "valid_from": entity.tariff.start_date_time,
            "valid_until": entity.tariff.end_date_time,
            # Numbers are kept as their exact decimal text; parse_tariff reads them back.
            "document": json.dumps(tariff_to_json(entity.tariff), default=str),
            "created_at": entity.created_at,
        }

    def from_row(self, row: RowMapping) -> StoredTariff:
        document = json.loads(row["document"], parse_float=Decimal)
        return StoredTariff(
            id=row["id"], tariff=parse_tariff(document), created_at=row["created_at"]
        )

    async def list(
        self,
        *,
        limit: int,
        offset: int,
        search: str | None = None,
        ocpi_id: str | None = None,
    ) -> Page[StoredTariff]:
        query = select(tariffs).order_by(tariffs.c.ocpi_id, tariffs.c.created_at, tariffs.c.id)
        if ocpi_id is not None:
            query = query.where(tariffs.c.ocpi_id == ocpi_id)
        if search:
            needle = search.lower()
            query = query.where(
                or_(
                    func.lower(tariffs.c.ocpi_id).contains(needle, autoescape=True),
                    func.lower(tariffs.c.currency).contains(needle, autoescape=True),
                )
            )
        return await self._page(query, limit, offset)

    async def assignments_of(self, tariff_id: uuid.UUID) -> Sequence[TariffAssignment]:
        result = await self._connection.execute(
            select(tariff_assignments)
            .where(tariff_assignments.c.tariff_id == tariff_id)
            .order_by(tariff_assignments.c.scope, tariff_assignments.c.scope_id)
        )
        return [
            TariffAssignment(
                TariffScope(row["scope"]),
                row["scope_id"],
                uuid.UUID(str(row["tariff_id"])),
                row["assigned_at"],
            )
            for row in result.mappings()
        ]

    async def assign(
        self, scope: TariffScope, scope_id: str, tariff_id: uuid.UUID, at: Any
    ) -> None:
        await upsert(
            self._connection,
            tariff_assignments,
            {"scope": scope.value, "scope_id": scope_id, "tariff_id": tariff_id, "assigned_at": at},
            key=("scope", "scope_id"),
        )

    async def assigned(self, scope: TariffScope, scope_id: str) -> uuid.UUID | None:
        result = await self._connection.execute(
            select(tariff_assignments.c.tariff_id).where(
                tariff_assignments.c.scope == scope.value,
                tariff_assignments.c.scope_id == scope_id,
            )
        )
        value = result.scalar_one_or_none()
        return None if value is None else uuid.UUID(str(value))
