"""Storage of the meter key registry (``domain.meter_keys``): the port the use cases in
``meter_keys.py`` need and ``adapters/db/repositories/meter_keys.py`` implements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from chargeledger.domain.meter_keys import MeterKey


class MeterKeyRepository(Protocol):
    async def add(self, key: MeterKey) -> None: ...

    async def retire(self, key_id: uuid.UUID, retired_at: datetime) -> None:
        """The one change ever made to a stored key: the moment it stopped being in force."""
        ...

    async def get(self, key_id: uuid.UUID) -> MeterKey | None: ...

    async def of_station(self, station_id: uuid.UUID) -> list[MeterKey]:
        """Every key of the station's meters, current and retired, oldest first."""
        ...

    async def of_meter(self, station_id: uuid.UUID, meter_serial: str) -> list[MeterKey]: ...
