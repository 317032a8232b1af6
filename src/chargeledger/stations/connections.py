"""The life of one station connection in this process: the websocket as the link reads it,
one live connection per charge point id, and what connecting and disconnecting record.

A station that connects again while this process still holds an older connection of it (the
old socket is often half-open after a network change, or the station rebooted faster than
the old socket timed out) takes over: the old connection is closed with code 1000 and the
reason ``SUPERSEDED_REASON``, operator commands go to the new one, and the old one's end
neither marks the station disconnected nor unregisters the new link. The database enforces
the same across nodes: only the connection that connected last may record the station's
disconnection.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.services.batching import Batcher
from chargeledger.services.charging.station_status import (
    record_connections,
    record_disconnections,
)
from chargeledger.services.transactions import in_transaction
from chargeledger.stations.link import Connection
from chargeledger.stations.v16 import CentralSystem16
from chargeledger.stations.v201 import Csms201

log = logging.getLogger("chargeledger.stations")

PROTOCOLS: dict[str, type[CentralSystem16] | type[Csms201]] = {
    "ocpp2.0.1": Csms201,
    "ocpp1.6": CentralSystem16,
}
SUPERSEDED_CODE = 1000  # RFC 6455 §7.4.1 normal closure: nothing is wrong with the station
SUPERSEDED_REASON = "replaced by a newer connection of this station"
RECORD_WINDOW_S = 0.002  # how long the first record of a batch waits for others


def websocket_connection(websocket: WebSocket) -> Connection:
    """Starlette's websocket for the link. Binary frames come through as bytes (Starlette's
    ``receive_text`` would raise a KeyError on them and end the connection); the link
    answers them. The station leaving raises ``WebSocketDisconnect``."""

    async def receive() -> str | bytes:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        text = message.get("text")
        if text is not None:
            return str(text)
        data = message.get("bytes")
        return bytes(data) if data is not None else b""

    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    return Connection(receive, websocket.send_text, close)


@dataclass(eq=False)
class LiveLink:
    """One accepted connection of a station in this process."""

    connection: Connection
    connection_id: str


class LiveConnections:
    """The newest connection of every station this process holds. Connecting and
    disconnecting of one station take turns (``lock``), so a superseded connection can never
    record its end after the newer one recorded its start."""

    def __init__(self) -> None:
        self._current: dict[str, LiveLink] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._closing: set[asyncio.Task[None]] = set()

    def lock(self, charge_point_id: str) -> asyncio.Lock:
        return self._locks[charge_point_id]

    def take_over(self, charge_point_id: str, live: LiveLink) -> LiveLink | None:
        """Make ``live`` the station's connection; the one it replaces, if any."""
        previous = self._current.get(charge_point_id)
        self._current[charge_point_id] = live
        return previous

    def release(self, charge_point_id: str, live: LiveLink) -> bool:
        """Forget ``live`` if it is still the station's connection (True), else nothing."""
        if self._current.get(charge_point_id) is not live:
            return False
        del self._current[charge_point_id]
        return True

    def close_moved(self, charge_point_id: str) -> None:
        """The station has connected to another node since (issue 18): its link here is
        closed as a superseded one; its end records nothing over the newer connection."""
        live = self._current.get(charge_point_id)
        if live is not None:
            self.close_superseded(charge_point_id, live)

    def close_superseded(self, charge_point_id: str, live: LiveLink) -> None:
        """Close a replaced connection in the background: closing waits for the close
        handshake, which a half-open socket never completes, and the new connection must not
        wait for that."""

        async def close() -> None:
            try:
                await live.connection.close(SUPERSEDED_CODE, SUPERSEDED_REASON)
            except Exception:  # already closed from its side: nothing left to do
                log.debug("superseded connection was already closed", exc_info=True)
            log.info("closed a superseded connection", extra={"charge_point_id": charge_point_id})

        task = asyncio.ensure_future(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


@dataclass(eq=False)
class ConnectionRecords:
    """What connecting and disconnecting record, batched across stations
    (``services.batching``): after a restart thousands of stations connect within seconds,
    and a transaction for each (on SQLite each its own turn on the one writer) queued the
    storm behind itself. A connection still waits for its record before it reads a frame:
    its boot epoch scopes the answers its CALLs get again (``link.py``)."""

    connected: Batcher[tuple[Station, str, str], int]
    disconnected: Batcher[tuple[Station, str], bool]


_records: weakref.WeakKeyDictionary[object, ConnectionRecords] = weakref.WeakKeyDictionary()


def connection_records(runtime: Runtime) -> ConnectionRecords:
    """The connection records of ``runtime``'s database, shared by all its connections."""
    records = _records.get(runtime.uow)
    if records is None:
        uows, clock, view = runtime.uow, runtime.clock, runtime.roaming.view

        async def connected(items: Sequence[tuple[Station, str, str]]) -> list[int]:
            return await in_transaction(uows, record_connections, clock, items, view)

        async def disconnected(items: Sequence[tuple[Station, str]]) -> list[bool]:
            return await in_transaction(uows, record_disconnections, clock, items, view)

        records = _records[runtime.uow] = ConnectionRecords(
            Batcher(connected, window=RECORD_WINDOW_S),
            Batcher(disconnected, window=RECORD_WINDOW_S),
        )
    return records


async def serve_station(
    runtime: Runtime,
    connections: LiveConnections,
    websocket: WebSocket,
    station: Station,
    protocol: str,
) -> None:
    """Run an accepted connection until the station goes away."""
    cpid = station.charge_point_id
    connection = websocket_connection(websocket)
    link: Any = PROTOCOLS[protocol](cpid, connection, runtime, station)
    version = protocol.removeprefix("ocpp")
    live = LiveLink(connection, uuid.uuid4().hex)
    # One bound method object, so that unregister finds exactly what register stored.
    execute = link.execute
    async with connections.lock(cpid):
        previous = connections.take_over(cpid, live)
        runtime.bus.when_moved(connections.close_moved)  # the same one for every connection
        runtime.bus.register(cpid, execute)
        epoch = await connection_records(runtime).connected.submit(
            (station, version, live.connection_id)
        )
    link.resume(epoch)
    if previous is not None:
        connections.close_superseded(cpid, previous)
    log.info("station connected", extra={"charge_point_id": cpid, "ocpp": version})
    try:
        await link.start()
    except WebSocketDisconnect:
        pass
    finally:
        runtime.bus.unregister(cpid, execute)
        async with connections.lock(cpid):
            if connections.release(cpid, live):
                await connection_records(runtime).disconnected.submit((station, live.connection_id))
        log.info("station disconnected", extra={"charge_point_id": cpid})
