"""Bulk inserts of many rows of one table (issue 17: a month's charges, entries and postings).

SQLAlchemy's ``execute(insert(table), [dict, ...])`` builds, checks and converts a parameter
dict per row (about half of the booking's time in the profiles of ``bench/billing_run.py``).
Here each INSERT is compiled once per dialect, each column's own bind processor (the very
function SQLAlchemy would apply: ``ExactDecimal``, ``UtcDateTime``, ``Uuid``, JSON) is looked up
once, and the rows, given as tuples in the statement's column order, are converted in one
loop and handed to the driver's ``executemany`` (sqlite3: one C loop) or, on PostgreSQL from
``COPY_FROM`` rows on, to asyncpg's binary COPY (booking 100,000 CDRs: storing 19.2-19.5 s ->
15.0-15.6 s, ``bench/billing_run.py``). Errors are the driver's, wrapped by SQLAlchemy as
usual (and a COPY's the same way), so a unique-key clash is the ``IntegrityError`` every
repository translates (exactly-once stays the database's unique keys).
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
# From this many rows on PostgreSQL, COPY instead of a prepared INSERT per row.
COPY_FROM = 100


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
        if dialect.driver == "asyncpg" and len(rows) >= COPY_FROM:
            await self._copy(connection, rows if converted else self.driver_rows(dialect, rows))
            return
        sql, _ = self._for(dialect)
        for start in range(0, len(rows), ROWS_PER_CALL):
            chunk = rows[start : start + ROWS_PER_CALL]
            await connection.exec_driver_sql(
                sql, chunk if converted else self.driver_rows(dialect, chunk)
            )

    async def _copy(self, connection: Any, rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL's ``COPY … FROM STDIN`` in its binary format, on the transaction's own
        connection (asyncpg's ``copy_records_to_table``): the server parses no statement
        and plans no insert per row. The rows are the driver's values, which asyncpg encodes
        as it encodes bound ones. A violated key is raised as SQLAlchemy raises an
        executemany's, so the caller's savepoint and ``translate_integrity_error`` apply."""
        driver: Any
        if isinstance(connection, AsyncConnection):
            driver = (await connection.get_raw_connection()).driver_connection
        else:  # a unit of work's LazyConnection
            driver = await connection.driver_connection(insert(self.table))
        if not driver.is_in_transaction():
            raise RuntimeError("a bulk COPY outside a transaction would commit on its own")
        try:
            await driver.copy_records_to_table(
                self.table.name, records=rows, columns=list(self.columns)
            )
        except Exception as exc:
            # SQLSTATE class 23: integrity constraint violation (a key, a reference).
            if str(getattr(exc, "sqlstate", "")).startswith("23"):
                raise IntegrityError(f"COPY {self.table.name}", None, exc) from exc
            raise


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
