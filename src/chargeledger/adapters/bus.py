"""The in-process command bus: operator commands reach the station's live connection.

DESIGN §4: on one node (SQLite) the connection lives in this process; on PostgreSQL the same
port carries commands between nodes (``adapters/db/cluster_bus.py``, LISTEN/NOTIFY).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chargeledger.domain.station_link import CommandResult, StationCommand
from chargeledger.errors import ConflictError

CommandHandler = Callable[[StationCommand], Awaitable[CommandResult]]


class InProcessCommandBus:
    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}
        self._moved: Callable[[str], None] | None = None

    def when_moved(self, close: Callable[[str], None]) -> None:
        """``close(charge_point_id)`` is called when a station this process holds has
        connected to another node since (never, with one process)."""
        self._moved = close

    def register(self, charge_point_id: str, handler: CommandHandler) -> None:
        self._handlers[charge_point_id] = handler

    def unregister(self, charge_point_id: str, handler: CommandHandler) -> None:
        if self._handlers.get(charge_point_id) is handler:
            del self._handlers[charge_point_id]

    def is_connected(self, charge_point_id: str) -> bool:
        return charge_point_id in self._handlers

    async def start(self) -> None:
        """Nothing to join: one process is the whole of it."""

    async def aclose(self) -> None:
        """Nothing to leave."""

    async def send(
        self, charge_point_id: str, command: StationCommand, wait_seconds: float = 30.0
    ) -> CommandResult:
        handler = self._handlers.get(charge_point_id)
        if handler is None:
            raise ConflictError(
                f"station {charge_point_id} is not connected", code="station_offline"
            )
        try:
            return await asyncio.wait_for(handler(command), wait_seconds)
        except TimeoutError as exc:
            raise ConflictError(
                f"station {charge_point_id} did not answer in {wait_seconds:g} s",
                code="station_timeout",
            ) from exc
