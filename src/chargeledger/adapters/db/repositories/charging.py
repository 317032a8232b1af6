"""The repository of charging sessions with their meter data, events and signed values."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.account_sessions import AccountSessions
from chargeledger.adapters.db.repositories.audit import queue_for_chain
from chargeledger.adapters.db.repositories.base import TableRepository, chunks
from chargeledger.adapters.db.repositories.deferred_updates import DeferredSessionUpdates
from chargeledger.adapters.db.repositories.meter_rows import (
    sample_of,
    sample_rows,
    signed_value,
    state_row,
)
from chargeledger.adapters.db.repositories.session_search import (
    search_page_statement,
    search_values,
)
from chargeledger.adapters.db.repositories.upsert import (
    insert_ignoring_duplicates,
    on_conflict_do_nothing,
)
from chargeledger.adapters.db.tables import (
    meter_samples,
    session_state_changes,
    sessions,
    signed_meter_values,
    transaction_events,
    transaction_numbers,
)
from chargeledger.domain.audit import RecordType
from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    QuarantineReason,
    Resolution,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.station_link import (
    SessionCursor,
    SessionFilter,
    SignedMeterValue,
    TransactionEvent,
)
from chargeledger.services.paging import Page

# The statements of every OCPP message, built once; each call only binds its values.
_SESSION_BY_REF = select(sessions).where(
    sessions.c.station_id == bindparam("sid"), sessions.c.transaction_ref == bindparam("ref")
)
# Every update raises the version; the edge's update of a session it keeps in memory applies
# only to the version it holds (``update_if_unchanged``).
_UPDATE_SESSION = (
    update(sessions)
    .where(sessions.c.id == bindparam("session_pk"))
    .values(version=sessions.c.version + 1)
)
_UPDATE_SESSION_IF_UNCHANGED = _UPDATE_SESSION.where(
    sessions.c.version == bindparam("held_version")
)


class SqlSessionRepository(TableRepository[Session], AccountSessions):
    """Meter samples and charging-state changes of the hot path may be *queued*
    (``queue_samples``, ``queue_state_change``): kept in memory and written in one batch per
    table (``flush_queued``) when the unit of work commits or opens a savepoint, or before this
    repository reads either table. A group of stations' CALLs (``stations/group_commit.py``)
    thus writes its meter values in one statement instead of one per CALL; the rows still
    commit in the same transaction as the effects and stored answer of their CALL."""

    table = sessions

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self._queued: dict[Table, list[dict[str, Any]]] = {}
        self._deferred = DeferredSessionUpdates(connection, _UPDATE_SESSION)

    def defer_updates(self) -> None:
        """From now on in this unit of work, ``update_if_unchanged`` only holds its update and
        answers as if written; the held updates go in one batch before the next statement
        that involves the sessions table, a savepoint or the commit, and a row changed
        meanwhile fails the unit of work with ``SessionsChangedError``
        (``deferred_updates.py``)."""
        self._deferred.on = True

    def to_row(self, entity: Session) -> dict[str, Any]:
        resolution = entity.resolution
        return {
            "id": entity.id,
            "station_id": entity.station_id,
            "evse_id": entity.evse_id,
            "connector_id": entity.connector_id,
            "transaction_ref": entity.transaction_ref,
            "ocpp_version": entity.ocpp_version,
            "id_tag": entity.id_tag,
            "account_id": entity.account_id,
            "status": entity.status.value,
            "started_at": entity.started_at,
            "stopped_at": entity.stopped_at,
            "meter_start_wh": entity.meter_start_wh,
            "meter_stop_wh": entity.meter_stop_wh,
            "meter_stop_inferred": entity.meter_stop_inferred,
            "stop_reason": entity.stop_reason,
            "last_sample_at": entity.last_sample_at,
            "charging_seconds": entity.charging_seconds,
            "idle_seconds": entity.idle_seconds,
            "quarantine_reasons": [r.value for r in entity.quarantine_reasons],
            "resolved_by": resolution.by if resolution else None,
            "resolved_at": resolution.at if resolution else None,
            "resolution_note": resolution.note if resolution else None,
            "corrected_meter_start_wh": resolution.corrected_meter_start_wh if resolution else None,
            "corrected_meter_stop_wh": resolution.corrected_meter_stop_wh if resolution else None,
            "tariff_id": entity.tariff_id,
            "contract_version_id": entity.contract_version_id,
            "payment_route": entity.payment_route.value,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
            "version": entity.version,
        }

    def from_row(self, row: RowMapping) -> Session:
        resolution = None
        if row["resolved_at"] is not None:
            resolution = Resolution(
                by=row["resolved_by"],
                at=row["resolved_at"],
                note=row["resolution_note"] or "",
                corrected_meter_start_wh=row["corrected_meter_start_wh"],
                corrected_meter_stop_wh=row["corrected_meter_stop_wh"],
            )
        return Session(
            id=row["id"],
            station_id=row["station_id"],
            evse_id=row["evse_id"],
            connector_id=row["connector_id"],
            transaction_ref=row["transaction_ref"],
            ocpp_version=row["ocpp_version"],
            id_tag=row["id_tag"],
            account_id=row["account_id"],
            status=SessionStatus(row["status"]),
            started_at=row["started_at"],
            stopped_at=row["stopped_at"],
            meter_start_wh=row["meter_start_wh"],
            meter_stop_wh=row["meter_stop_wh"],
            meter_stop_inferred=row["meter_stop_inferred"],
            stop_reason=row["stop_reason"],
            last_sample_at=row["last_sample_at"],
            charging_seconds=row["charging_seconds"],
            idle_seconds=row["idle_seconds"],
            quarantine_reasons=tuple(QuarantineReason(r) for r in row["quarantine_reasons"]),
            resolution=resolution,
            tariff_id=row["tariff_id"],
            contract_version_id=row["contract_version_id"],
            payment_route=PaymentRoute(row["payment_route"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            version=row["version"],
        )

    async def update(self, entity: Session) -> None:
        """No savepoint: a session update changes no unique key. Raises the stored version,
        whatever it was (the writers that read the session in their own transaction)."""
        await self._connection.execute(_UPDATE_SESSION, self._update_row(entity))

    async def update_if_unchanged(self, entity: Session) -> Session | None:
        """Store ``entity`` only if the row is still at ``entity.version`` (the version it
        was read at, perhaps in an earlier transaction): the session as stored, at its new
        version, or None when another writer changed it since (nothing is written). One
        statement, the hot path of every meter value; on PostgreSQL a concurrent writer's
        update makes this one wait and then find the row changed. Deferred
        (``defer_updates``): queued, and answered as written."""
        row = self._update_row(entity)
        row["held_version"] = entity.version
        if self._deferred.on:
            await self._deferred.hold(entity.id, row)
            return dataclasses.replace(entity, version=entity.version + 1)
        result = await self._connection.execute(_UPDATE_SESSION_IF_UNCHANGED, row)
        if result.rowcount != 1:
            return None
        return dataclasses.replace(entity, version=entity.version + 1)

    def _update_row(self, entity: Session) -> dict[str, Any]:
        row = self.to_row(entity)
        del row["created_at"], row["version"]
        row["session_pk"] = row.pop("id")
        return row

    async def get_by_ref(self, station_id: uuid.UUID, transaction_ref: str) -> Session | None:
        result = await self._connection.execute(
            _SESSION_BY_REF, {"sid": station_id, "ref": transaction_ref}
        )
        row = result.mappings().first()
        return None if row is None else self.from_row(row)

    async def find_started(
        self,
        station_id: uuid.UUID,
        evse_id: int,
        started_at: datetime,
        id_tag: str | None,
        meter_start_wh: Decimal,
    ) -> Session | None:
        """A 1.6 session with the same start: a StartTransaction re-sent under a new message id
        (the station never got our answer) must get the same transaction id. Everything the
        station sent is compared, so two cars starting in the same second stay two."""
        query = select(sessions).where(
            sessions.c.station_id == station_id,
            sessions.c.evse_id == evse_id,
            sessions.c.started_at == started_at,
            sessions.c.meter_start_wh == meter_start_wh,
            sessions.c.ocpp_version == "1.6",
        )
        query = query.where(
            sessions.c.id_tag.is_(None) if id_tag is None else sessions.c.id_tag == id_tag
        )
        return await self._one(query)

    async def open_on_evse(self, station_id: uuid.UUID, evse_id: int) -> Session | None:
        return await self._one(
            select(sessions)
            .where(
                sessions.c.station_id == station_id,
                sessions.c.evse_id == evse_id,
                sessions.c.status == SessionStatus.ACTIVE.value,
            )
            .order_by(sessions.c.started_at.desc())
        )

    async def next_transaction_number(self, station_id: uuid.UUID, at: datetime) -> int:
        """OCPP 1.6 §7.6 transactionId: an integer the central system assigns, unique here."""
        result = await self._connection.execute(
            insert(transaction_numbers).values(station_id=station_id, created_at=at)
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def search(
        self,
        criteria: SessionFilter,
        *,
        limit: int,
        offset: int = 0,
        after: SessionCursor | None = None,
    ) -> Page[Session]:
        values = search_values(criteria, after)
        statement = search_page_statement(frozenset(values))
        values["page_limit"], values["page_offset"] = limit + 1, offset

        def page(connection: Connection) -> Page[Session]:
            rows = connection.execute(statement, values).mappings().all()
            items = [self.from_row(row) for row in rows[:limit]]
            return Page(items=items, next_offset=offset + limit if len(rows) > limit else None)

        return await self._read(page, rows=limit + 1)

    async def stale(self, idle_since: datetime, limit: int) -> list[Session]:
        """Open sessions with no sign of life since ``idle_since`` (station time)."""
        last_activity = sessions.c.last_sample_at
        query = (
            select(sessions)
            .where(sessions.c.status == SessionStatus.ACTIVE.value)
            .where(
                or_(
                    last_activity < idle_since,
                    last_activity.is_(None) & (sessions.c.started_at < idle_since),
                )
            )
            .order_by(sessions.c.started_at)
            .limit(limit)
        )
        rows = (await self._connection.execute(query)).mappings().all()
        return [self.from_row(row) for row in rows]

    # --- meter data ------------------------------------------------------------------------

    async def add_samples(self, session_id: uuid.UUID, samples: Sequence[MeterSample]) -> int:
        return await insert_ignoring_duplicates(
            self._connection, meter_samples, sample_rows(session_id, samples)
        )

    def queue_samples(self, session_id: uuid.UUID, samples: Sequence[MeterSample]) -> None:
        """Like ``add_samples`` (duplicates skipped), written with the next flush."""
        self._queued.setdefault(meter_samples, []).extend(sample_rows(session_id, samples))

    def queue_state_change(self, session_id: uuid.UUID, change: StateChange) -> None:
        """Like ``add_state_change``, written with the next flush."""
        self._queued.setdefault(session_state_changes, []).append(state_row(session_id, change))

    async def flush_queued(self) -> None:
        """Write what is queued: the deferred updates, then one batch (``executemany``) per
        table of meter data."""
        await self._deferred.write()
        queued, self._queued = self._queued, {}
        for table, rows in queued.items():
            await insert_ignoring_duplicates(self._connection, table, rows)

    def drop_queued(self) -> None:
        """The transaction (or savepoint) that queued the rows was rolled back."""
        self._queued = {}
        self._deferred.drop()

    async def samples(
        self, session_id: uuid.UUID, measurands: Sequence[Measurand] | None = None
    ) -> list[MeterSample]:
        await self.flush_queued()
        query = (
            select(meter_samples)
            .where(meter_samples.c.session_id == session_id)
            .order_by(meter_samples.c.timestamp, meter_samples.c.id)
        )
        if measurands:
            query = query.where(meter_samples.c.measurand.in_([m.value for m in measurands]))
        rows = (await self._connection.execute(query)).mappings().all()
        return [sample_of(row) for row in rows]

    async def add_state_change(self, session_id: uuid.UUID, change: StateChange) -> None:
        await insert_ignoring_duplicates(
            self._connection, session_state_changes, [state_row(session_id, change)]
        )

    async def state_changes(self, session_id: uuid.UUID) -> list[StateChange]:
        await self.flush_queued()
        rows = await self._connection.execute(
            select(session_state_changes)
            .where(session_state_changes.c.session_id == session_id)
            .order_by(session_state_changes.c.timestamp)
        )
        return [
            StateChange(timestamp=row["timestamp"], state=ChargingState(row["state"]))
            for row in rows.mappings()
        ]

    async def add_transaction_event(self, session_id: uuid.UUID, event: TransactionEvent) -> bool:
        """Record a 2.0.1 event by its seqNo; False if that seqNo was already seen."""
        row = {
            "session_id": session_id,
            "seq_no": event.seq_no,
            "event_type": event.event_type,
            "timestamp": event.timestamp,
            "trigger_reason": event.trigger_reason,
            "offline": event.offline,
        }
        return await insert_ignoring_duplicates(self._connection, transaction_events, [row]) == 1

    async def transaction_events(self, session_id: uuid.UUID) -> list[TransactionEvent]:
        rows = await self._connection.execute(
            select(transaction_events)
            .where(transaction_events.c.session_id == session_id)
            .order_by(transaction_events.c.seq_no)
        )
        return [
            TransactionEvent(
                seq_no=row["seq_no"],
                event_type=row["event_type"],
                timestamp=row["timestamp"],
                trigger_reason=row["trigger_reason"],
                offline=row["offline"],
            )
            for row in rows.mappings()
        ]

    async def add_signed_value(self, session_id: uuid.UUID, value: SignedMeterValue) -> None:
        """Keep signed meter data once per (session, content); a new one is queued for the
        audit chain in the same transaction."""
        row = {
            "session_id": session_id,
            "timestamp": value.timestamp,
            "context": value.context.value,
            "format": value.format,
            "signing_method": value.signing_method,
            "encoding_method": value.encoding_method,
            "public_key": value.public_key,
            "data": value.data,
            "data_hash": value.data_hash,
        }
        statement = on_conflict_do_nothing(self._connection, signed_meter_values).values(row)
        result = await self._connection.execute(statement.returning(signed_meter_values.c.id))
        kept = result.scalar_one_or_none()
        if kept is not None:
            await queue_for_chain(self._connection, RecordType.SIGNED_METER_VALUE, [kept])

    async def signed_values(self, session_id: uuid.UUID) -> list[SignedMeterValue]:
        rows = await self._connection.execute(
            select(signed_meter_values)
            .where(signed_meter_values.c.session_id == session_id)
            .order_by(signed_meter_values.c.timestamp, signed_meter_values.c.id)
        )
        return [signed_value(row) for row in rows.mappings()]

    async def signed_values_of(
        self, session_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[SignedMeterValue]]:
        found: dict[uuid.UUID, list[SignedMeterValue]] = {}
        for chunk in chunks(session_ids):
            rows = await self._connection.execute(
                select(signed_meter_values)
                .where(signed_meter_values.c.session_id.in_(chunk))
                .order_by(signed_meter_values.c.timestamp, signed_meter_values.c.id)
            )
            for row in rows.mappings():
                found.setdefault(row["session_id"], []).append(signed_value(row))
        return found
