"""The command bus of N nodes on one PostgreSQL (issue 18): a command for a station reaches
the node that holds its websocket, through PostgreSQL's LISTEN/NOTIFY, with its answer or a
timeout back to the caller.

Why LISTEN/NOTIFY and not NATS: every node already has the database, and a command is a few
hundred bytes a few times a minute; a broker would be one more service to run, secure and
watch for the same few messages. (NOTIFY carries at most 8,000 bytes; a command is far less.)

- **Presence.** A node holding a station's websocket has its row in ``station_presence``
  (``cluster_tables.py``), written when the station connects and removed when it goes (only
  by the node it names: a station that moved on keeps the newer node's row). Each change is
  announced on the cluster's presence channel, so every node knows which stations are
  connected anywhere (``is_connected``) without a query.
- **Liveness.** A node says it is alive every ``HEARTBEAT_S`` seconds (``cluster_nodes``),
  with the database's clock; a node not seen for ``DEAD_AFTER_S`` seconds is removed with its
  stations' rows by the next node that looks (a node killed with SIGKILL says nothing).
- **A command.** Held here: the link's handler runs, as on one node. Held elsewhere: it is sent
  on that node's channel with a request id and this node's name; that node runs its handler
  and sends the result (or the error's code and message) back on this node's channel. No
  answer within the wait: ``station_timeout``; no node holds the station: ``station_offline``.

Before ``start`` (the command line, tests without the app's lifespan) the bus is the
in-process one: what this process holds, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import socket
import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url

from chargeledger.adapters.bus import CommandHandler, InProcessCommandBus
from chargeledger.adapters.db.engine import normalise_url
from chargeledger.domain.station_link import CommandKind, CommandResult, ResetType, StationCommand
from chargeledger.errors import ChargeledgerError, ConflictError

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]

log = logging.getLogger(__name__)
HEARTBEAT_S = 5.0  # a node says it is alive this often
DEAD_AFTER_S = 30.0  # and is taken for dead when not seen for this long
PRESENCE_BATCH = 1000  # presence changes written in one statement
ANNOUNCED = 50  # stations per presence notification: ids of 64 bytes and node names fit


def command_payload(command: StationCommand) -> dict[str, Any]:
    """``command`` as JSON values (instants in ISO 8601, enums by value)."""
    values = dataclasses.asdict(command)
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = value.isoformat()
        elif isinstance(value, Enum):
            values[name] = value.value
    return values


def command_of(values: dict[str, Any]) -> StationCommand:
    found = dict(values)
    found["kind"] = CommandKind(found["kind"])
    if found.get("reset_type") is not None:
        found["reset_type"] = ResetType(found["reset_type"])
    if found.get("expires_at") is not None:
        found["expires_at"] = datetime.fromisoformat(found["expires_at"])
    return StationCommand(**found)


class PostgresCommandBus(InProcessCommandBus):
    """The in-process bus, joined to the other nodes' once started."""

    def __init__(self, url: str, schema: str | None = None, node: str | None = None) -> None:
        super().__init__()
        self.node = node or f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"
        self._dsn = make_url(normalise_url(url)).set(drivername="postgresql")
        self._schema = schema or ""
        self._elsewhere: dict[str, str] = {}  # station -> the node that holds it
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._listener: asyncpg.Connection | None = None
        self._worker: asyncpg.Connection | None = None
        self._turn = asyncio.Lock()  # one statement at a time on the worker connection
        # ("up" | "down" | "check", station), in the order they happened
        self._changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def channel(self, name: str) -> str:
        """A LISTEN channel of this cluster (channels are the server's, not a schema's)."""
        return "cl_" + hashlib.sha256(f"{self._schema}/{name}".encode()).hexdigest()[:24]

    # --- the CommandBus port ---------------------------------------------------------------

    def register(self, charge_point_id: str, handler: CommandHandler) -> None:
        super().register(charge_point_id, handler)
        self._changes.put_nowait(("up", charge_point_id))

    def unregister(self, charge_point_id: str, handler: CommandHandler) -> None:
        if self._handlers.get(charge_point_id) is handler:
            super().unregister(charge_point_id, handler)
            self._changes.put_nowait(("down", charge_point_id))

    def is_connected(self, charge_point_id: str) -> bool:
        return super().is_connected(charge_point_id) or charge_point_id in self._elsewhere

    async def send(
        self, charge_point_id: str, command: StationCommand, wait_seconds: float = 30.0
    ) -> CommandResult:
        if self._worker is None or super().is_connected(charge_point_id):
            return await super().send(charge_point_id, command, wait_seconds)
        node = await self._holder(charge_point_id)
        if node is None or node == self.node:
            raise ConflictError(
                f"station {charge_point_id} is not connected", code="station_offline"
            )
        request = uuid.uuid4().hex
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[request] = answer
        message = {
            "type": "command",
            "request": request,
            "reply_to": self.node,
            "station": charge_point_id,
            "command": command_payload(command),
            "wait": wait_seconds,
        }
        try:
            await self._notify(self.channel(node), message)
            reply = await asyncio.wait_for(answer, wait_seconds + 1)
        except TimeoutError as exc:
            raise ConflictError(
                f"station {charge_point_id} did not answer in {wait_seconds:g} s",
                code="station_timeout",
            ) from exc
        finally:
            self._replies.pop(request, None)
        if "error" in reply:
            raise ConflictError(reply["error"]["message"], code=reply["error"]["code"])
        return CommandResult(**reply["result"])

    # --- joining and leaving the cluster -----------------------------------------------------

    async def start(self) -> None:
        import asyncpg  # the driver loads when a serving node joins

        settings = {"search_path": self._schema} if self._schema else {}
        dsn = self._dsn.render_as_string(hide_password=False)
        self._worker = await asyncpg.connect(dsn, server_settings=settings)
        self._listener = await asyncpg.connect(dsn, server_settings=settings)
        await self._listener.add_listener(self.channel(self.node), self._heard)
        await self._listener.add_listener(self.channel("presence"), self._heard)
        await self._alive()
        for station, node in await self._fetch(
            "SELECT charge_point_id, node FROM station_presence"
        ):
            if node != self.node:
                self._elsewhere[station] = node
        self._tasks += [  # with any answer begun since the listener started
            asyncio.create_task(self._write_presence()),
            asyncio.create_task(self._keep_alive()),
        ]

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._worker is not None:
            with contextlib.suppress(Exception):  # a lost connection: the rows go with the node
                mine = await self._fetch(
                    "DELETE FROM station_presence WHERE node = $1 RETURNING charge_point_id",
                    self.node,
                )
                await self._run("DELETE FROM cluster_nodes WHERE node = $1", self.node)
                await self._announce(dict.fromkeys(station for (station,) in mine))
        for connection in (self._worker, self._listener):
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
        self._worker = self._listener = None

    # --- inside ------------------------------------------------------------------------------

    async def _write_presence(self) -> None:
        """Presence changes, in the order the links made them; those waiting are written
        together (a restart brings thousands at once), each station as it ended up."""
        while True:
            latest: dict[str, str] = {}
            checks: set[str] = set()
            change, station = await self._changes.get()
            while True:
                if change == "check":
                    checks.add(station)
                else:
                    latest[station] = change
                if self._changes.empty() or len(latest) + len(checks) >= PRESENCE_BATCH:
                    break
                change, station = self._changes.get_nowait()
            try:
                await self._write(latest)
                await self._close_moved(checks)
            except Exception:
                log.exception("station presence not written", extra={"stations": len(latest)})

    async def _close_moved(self, stations: set[str]) -> None:
        """Close this process's link of each station another node holds now (its newer
        connection), as the presence table says once this process's own changes before the
        news are written: a station that came back here meanwhile keeps its link."""
        held = [station for station in stations if station in self._handlers]
        if not held or self._moved is None:
            return
        rows = await self._fetch(
            "SELECT charge_point_id, node FROM station_presence "
            "WHERE charge_point_id = ANY($1::text[])",
            held,
        )
        for station, node in rows:
            if node != self.node and station in self._handlers:
                log.info("station connected to another node", extra={"charge_point_id": station})
                self._moved(station)

    async def _write(self, latest: dict[str, str]) -> None:
        up = [station for station, change in latest.items() if change == "up"]
        down = [station for station, change in latest.items() if change == "down"]
        if up:
            await self._run(
                "INSERT INTO station_presence (charge_point_id, node, connected_at) "
                "SELECT unnest($1::text[]), $2, now() ON CONFLICT (charge_point_id) DO UPDATE "
                "SET node = excluded.node, connected_at = excluded.connected_at",
                up,
                self.node,
            )
        gone = []
        if down:
            rows = await self._fetch(
                "DELETE FROM station_presence WHERE charge_point_id = ANY($1::text[]) "
                "AND node = $2 RETURNING charge_point_id",
                down,
                self.node,
            )
            gone = [station for (station,) in rows]
        await self._announce({**dict.fromkeys(up, self.node), **dict.fromkeys(gone)})

    async def _keep_alive(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:
                log.exception("cluster liveness not written")
            await asyncio.sleep(HEARTBEAT_S)

    async def beat(self) -> list[str]:
        """Say this node is alive, and remove the nodes not seen for ``DEAD_AFTER_S`` with
        their stations' presence; returns those stations. A node the others took for dead
        (its beats failed that long) is back: it writes its stations' presence again."""
        if await self._alive():
            log.warning("this node was taken for dead; its stations are announced again")
            for station in list(self._handlers):
                self._changes.put_nowait(("up", station))
        gone = await self._fetch(
            "WITH dead AS (DELETE FROM cluster_nodes WHERE seen_at < now() - "
            "make_interval(secs => $1) RETURNING node) DELETE FROM station_presence "
            "WHERE node IN (SELECT node FROM dead) RETURNING charge_point_id",
            DEAD_AFTER_S,
        )
        stations = [station for (station,) in gone]
        await self._announce(dict.fromkeys(stations))
        return stations

    async def _alive(self) -> bool:
        """Say this node is alive (the database's clock); True when its row was not there:
        at its start, or after the others removed it as dead."""
        rows = await self._fetch(
            "INSERT INTO cluster_nodes (node, started_at, seen_at) VALUES ($1, now(), now()) "
            "ON CONFLICT (node) DO UPDATE SET seen_at = now() RETURNING (xmax = 0)",
            self.node,
        )
        return bool(rows[0][0])

    async def _holder(self, station: str) -> str | None:
        found = await self._fetch(
            "SELECT node FROM station_presence WHERE charge_point_id = $1", station
        )
        return found[0][0] if found else None

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "presence":
            for station, node in message["holders"].items():
                if node is None or node == self.node:
                    self._elsewhere.pop(station, None)
                else:
                    self._elsewhere[station] = node
                    if station in self._handlers:  # held here too: which link is newer?
                        self._changes.put_nowait(("check", station))
        elif kind == "reply":
            answer = self._replies.get(message["request"])
            if answer is not None and not answer.done():
                answer.set_result(message)
        elif kind == "command":
            task = asyncio.ensure_future(self._answer(message))
            self._tasks.append(task)
            task.add_done_callback(self._tasks_done)

    def _tasks_done(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _answer(self, message: dict[str, Any]) -> None:
        """Run a command sent by another node for a station held here; send back the result."""
        reply: dict[str, Any] = {"type": "reply", "request": message["request"]}
        try:
            result = await super().send(
                message["station"], command_of(message["command"]), float(message["wait"])
            )
            reply["result"] = dataclasses.asdict(result)
        except ChargeledgerError as exc:
            reply["error"] = {"code": exc.code, "message": str(exc)}
        except Exception as exc:  # the station's link failed: the caller hears it, not a hang
            log.exception("a command for another node failed")
            reply["error"] = {"code": "station_error", "message": f"{type(exc).__name__}"}
        await self._notify(self.channel(message["reply_to"]), reply)

    async def _announce(self, holders: dict[str, str | None]) -> None:
        """Tell every node which node now holds these stations (None: no node), in
        notifications of at most ``ANNOUNCED`` stations (a payload is at most 8,000 bytes)."""
        stations = list(holders.items())
        for start in range(0, len(stations), ANNOUNCED):
            chunk = dict(stations[start : start + ANNOUNCED])
            await self._notify(self.channel("presence"), {"type": "presence", "holders": chunk})

    async def _notify(self, channel: str, message: dict[str, Any]) -> None:
        await self._run("SELECT pg_notify($1, $2)", channel, json.dumps(message))

    async def _run(self, sql: str, *args: Any) -> None:
        async with self._turn:
            assert self._worker is not None
            await self._worker.execute(sql, *args)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self._turn:
            assert self._worker is not None
            return list(await self._worker.fetch(sql, *args))


def command_bus(url: str, schema: str | None = None) -> InProcessCommandBus:
    """The bus for the database at ``url``: across nodes on PostgreSQL (once started by the
    app's lifespan), this process alone on SQLite."""
    if normalise_url(url).startswith("postgresql"):  # postgres:// is PostgreSQL too
        return PostgresCommandBus(url, schema)
    return InProcessCommandBus()
