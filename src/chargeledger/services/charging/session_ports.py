"""The port of charging sessions and their meter data (split from ``services/ports.py``).

The OCPP edge keeps open sessions in memory between messages; the database stays the truth
through the version every update raises (``update_if_unchanged``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.charging import Measurand, MeterSample, Session, StateChange
from chargeledger.domain.station_link import (
    SessionCursor,
    SessionFilter,
    SignedMeterValue,
    TransactionEvent,
)
from chargeledger.services.paging import Page


class SessionRepository(Protocol):
    """Sessions with their meter data; ``add`` raises DuplicateError on a transaction ref the
    station used before."""

    async def add(self, entity: Session) -> None: ...

    async def get(self, entity_id: uuid.UUID) -> Session | None: ...

    async def update(self, entity: Session) -> None:
        """Store ``entity`` and raise the stored version, whatever it was."""
        ...

    async def update_if_unchanged(self, entity: Session) -> Session | None:
        """Store ``entity`` only while the row is at ``entity.version``: the session as
        stored (at its new version), or None when another writer changed it meanwhile."""
        ...

    def defer_updates(self) -> None:
        """Let ``update_if_unchanged`` queue its updates for one batch and answer as if
        written; a changed row is then found when the batch is written, and raises
        ``SessionsChangedError`` (the unit of work must be rolled back). A no-op where the
        database cannot count the rows of a batch's statements."""
        ...

    async def delete(self, entity_id: uuid.UUID) -> None: ...

    async def count(self) -> int: ...

    async def get_by_ref(self, station_id: uuid.UUID, transaction_ref: str) -> Session | None: ...

    async def find_started(
        self,
        station_id: uuid.UUID,
        evse_id: int,
        started_at: datetime,
        id_tag: str | None,
        meter_start_wh: Decimal,
    ) -> Session | None: ...

    async def open_on_evse(self, station_id: uuid.UUID, evse_id: int) -> Session | None: ...

    async def next_transaction_number(self, station_id: uuid.UUID, at: datetime) -> int: ...

    async def search(
        self,
        criteria: SessionFilter,
        *,
        limit: int,
        offset: int = 0,
        after: SessionCursor | None = None,
    ) -> Page[Session]:
        """Newest first (the id breaking ties); ``after`` starts past that session."""
        ...

    async def stale(self, idle_since: datetime, limit: int) -> list[Session]: ...

    async def changed_of_account(
        self,
        account_id: uuid.UUID,
        changed_from: datetime | None,
        changed_before: datetime | None,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[Session], int]:
        """A page of the account's sessions whose last change (start, latest reading or end)
        is in the window (``changed_before`` exclusive), oldest start first, and how many
        there are in all (a roaming partner's sessions, OCPI 2.2.1 §9.2.1)."""
        ...

    async def add_samples(self, session_id: uuid.UUID, samples: Sequence[MeterSample]) -> int: ...

    async def samples(
        self, session_id: uuid.UUID, measurands: Sequence[Measurand] | None = None
    ) -> list[MeterSample]: ...

    async def add_state_change(self, session_id: uuid.UUID, change: StateChange) -> None: ...

    def queue_samples(self, session_id: uuid.UUID, samples: Sequence[MeterSample]) -> None:
        """``add_samples`` written in one batch with the other CALLs' when the unit of work
        commits (or opens a savepoint, or meter data is read): the hot path of meter values."""
        ...

    def queue_state_change(self, session_id: uuid.UUID, change: StateChange) -> None:
        """``add_state_change``, written like ``queue_samples``."""
        ...

    async def state_changes(self, session_id: uuid.UUID) -> list[StateChange]: ...

    async def add_transaction_event(
        self, session_id: uuid.UUID, event: TransactionEvent
    ) -> bool: ...

    async def transaction_events(self, session_id: uuid.UUID) -> list[TransactionEvent]: ...

    async def add_signed_value(self, session_id: uuid.UUID, value: SignedMeterValue) -> None: ...

    async def signed_values(self, session_id: uuid.UUID) -> list[SignedMeterValue]: ...

    async def signed_values_of(
        self, session_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[SignedMeterValue]]:
        """The signed values of each of ``session_ids`` that has any, each session's in the
        order of :meth:`signed_values` (a document's sessions at once, not one query each)."""
        ...
