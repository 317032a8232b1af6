"""What every table-backed repository shares: add, get, update, delete, count, paging."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Connection, Select, Table, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.integrity import translate_integrity_error
from chargeledger.services.paging import Page

T = TypeVar("T")
R = TypeVar("R")
# Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 500


def chunks(ids: Collection[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    """``ids`` in lists of at most :data:`CHUNK`, in a stable order."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


class TableRepository(ABC, Generic[T]):
    """A repository over one table whose primary key is ``id``."""

    table: ClassVar[Table]

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    @abstractmethod
    def to_row(self, entity: T) -> dict[str, Any]:
        """The row that stores ``entity``."""

    @abstractmethod
    def from_row(self, row: RowMapping) -> T:
        """The domain object a row holds."""

    async def _execute(self, statement: Any) -> Any:
        """Run a write inside a savepoint so a unique-key clash leaves the transaction usable."""
        try:
            async with self._connection.begin_nested():
                return await self._connection.execute(statement)
        except IntegrityError as exc:
            raise translate_integrity_error(exc) from exc

    async def add(self, entity: T) -> None:
        await self._execute(insert(self.table).values(self.to_row(entity)))

    async def get(self, entity_id: uuid.UUID) -> T | None:
        return await self._one(select(self.table).where(self.table.c.id == entity_id))

    async def get_many(self, ids: Collection[uuid.UUID]) -> list[T]:
        found: list[T] = []
        for chunk in chunks(ids):
            result = await self._connection.execute(
                select(self.table).where(self.table.c.id.in_(chunk))
            )
            found += [self.from_row(row) for row in result.mappings()]
        return found

    async def update(self, entity: T) -> None:
        row = self.to_row(entity)
        entity_id = row.pop("id")
        row.pop("created_at", None)
        await self._execute(update(self.table).where(self.table.c.id == entity_id).values(row))

    async def delete(self, entity_id: uuid.UUID) -> None:
        await self._execute(delete(self.table).where(self.table.c.id == entity_id))

    async def count(self) -> int:
        result = await self._connection.execute(select(func.count()).select_from(self.table))
        return int(result.scalar_one())

    async def _exists(self, **where: Any) -> bool:
        query = select(self.table.c.id).limit(1)
        for column, value in where.items():
            query = query.where(self.table.c[column] == value)
        result = await self._connection.execute(query)
        return result.first() is not None

    async def _one(self, query: Select[Any]) -> T | None:
        result = await self._connection.execute(query)
        row = result.mappings().first()
        return None if row is None else self.from_row(row)

    async def _read(self, fn: Callable[[Connection], R], *, rows: int = 1) -> R:
        """``fn`` (one SELECT of at most ``rows`` rows and what is made of them) as a
        one-statement read (``LazyConnection.read``): one trip to the driver in a read-only
        unit of work. ``fn`` reads its rows to the end and may run twice."""
        result: R = await self._connection.read(fn, rows=rows)  # type: ignore[attr-defined]
        return result

    async def _read_one(self, query: Select[Any]) -> T | None:
        """``_one`` as a one-statement read."""

        def one(connection: Connection) -> T | None:
            row = connection.execute(query).mappings().first()
            return None if row is None else self.from_row(row)

        return await self._read(one)

    async def _page(self, query: Select[Any], limit: int, offset: int) -> Page[T]:
        """Fetch one row more than asked to know whether another page follows."""
        result = await self._connection.execute(query.limit(limit + 1).offset(offset))
        rows: Sequence[RowMapping] = result.mappings().all()
        items = [self.from_row(row) for row in rows[:limit]]
        return Page(items=items, next_offset=offset + limit if len(rows) > limit else None)
