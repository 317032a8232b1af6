"""Dunning events of invoices: notices and disputes, append-only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.dunning_tables import dunning_events as table
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.domain.dunning import DunningEvent, DunningEventKind
from chargeledger.money import Money


def _amount(money: Money | None) -> Any:
    return None if money is None else money.amount


def event_row(event: DunningEvent) -> dict[str, Any]:
    amounts = [event.outstanding, event.fee, event.compensation, event.interest]
    currency = next((m.currency.code for m in amounts if m is not None), None)
    return {
        "id": event.id,
        "invoice_id": event.invoice_id,
        "account_id": event.account_id,
        "kind": event.kind.value,
        "event_key": event.key,
        "on_day": event.on,
        "at": event.at,
        "level": event.level,
        "title": event.title,
        "final": event.final,
        "blocks_tokens": event.blocks_tokens,
        "currency": currency,
        "outstanding": _amount(event.outstanding),
        "fee": _amount(event.fee),
        "compensation": _amount(event.compensation),
        "interest": _amount(event.interest),
        "interest_percent": event.interest_percent,
        "by": event.by,
        "note": event.note,
    }


def event_of(row: Any) -> DunningEvent:
    def money(value: Any) -> Money | None:
        return None if value is None else Money.of(value, row.currency)

    return DunningEvent(
        id=row.id,
        kind=DunningEventKind(row.kind),
        invoice_id=row.invoice_id,
        account_id=row.account_id,
        on=row.on_day,
        at=row.at,
        level=row.level,
        title=row.title,
        final=row.final,
        blocks_tokens=row.blocks_tokens,
        outstanding=money(row.outstanding),
        fee=money(row.fee),
        compensation=money(row.compensation),
        interest=money(row.interest),
        interest_percent=row.interest_percent,
        by=row.by,
        note=row.note,
    )


class SqlDunningRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, event: DunningEvent) -> bool:
        return await insert_ignoring_duplicates(self._connection, table, [event_row(event)]) == 1

    async def get(self, event_id: uuid.UUID) -> DunningEvent | None:
        row = (await self._connection.execute(select(table).where(table.c.id == event_id))).first()
        return None if row is None else event_of(row)

    async def history(
        self, invoice_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[DunningEvent]]:
        found: dict[uuid.UUID, list[DunningEvent]] = {i: [] for i in invoice_ids}
        ids = list(invoice_ids)
        for start in range(0, len(ids), 500):
            query = (
                select(table)
                .where(table.c.invoice_id.in_(ids[start : start + 500]))
                .order_by(table.c.at, table.c.id)
            )
            for row in await self._connection.execute(query):
                found[row.invoice_id].append(event_of(row))
        return found

    async def blocking(self, account_id: uuid.UUID) -> dict[uuid.UUID, list[DunningEvent]]:
        """The history of every invoice of ``account_id`` that had a notice blocking tokens."""
        blocked = (
            select(table.c.invoice_id)
            .where(table.c.account_id == account_id, table.c.blocks_tokens.is_(True))
            .distinct()
        )
        ids = list((await self._connection.execute(blocked)).scalars())
        return await self.history(ids) if ids else {}
