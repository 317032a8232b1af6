"""Reservations in SQL (``reservation_tables.reservations``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import TableRepository
from chargeledger.adapters.db.reservation_tables import reservations
from chargeledger.domain.reservations import Reservation, ReservationStatus

_ACTIVE = ReservationStatus.ACTIVE.value


class SqlReservationRepository(TableRepository[Reservation]):
    table = reservations

    def to_row(self, entity: Reservation) -> dict[str, Any]:
        return {
            "id": entity.id,
            "number": entity.number,
            "station_id": entity.station_id,
            "evse_id": entity.evse_id,
            "account_id": entity.account_id,
            "token_id": entity.token_id,
            "id_tag": entity.id_tag,
            "created_at": entity.created_at,
            "expires_at": entity.expires_at,
            "status": entity.status.value,
            "ended_at": entity.ended_at,
            "session_id": entity.session_id,
            "external_ref": entity.external_ref,
        }

    def from_row(self, row: RowMapping) -> Reservation:
        return Reservation(
            id=row["id"],
            number=row["number"],
            station_id=row["station_id"],
            evse_id=row["evse_id"],
            account_id=row["account_id"],
            token_id=row["token_id"],
            id_tag=row["id_tag"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            status=ReservationStatus(row["status"]),
            ended_at=row["ended_at"],
            session_id=row["session_id"],
            external_ref=row["external_ref"],
        )

    async def active_on_evse(self, station_id: uuid.UUID, evse_id: int) -> list[Reservation]:
        c = reservations.c
        return await self._all(
            select(reservations)
            .where(c.station_id == station_id, c.evse_id == evse_id, c.status == _ACTIVE)
            .order_by(c.created_at, c.id)
        )

    async def by_external_ref(self, account_id: uuid.UUID, ref: str) -> Reservation | None:
        c = reservations.c
        found = await self._all(
            select(reservations).where(c.account_id == account_id, c.external_ref == ref)
        )
        return found[0] if found else None

    async def active_of_account(self, account_id: uuid.UUID) -> list[Reservation]:
        c = reservations.c
        return await self._all(
            select(reservations)
            .where(c.account_id == account_id, c.status == _ACTIVE)
            .order_by(c.created_at, c.id)
        )

    async def of_account(self, account_id: uuid.UUID, limit: int) -> list[Reservation]:
        c = reservations.c
        return await self._all(
            select(reservations)
            .where(c.account_id == account_id)
            .order_by(c.created_at.desc(), c.id)
            .limit(limit)
        )

    async def used_by(self, session_id: uuid.UUID) -> Reservation | None:
        return await self._one(select(reservations).where(reservations.c.session_id == session_id))

    async def run_out(self, now: datetime, limit: int) -> list[Reservation]:
        c = reservations.c
        return await self._all(
            select(reservations)
            .where(c.status == _ACTIVE, c.expires_at <= now)
            .order_by(c.expires_at, c.id)
            .limit(limit)
        )

    async def _all(self, query: Select[Any]) -> list[Reservation]:
        result = await self._connection.execute(query)
        return [self.from_row(row) for row in result.mappings()]
