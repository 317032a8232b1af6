"""Bulk inserts of many rows of one table (issue 17: a month's charges, entries and postings).

SQLAlchemy's ``execute(insert(table), [dict, ...])`` builds, checks and converts a parameter
dict per row (about half of the booking's time in the profiles of ``bench/billing_run.py``).
Here each INSERT is compiled once per dialect, each column's own bind processor (the very
function SQLAlchemy would apply: ``ExactDecimal``, ``UtcDateTime``, ``Uuid``, JSON) is looked up
once, and the rows, given as tuples in the statement's column order, are converted in one
loop and handed to the driver's ``executemany`` (asyncpg: one prepared statement, pipelined;
sqlite3: one C loop). Errors are the driver's, wrapped by SQLAlchemy as usual, so a unique-key
clash is the ``IntegrityError`` every repository translates (exactly-once stays the
database's unique keys).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.integrity import translate_integrity_error

Processor = Callable[[Any], Any]
# Rows per executemany: a batch's statement stays well under the drivers' buffers.
ROWS_PER_CALL = 10_000


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (...)`` for many rows, compiled per dialect."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._compiled: dict[str, tuple[str, tuple[tuple[int, Processor], ...]]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, tuple[tuple[int, Processor], ...]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = insert(self.table).compile(dialect=dialect, column_keys=list(self.columns))
            order = compiled.positiontup or []
            if list(order) != list(self.columns):
                raise RuntimeError(f"unexpected parameter order for {self.table.name}: {order}")
            processors = []
            for index, name in enumerate(self.columns):
                process = self.table.c[name].type._cached_bind_processor(dialect)
                if process is not None:
                    processors.append((index, process))
            found = (str(compiled), tuple(processors))
            self._compiled[dialect.name] = found
        return found

    def driver_rows(self, dialect: Dialect, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """``rows`` converted as SQLAlchemy converts bound values for ``dialect``."""
        _, processors = self._for(dialect)
        if not processors:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            values = list(row)
            for index, process in processors:
                value = values[index]
                if value is not None:
                    values[index] = process(value)
            converted.append(tuple(values))
        return converted

    async def run(
        self, connection: AsyncConnection, rows: Sequence[Sequence[Any]], converted: bool = False
    ) -> None:
        """Insert ``rows`` (tuples in :attr:`columns` order; ``converted``: already in the
        driver's form, ``driver_rows``) in the caller's transaction."""
        if not rows:
            return
        dialect = connection.dialect
        sql, _ = self._for(dialect)
        for start in range(0, len(rows), ROWS_PER_CALL):
            chunk = rows[start : start + ROWS_PER_CALL]
            await connection.exec_driver_sql(
                sql, chunk if converted else self.driver_rows(dialect, chunk)
            )


async def insert_rows(
    connection: AsyncConnection,
    *inserts: tuple[BulkInsert, Sequence[Sequence[Any]]],
    converted: bool = False,
) -> None:
    """Several bulk inserts in one savepoint: a unique-key clash leaves the transaction usable
    and becomes the project's ``DuplicateError`` (or ``ConflictError``)."""
    try:
        async with connection.begin_nested():
            for bulk, rows in inserts:
                await bulk.run(connection, rows, converted)
    except IntegrityError as exc:
        raise translate_integrity_error(exc) from exc
