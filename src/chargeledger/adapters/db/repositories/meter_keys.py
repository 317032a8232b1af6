"""The meter key registry in SQL (``meter_tables.meter_keys``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.meter_tables import meter_keys
from chargeledger.domain.meter_keys import KeySource, MeterKey


class SqlMeterKeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, key: MeterKey) -> None:
        await self._connection.execute(
            insert(meter_keys).values(
                id=key.id,
                station_id=key.station_id,
                evse_id=key.evse_id,
                meter_serial=key.meter_serial,
                public_key=key.public_key,
                curve=key.curve,
                source=key.source.value,
                valid_from=key.valid_from,
                retired_at=key.retired_at,
                created_at=key.created_at,
                note=key.note,
            )
        )

    async def retire(self, key_id: uuid.UUID, retired_at: datetime) -> None:
        await self._connection.execute(
            update(meter_keys).where(meter_keys.c.id == key_id).values(retired_at=retired_at)
        )

    async def get(self, key_id: uuid.UUID) -> MeterKey | None:
        found = await self._select(meter_keys.c.id == key_id)
        return found[0] if found else None

    async def of_station(self, station_id: uuid.UUID) -> list[MeterKey]:
        return await self._select(meter_keys.c.station_id == station_id)

    async def of_meter(self, station_id: uuid.UUID, meter_serial: str) -> list[MeterKey]:
        return await self._select(
            meter_keys.c.station_id == station_id, meter_keys.c.meter_serial == meter_serial
        )

    async def _select(self, *where: Any) -> list[MeterKey]:
        query = (
            select(meter_keys)
            .where(*where)
            .order_by(meter_keys.c.valid_from, meter_keys.c.created_at, meter_keys.c.id)
        )
        rows = (await self._connection.execute(query)).mappings().all()
        return [_key(row) for row in rows]


def _key(row: Any) -> MeterKey:
    return MeterKey(
        id=row["id"],
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        meter_serial=row["meter_serial"],
        public_key=row["public_key"],
        curve=row["curve"],
        source=KeySource(row["source"]),
        valid_from=row["valid_from"],
        retired_at=row["retired_at"],
        created_at=row["created_at"],
        note=row["note"],
    )
