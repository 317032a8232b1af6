"""The ports of a station's link: what the OCPP edge keeps of each station (state, connectors,
stored answers of the exactly-once rule, the call log, boot epochs, the live connection), and
the bus that carries an operator's command to the process holding the station's connection."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime
from typing import Protocol

from chargeledger.domain.station_link import (
    CommandResult,
    ConnectorState,
    LoggedCall,
    StationCommand,
    StationState,
    StoredReply,
)


class StationLinkRepository(Protocol):
    async def save_state(self, state: StationState) -> None: ...

    async def state(self, station_id: uuid.UUID) -> StationState | None: ...

    async def save_connector(self, state: ConnectorState) -> None: ...

    async def connectors(self, station_id: uuid.UUID) -> list[ConnectorState]: ...

    async def states_of(self, station_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, StationState]:
        """:meth:`state` of each of ``station_ids`` that has one, in one read (a whole
        network's list, not one query per station)."""
        ...

    async def connectors_of(
        self, station_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[ConnectorState]]:
        """:meth:`connectors` of each of ``station_ids`` that has any, each in that order."""
        ...

    async def stored_reply(
        self, charge_point_id: str, boot_epoch: int, message_id: str
    ) -> StoredReply | None: ...

    async def store_reply(
        self,
        charge_point_id: str,
        boot_epoch: int,
        message_id: str,
        reply: StoredReply,
        at: datetime,
    ) -> None: ...

    async def stored_replies(
        self, keys: Collection[tuple[str, int, str]]
    ) -> dict[tuple[str, int, str], StoredReply]:
        """:meth:`stored_reply` of each ``(charge point id, boot epoch, message id)`` in
        ``keys`` that has one, in one statement (a group of CALLs)."""
        ...

    async def store_replies(
        self, replies: Sequence[tuple[tuple[str, int, str], StoredReply]], at: datetime
    ) -> None:
        """:meth:`store_reply` of a group of CALLs, in one batch."""
        ...

    async def logged_calls(
        self, charge_point_id: str, received_from: datetime, received_until: datetime, limit: int
    ) -> list[LoggedCall]:
        """The CALLs of ``charge_point_id`` received in ``[received_from, received_until]``
        that the log still keeps, oldest first, at most ``limit``."""
        ...

    async def forget_replies(self, received_before: datetime) -> int: ...

    async def reject_frame(
        self, charge_point_id: str, frame: str, error_code: str, description: str, at: datetime
    ) -> None: ...

    async def boot_epoch(self, station_id: uuid.UUID) -> int: ...

    async def start_boot_epoch(self, station_id: uuid.UUID) -> int: ...

    async def record_connections(
        self, connections: Sequence[tuple[uuid.UUID, str, str]], at: datetime
    ) -> dict[uuid.UUID, int]:
        """Each ``(station id, OCPP version, connection id)`` is connected over that
        connection since ``at``, as :meth:`save_state` and :meth:`claim_connection` would
        record it, for many stations in one batch; their boot epochs."""
        ...

    async def record_boot(
        self, station_id: uuid.UUID, version: str, firmware: str | None, at: datetime
    ) -> int:
        """The station booted: connected, ``version``, ``firmware`` (its earlier one kept
        when None), booted and seen at ``at``; a new boot epoch, returned (as
        :meth:`save_state` then :meth:`start_boot_epoch`, in one statement)."""
        ...

    async def claim_connection(self, station_id: uuid.UUID, connection_id: str) -> None: ...

    async def mark_disconnected(
        self, station_id: uuid.UUID, connection_id: str, at: datetime
    ) -> bool: ...


class CommandBus(Protocol):
    """Carries operator commands to whichever process holds the station's connection."""

    def register(
        self, charge_point_id: str, handler: Callable[[StationCommand], Awaitable[CommandResult]]
    ) -> None: ...

    def unregister(
        self, charge_point_id: str, handler: Callable[[StationCommand], Awaitable[CommandResult]]
    ) -> None: ...

    def is_connected(self, charge_point_id: str) -> bool: ...

    def when_moved(self, close: Callable[[str], None]) -> None:
        """Have ``close(charge_point_id)`` called when a station this process holds has
        connected to another node since: one live link per station across the cluster."""

    async def send(
        self, charge_point_id: str, command: StationCommand, wait_seconds: float = 30.0
    ) -> CommandResult: ...

    async def start(self) -> None:
        """Join the other nodes (a serving process's lifespan; before it, this process's
        stations only)."""

    async def aclose(self) -> None: ...
