"""The repository of station links: connection and connector state, and the OCPP message log
(stored answers for exactly-once replies, refused frames kept for inspection)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.repositories.base import chunks
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates, upsert
from chargeledger.adapters.db.tables import (
    connector_states,
    ocpp_messages,
    ocpp_rejected_frames,
    station_states,
)
from chargeledger.domain.station_link import (
    ConnectorState,
    LoggedCall,
    StationState,
    StoredReply,
)

# Looked up for every OCPP message: built once, each call only binds its values.
_STORED_REPLY = select(
    ocpp_messages.c.action, ocpp_messages.c.request_hash, ocpp_messages.c.response
).where(
    ocpp_messages.c.charge_point_id == bindparam("cpid"),
    ocpp_messages.c.boot_epoch == bindparam("epoch"),
    ocpp_messages.c.message_id == bindparam("mid"),
)

# The replay lookup of a whole group of CALLs (``stations/group_commit.py``): one statement,
# its key list expanded when it runs.
_STORED_REPLIES = select(
    ocpp_messages.c.charge_point_id,
    ocpp_messages.c.boot_epoch,
    ocpp_messages.c.message_id,
    ocpp_messages.c.action,
    ocpp_messages.c.request_hash,
    ocpp_messages.c.response,
).where(
    tuple_(
        ocpp_messages.c.charge_point_id, ocpp_messages.c.boot_epoch, ocpp_messages.c.message_id
    ).in_(bindparam("keys", expanding=True))
)

# The boot epochs of a batch of connections (``record_connections``).
_BOOT_EPOCHS = select(station_states.c.station_id, station_states.c.boot_epoch).where(
    station_states.c.station_id.in_(bindparam("ids", expanding=True))
)


@functools.cache
def _connected(dialect: str) -> Any:
    """Built once per dialect: a station's state row, connected over a new connection (an
    INSERT ... ON CONFLICT DO UPDATE of the fields connecting changes; PostgreSQL and SQLite
    share the syntax), run as one batch for many stations."""
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_into(station_states).values(
        station_id=bindparam("station_id"),
        connected=True,
        ocpp_version=bindparam("ocpp_version"),
        last_seen_at=bindparam("at"),
        updated_at=bindparam("at"),
        connection_id=bindparam("connection_id"),
    )
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[station_states.c.station_id],
        set_={
            "connected": True,
            "ocpp_version": excluded.ocpp_version,
            "last_seen_at": excluded.last_seen_at,
            "updated_at": excluded.updated_at,
            "connection_id": excluded.connection_id,
        },
    )


@functools.cache
def _booted(dialect: str) -> Any:
    """Built once per dialect: a station's boot (``record_boot``), an INSERT ... ON CONFLICT
    DO UPDATE ... RETURNING of its next boot epoch."""
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_into(station_states).values(
        station_id=bindparam("station_id"),
        connected=True,
        ocpp_version=bindparam("ocpp_version"),
        firmware_version=bindparam("firmware"),
        last_boot_at=bindparam("at"),
        last_seen_at=bindparam("at"),
        updated_at=bindparam("at"),
        boot_epoch=1,
    )
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[station_states.c.station_id],
        set_={
            "connected": True,
            "ocpp_version": excluded.ocpp_version,
            "firmware_version": func.coalesce(
                excluded.firmware_version, station_states.c.firmware_version
            ),
            "last_boot_at": excluded.last_boot_at,
            "last_seen_at": excluded.last_seen_at,
            "updated_at": excluded.updated_at,
            "boot_epoch": station_states.c.boot_epoch + 1,
        },
    ).returning(station_states.c.boot_epoch)


ReplyKey = tuple[str, int, str]  # (charge point id, boot epoch, message id)


def state_of(row: RowMapping) -> StationState:
    return StationState(
        station_id=row["station_id"],
        connected=row["connected"],
        ocpp_version=row["ocpp_version"],
        firmware_version=row["firmware_version"],
        last_seen_at=row["last_seen_at"],
        last_heartbeat_at=row["last_heartbeat_at"],
        last_boot_at=row["last_boot_at"],
        clock_offset_seconds=row["clock_offset_seconds"],
        updated_at=row["updated_at"],
    )


def connector_state_of(row: RowMapping) -> ConnectorState:
    return ConnectorState(
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
        status=row["status"],
        error_code=row["error_code"],
        status_at=row["status_at"],
    )


class SqlStationLinkRepository:
    """Connection state of stations and connectors, and the OCPP message log."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def save_state(self, state: StationState) -> None:
        await upsert(
            self._connection,
            station_states,
            {
                "station_id": state.station_id,
                "connected": state.connected,
                "ocpp_version": state.ocpp_version,
                "firmware_version": state.firmware_version,
                "last_seen_at": state.last_seen_at,
                "last_heartbeat_at": state.last_heartbeat_at,
                "last_boot_at": state.last_boot_at,
                "clock_offset_seconds": state.clock_offset_seconds,
                "updated_at": state.updated_at,
            },
            key=("station_id",),
        )

    async def state(self, station_id: uuid.UUID) -> StationState | None:
        row = (
            (
                await self._connection.execute(
                    select(station_states).where(station_states.c.station_id == station_id)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else state_of(row)

    async def save_connector(self, state: ConnectorState) -> None:
        await upsert(
            self._connection,
            connector_states,
            {
                "station_id": state.station_id,
                "evse_id": state.evse_id,
                "connector_id": state.connector_id,
                "status": state.status,
                "error_code": state.error_code,
                "status_at": state.status_at,
            },
            key=("station_id", "evse_id", "connector_id"),
        )

    async def connectors(self, station_id: uuid.UUID) -> list[ConnectorState]:
        rows = await self._connection.execute(
            select(connector_states)
            .where(connector_states.c.station_id == station_id)
            .order_by(connector_states.c.evse_id, connector_states.c.connector_id)
        )
        return [connector_state_of(row) for row in rows.mappings()]

    async def states_of(self, station_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, StationState]:
        found: dict[uuid.UUID, StationState] = {}
        for chunk in chunks(station_ids):
            rows = await self._connection.execute(
                select(station_states).where(station_states.c.station_id.in_(chunk))
            )
            for row in rows.mappings():
                found[row["station_id"]] = state_of(row)
        return found

    async def connectors_of(
        self, station_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[ConnectorState]]:
        found: dict[uuid.UUID, list[ConnectorState]] = {}
        for chunk in chunks(station_ids):
            rows = await self._connection.execute(
                select(connector_states)
                .where(connector_states.c.station_id.in_(chunk))
                .order_by(connector_states.c.evse_id, connector_states.c.connector_id)
            )
            for row in rows.mappings():
                found.setdefault(row["station_id"], []).append(connector_state_of(row))
        return found

    async def stored_reply(
        self, charge_point_id: str, boot_epoch: int, message_id: str
    ) -> StoredReply | None:
        result = await self._connection.execute(
            _STORED_REPLY, {"cpid": charge_point_id, "epoch": boot_epoch, "mid": message_id}
        )
        row = result.first()
        return (
            None
            if row is None
            else StoredReply(action=row[0], request_hash=row[1], response=row[2])
        )

    async def stored_replies(self, keys: Collection[ReplyKey]) -> dict[ReplyKey, StoredReply]:
        """The answers stored under any of ``keys``, in one statement."""
        if not keys:
            return {}
        result = await self._connection.execute(_STORED_REPLIES, {"keys": list(keys)})
        return {
            (row[0], row[1], row[2]): StoredReply(
                action=row[3], request_hash=row[4], response=row[5]
            )
            for row in result
        }

    async def store_replies(
        self, replies: Sequence[tuple[ReplyKey, StoredReply]], at: datetime
    ) -> None:
        """Keep the answers of a group of CALLs in one batch (``executemany``)."""
        await insert_ignoring_duplicates(
            self._connection,
            ocpp_messages,
            [
                {
                    "charge_point_id": key[0],
                    "boot_epoch": key[1],
                    "message_id": key[2],
                    "action": reply.action,
                    "request_hash": reply.request_hash,
                    "response": reply.response,
                    "received_at": at,
                }
                for key, reply in replies
            ],
        )

    async def store_reply(
        self,
        charge_point_id: str,
        boot_epoch: int,
        message_id: str,
        reply: StoredReply,
        at: datetime,
    ) -> None:
        await insert_ignoring_duplicates(
            self._connection,
            ocpp_messages,
            [
                {
                    "charge_point_id": charge_point_id,
                    "boot_epoch": boot_epoch,
                    "message_id": message_id,
                    "action": reply.action,
                    "request_hash": reply.request_hash,
                    "response": reply.response,
                    "received_at": at,
                }
            ],
        )

    async def logged_calls(
        self, charge_point_id: str, received_from: datetime, received_until: datetime, limit: int
    ) -> list[LoggedCall]:
        rows = await self._connection.execute(
            select(ocpp_messages)
            .where(
                ocpp_messages.c.charge_point_id == charge_point_id,
                ocpp_messages.c.received_at >= received_from,
                ocpp_messages.c.received_at <= received_until,
            )
            .order_by(
                ocpp_messages.c.received_at,
                ocpp_messages.c.boot_epoch,
                ocpp_messages.c.message_id,
            )
            .limit(limit)
        )
        return [
            LoggedCall(
                received_at=row["received_at"],
                boot_epoch=row["boot_epoch"],
                message_id=row["message_id"],
                action=row["action"],
                request_hash=row["request_hash"],
                response=row["response"],
            )
            for row in rows.mappings()
        ]

    async def reject_frame(
        self, charge_point_id: str, frame: str, error_code: str, description: str, at: datetime
    ) -> None:
        await self._connection.execute(
            insert(ocpp_rejected_frames).values(
                charge_point_id=charge_point_id,
                frame=frame,
                error_code=error_code,
                error_description=description,
                received_at=at,
            )
        )

    async def forget_replies(self, received_before: datetime) -> int:
        result = await self._connection.execute(
            delete(ocpp_messages).where(ocpp_messages.c.received_at < received_before)
        )
        return max(int(result.rowcount or 0), 0)

    async def boot_epoch(self, station_id: uuid.UUID) -> int:
        result = await self._connection.execute(
            select(station_states.c.boot_epoch).where(station_states.c.station_id == station_id)
        )
        return int(result.scalar_one_or_none() or 0)

    async def start_boot_epoch(self, station_id: uuid.UUID) -> int:
        """One more than the last boot's epoch; the station's state row must exist. The
        increment happens in the database, so two writers never hand out the same epoch."""
        await self._connection.execute(
            update(station_states)
            .where(station_states.c.station_id == station_id)
            .values(boot_epoch=station_states.c.boot_epoch + 1)
        )
        return await self.boot_epoch(station_id)

    async def record_connections(
        self, connections: Sequence[tuple[uuid.UUID, str, str]], at: datetime
    ) -> dict[uuid.UUID, int]:
        """Each ``(station id, OCPP version, connection id)`` connected at ``at`` (its state
        row made if it has none, the other fields of one it has kept): one batch for the
        rows, one read for their boot epochs, which are returned."""
        if not connections:
            return {}
        rows = [
            {"station_id": sid, "ocpp_version": version, "connection_id": cid, "at": at}
            for sid, version, cid in connections
        ]
        await self._connection.execute(_connected(self._connection.dialect.name), rows)
        result = await self._connection.execute(
            _BOOT_EPOCHS, {"ids": [sid for sid, _, _ in connections]}
        )
        return {row.station_id: int(row.boot_epoch) for row in result}

    async def record_boot(
        self, station_id: uuid.UUID, version: str, firmware: str | None, at: datetime
    ) -> int:
        """The station booted at ``at``: connected, its version, its firmware (kept when it
        names none), the boot and seen times, and its next boot epoch, which is returned; one
        statement (the increment happens in the database, so two writers never hand out the
        same epoch)."""
        result = await self._connection.execute(
            _booted(self._connection.dialect.name),
            {"station_id": station_id, "ocpp_version": version, "firmware": firmware, "at": at},
        )
        return int(result.scalar_one())

    async def claim_connection(self, station_id: uuid.UUID, connection_id: str) -> None:
        await self._connection.execute(
            update(station_states)
            .where(station_states.c.station_id == station_id)
            .values(connection_id=connection_id)
        )

    async def mark_disconnected(
        self, station_id: uuid.UUID, connection_id: str, at: datetime
    ) -> bool:
        """Only the connection that connected last may say the station is gone: a superseded
        one (closed because the station connected again, maybe on another node) may not."""
        result = await self._connection.execute(
            update(station_states)
            .where(
                station_states.c.station_id == station_id,
                station_states.c.connection_id == connection_id,
            )
            .values(connected=False, updated_at=at)
        )
        return bool(result.rowcount)
