"""The chained records as they are stored (issue 15): which rows and columns make each record
type, the SQL that reads them raw, and their content hashes.

A record's fields are the columns of its row as they were when the chain began (listed here,
not read from the table: a column added later is not part of the record, and a record type's
fields never change — a new field would be a new record type). A journal entry carries its
postings and an invoice its lines, in their order. The same code hashes a record when its
transaction writes it (reading the rows back) and when ``audit verify`` streams every table,
so the two can only disagree when the stored row did.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Table, bindparam, text
from sqlalchemy.sql.elements import TextClause

from chargeledger.adapters.db.audit_sql import (
    NotRenderableError,
    all_plain,
    concatenation,
    fragment,
)
from chargeledger.adapters.db.audit_values import (
    Writer,
    fast_writer_for,
    select_expression,
    writer_for,
)
from chargeledger.adapters.db.billing_tables import (
    invoice_lines,
    invoices,
    journal_entries,
    postings,
)
from chargeledger.adapters.db.payment_tables import payment_events
from chargeledger.adapters.db.tables import signed_meter_values
from chargeledger.domain.audit import RecordLayout, RecordType

Digest = tuple[str, str | None]  # (record id, content hash; None: not subject to the chain)


@dataclass(frozen=True)
class RecordSource:
    """One record type: its head table, and its items' table when it has items."""

    layout: RecordLayout
    head: Table
    items: Table | None = None
    item_key: str = ""  # the items' column that names the head's id
    item_position: str = ""  # the column that orders the items
    # Invoices: a row in this status is a draft, which may still change (not chained yet).
    draft_status: str | None = None

    @cached_property
    def writers(self) -> tuple[Writer, ...]:
        return tuple(writer_for(self.head.c[name].type) for name in self.layout.order)

    @cached_property
    def item_writers(self) -> tuple[Writer, ...]:
        if self.items is None:
            return ()
        return tuple(writer_for(self.items.c[name].type) for name in self.layout.item_order)

    @cached_property
    def fast_writers(self) -> tuple[Writer, ...]:
        return tuple(fast_writer_for(self.head.c[name]) for name in self.layout.order)

    @cached_property
    def fast_item_writers(self) -> tuple[Writer, ...]:
        if self.items is None:
            return ()
        return tuple(fast_writer_for(self.items.c[name]) for name in self.layout.item_order)

    @cached_property
    def _id_slot(self) -> int:
        return self.layout.order.index("id")

    def select(self, by_ids: bool, dialect: str) -> TextClause:
        """The rows of every record (``by_ids``: of the records named by ``:ids``), a record's
        items right after one another, read without type processing (``select_expression``)."""
        columns = [select_expression("h", self.head.c[name], dialect) for name in self.layout.order]
        sql = f'FROM "{self.head.name}" h'
        order = ""
        if self.items is not None:
            columns += [
                select_expression("i", self.items.c[name], dialect)
                for name in self.layout.item_order
            ]
            sql += f' LEFT OUTER JOIN "{self.items.name}" i ON i."{self.item_key}" = h."id"'
            order = f' ORDER BY h."id", i."{self.item_position}"'
        where = ' WHERE h."id" IN :ids' if by_ids else ""
        statement = text(f"SELECT {', '.join(columns)} {sql}{where}{order}")
        if by_ids:
            statement = statement.bindparams(
                bindparam("ids", expanding=True, type_=self.head.c.id.type)
            )
        return statement

    def rendered_select(self, dialect: str) -> TextClause | None:
        """On PostgreSQL, one row per record, hashed by the server (``audit_sql``): (id,
        SHA-256 hex, NULL where a value is not plain). None: on SQLite, or for a type with a
        column the server cannot write (an invoice's JSON)."""
        return self._server_hashed if dialect == "postgresql" else None

    @cached_property
    def _server_hashed(self) -> TextClause | None:
        try:
            return self._compile_server_hashed()
        except NotRenderableError:
            return None

    def _compile_server_hashed(self) -> TextClause:
        layout, head = self.layout, self.head
        before, item, after = layout.pieces()
        fields = [fragment("h", head.c[name]) for name in layout.order]
        values = [f.value for f in fields]
        split = layout.split
        arguments = concatenation(before, values[:split])
        plain, joined = all_plain(fields), ""
        if self.items is not None:
            listed, joined = self._items_join(item)
            arguments.append(listed)
            plain = f"{plain} AND (g.k IS NULL OR g.plain)"
        arguments += concatenation(after, values[split:])
        if len(arguments) > 100:  # PostgreSQL's limit on a function's arguments
            raise NotRenderableError(layout.record_type)
        body = f"concat({', '.join(arguments)})"
        digest = f"encode(pg_catalog.sha256(convert_to({body}, 'UTF8')), 'hex')"
        return text(
            f'SELECT CAST(h."id" AS TEXT), CASE WHEN {plain} THEN {digest} END '
            f'FROM "{head.name}" h{joined}'
        )

    def _items_join(self, pieces: list[str]) -> tuple[str, str]:
        """The items' JSON, in position order, joined by commas (an argument of the body's
        ``concat``), and the join that gives it; items without a position are no items (as
        in :meth:`Digests.feed`)."""
        assert self.items is not None
        fields = [fragment("i", self.items.c[name]) for name in self.layout.item_order]
        one = f"concat({', '.join(concatenation(pieces, [f.value for f in fields]))})"
        key, position = f'i."{self.item_key}"', f'i."{self.item_position}"'
        grouped = (
            f"SELECT {key} AS k, bool_and({all_plain(fields)}) AS plain, "
            f"string_agg({one}, ',' ORDER BY {position}) AS items "
            f'FROM "{self.items.name}" i WHERE {position} IS NOT NULL GROUP BY {key}'
        )
        return "coalesce(g.items, '')", f' LEFT OUTER JOIN ({grouped}) g ON g.k = h."id"'

    def digests(self) -> Digests:
        return Digests(self)

    def finish(self, fragments: Sequence[str], items: Sequence[str]) -> Digest:
        record_id = fragments[self._id_slot]
        if record_id[0] == '"':
            record_id = record_id[1:-1]
        if self.draft_status is not None and fragments[self._status_slot] == self.draft_status:
            return record_id, None
        return record_id, hashlib.sha256(self.layout.render(fragments, items)).hexdigest()

    @cached_property
    def _status_slot(self) -> int:
        return self.layout.order.index("status")


class Digests:
    """Rows in, content hashes out. The rows of one record arrive one after another (the
    query's order), possibly across batches, so the record being read is kept between
    :meth:`feed` calls until :meth:`flush`."""

    def __init__(self, source: RecordSource) -> None:
        self._source = source
        self._key: Any = None
        self._fragments: list[str] = []
        self._items: list[str] = []

    def feed(self, rows: Iterable[Sequence[Any]]) -> list[Digest]:
        """Each value is written by a C function where its column's usual type allows
        (``fast_writer_for``); a row holding anything else is written again value by value
        (an edit by hand shows as a changed record, never as an error)."""
        source, call = self._source, operator.call
        fast, safe = source.fast_writers, source.writers
        if source.items is None:
            found = []
            for row in rows:
                try:
                    fragments = list(map(call, fast, row))
                except TypeError:
                    fragments = list(map(call, safe, row))
                found.append(source.finish(fragments, ()))
            return found
        fast_items, safe_items, width = source.fast_item_writers, source.item_writers, len(fast)
        key_at = source.layout.order.index("id")
        mark = width + source.layout.item_order.index(source.item_position)
        done: list[Digest] = []
        key, fragments, items = self._key, self._fragments, self._items
        for row in rows:
            if row[key_at] != key:
                if key is not None:
                    done.append(source.finish(fragments, items))
                key, items = row[key_at], []
                try:
                    fragments = list(map(call, fast, row))
                except TypeError:
                    fragments = list(map(call, safe, row))
            if row[mark] is not None:
                values = row[width:]
                try:
                    items += list(map(call, fast_items, values))
                except TypeError:
                    items += list(map(call, safe_items, values))
        self._key, self._fragments, self._items = key, fragments, items
        return done

    def flush(self) -> list[Digest]:
        if self._key is None:
            return []
        found = [self._source.finish(self._fragments, self._items)]
        self._key, self._fragments, self._items = None, [], []
        return found


SOURCES: dict[str, RecordSource] = {
    RecordType.JOURNAL_ENTRY: RecordSource(
        RecordLayout(
            RecordType.JOURNAL_ENTRY,
            ("id", "kind", "booked_on", "description", "source_type", "source_id", "created_at"),
            ("postings", ("line", "account", "currency", "amount_minor")),
        ),
        journal_entries,
        postings,
        item_key="entry_id",
        item_position="line",
    ),
    RecordType.INVOICE: RecordSource(
        RecordLayout(
            RecordType.INVOICE,
            (
                *("id", "kind", "status", "series", "number", "account_id", "seller", "buyer"),
                *("currency", "period_start", "period_end", "layout", "payment_terms_days"),
                *("vat_note", "issue_date", "due_date", "original_id", "original_number"),
                *("reason", "run_key", "tax_overrides", "purchase_order", "contract_reference"),
                *("annex", "net_total", "tax_total", "gross_total", "created_at", "issued_at"),
            ),
            (
                "lines",
                (
                    *("position", "description", "net", "vat_category", "vat_percent"),
                    *("country", "charge_id", "session_id", "site_name", "station_name"),
                    *("local_start", "energy_kwh", "charging_hours", "idle_hours"),
                    *("components", "cost_centre", "driver"),
                ),
            ),
        ),
        invoices,
        invoice_lines,
        item_key="invoice_id",
        item_position="position",
        draft_status='"draft"',
    ),
    RecordType.PAYMENT_EVENT: RecordSource(
        RecordLayout(
            RecordType.PAYMENT_EVENT,
            (
                *("id", "payment_id", "kind", "fact", "amount", "operation"),
                *("provider_ref", "detail", "at"),
            ),
        ),
        payment_events,
    ),
    RecordType.SIGNED_METER_VALUE: RecordSource(
        RecordLayout(
            RecordType.SIGNED_METER_VALUE,
            (
                *("id", "session_id", "timestamp", "context", "format", "signing_method"),
                *("encoding_method", "public_key", "data", "data_hash"),
            ),
        ),
        signed_meter_values,
    ),
}


def hash_written(
    record_type: str,
    heads: Sequence[Sequence[Any]],
    head_columns: Sequence[str],
    items: Sequence[Sequence[Any]] = (),
    item_columns: Sequence[str] = (),
) -> list[Digest]:
    """The content hashes of records as the caller's transaction writes them (issue 17: a
    month's entries and invoices hashed without reading them back): ``heads`` and ``items``
    are the rows handed to the driver, in the driver's form (``bulk.BulkInsert.driver_rows``:
    on SQLite the very text and integers stored, on PostgreSQL the ``UUID``, ``Decimal``,
    ``datetime``, ``date`` and JSON text asyncpg stores exactly), with their columns named.
    The writers take both forms as they take a stored row's, so each hash is the one
    :func:`hash_stored` gives for the stored record (a test holds the two equal)."""
    source = SOURCES[record_type]
    take = [head_columns.index(name) for name in source.layout.order]
    found: dict[Any, list[list[Any]]] = {}
    if source.items is not None:
        key_at = item_columns.index(source.item_key)
        position_at = item_columns.index(source.item_position)
        pick = [item_columns.index(name) for name in source.layout.item_order]
        grouped: dict[Any, list[Sequence[Any]]] = {}
        for item in items:
            grouped.setdefault(item[key_at], []).append(item)
        for key, rows_of in grouped.items():
            rows_of.sort(key=operator.itemgetter(position_at))
            found[key] = [[item[i] for i in pick] for item in rows_of]
        empty = [None] * len(pick)
    id_at = head_columns.index("id")
    rows: list[list[Any]] = []
    for head in heads:
        values = [head[i] for i in take]
        if source.items is None:
            rows.append(values)
        else:
            rows += [values + item for item in found.get(head[id_at], [empty])]
    digests = source.digests()
    return digests.feed(rows) + digests.flush()


async def hash_stored(connection: Any, record_type: str, ids: Sequence[Any]) -> list[Digest]:
    """The content hashes of the records ``ids`` as stored now (in the caller's transaction),
    in no particular order; records not found are left out."""
    source = SOURCES[record_type]
    digests, found = source.digests(), []
    statement = source.select(by_ids=True, dialect=connection.dialect.name)
    for start in range(0, len(ids), 500):
        result = await connection.execute(statement, {"ids": list(ids[start : start + 500])})
        found += digests.feed(result.all())
        found += digests.flush()
    return found
