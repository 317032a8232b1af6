"""Storage of reservations (``domain.reservations``): the port the use cases in
``reservations.py`` and the session capture need; ``adapters/db/repositories/reservations.py``
implements it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from chargeledger.domain.reservations import Reservation


class ReservationRepository(Protocol):
    async def add(self, reservation: Reservation) -> None:
        """``DuplicateError`` when the station already has a reservation of that number."""
        ...

    async def update(self, reservation: Reservation) -> None:
        """Write its ending (status, ``ended_at``, the session that used it), or the new
        expiry of an active one a roaming partner replaced."""
        ...

    async def get(self, reservation_id: uuid.UUID) -> Reservation | None: ...

    async def active_on_evse(self, station_id: uuid.UUID, evse_id: int) -> list[Reservation]:
        """The reservations of the EVSE still marked active (some may have run out since)."""
        ...

    async def active_of_account(self, account_id: uuid.UUID) -> list[Reservation]: ...

    async def by_external_ref(self, account_id: uuid.UUID, ref: str) -> Reservation | None:
        """The account's reservation a roaming partner calls ``ref``."""
        ...

    async def of_account(self, account_id: uuid.UUID, limit: int) -> list[Reservation]:
        """The account's reservations, newest first."""
        ...

    async def used_by(self, session_id: uuid.UUID) -> Reservation | None: ...

    async def run_out(self, now: datetime, limit: int) -> list[Reservation]:
        """Reservations still marked active whose expiry has passed, oldest first."""
        ...
