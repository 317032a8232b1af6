"""The content hash of a record computed by PostgreSQL itself (issue 15: "``audit verify`` ...
target >= 200k records/s"): for each record type whose columns the server can write
canonically (every type but the invoices, whose JSON columns need sorted keys), one SELECT
returns per record its id and the SHA-256 of its canonical JSON, written and hashed by the
server in C, in its own process, while this one walks the chain. The SQL is compiled from the
same :class:`~chargeledger.domain.audit.RecordLayout` templates and column types as the Python
writers of ``audit_values``.

The Python writers stay the definition. Each value is read in the text form
``audit_values.select_expression`` reads for them, and the SQL writes it only when that text is
in the form the writers turn into JSON without a second look; otherwise (a negative or NaN
decimal, a year past 9999) the record's hash is NULL and the writers hash it. So a hash the
server gives is over exactly the bytes the writers would give (a test holds the two equal on
PostgreSQL), and a record whose hash disagrees is hashed again by the writers before it is
reported (``ChainVerifier`` holds it as doubtful). Strings are escaped by ``to_json``, which
escapes exactly as ``json.dumps(ensure_ascii=False)`` does (tested over the code points).

SQLite has no SHA-256, and writing the JSON in its SQL costs more than the writers do
(measured: 10 µs a payment event against 7), so SQLite records are hashed by the writers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import JSON, Boolean, Column, Date, Integer, String, Uuid

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

NOT_NULL = "TRUE"
_LAST_INSTANT = "TIMESTAMPTZ '10000-01-01 00:00:00+00'"  # 'YYYY' has four digits before


class NotRenderableError(Exception):
    """A column the server cannot write canonically (JSON: its keys must be sorted)."""


@dataclass(frozen=True)
class Fragment:
    """The SQL of one value's JSON text: ``plain`` is true when the server may write it
    (the writers would write the same), ``value`` its JSON text (NULL for SQL NULL)."""

    plain: str
    value: str


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fragment(alias: str, column: Column[object]) -> Fragment:
    """How the server writes ``column``'s value (see ``audit_values`` for the writers)."""
    name, kind = f'{alias}."{column.name}"', column.type
    quoted = f"""'"' || CAST({name} AS TEXT) || '"'"""
    if isinstance(kind, ExactDecimal):
        if kind.scale < 1:
            raise NotRenderableError(column.name)
        # The writers keep a non-negative fixed-scale text as it is (``_decimal``).
        pattern = literal(f"^[0-9]+\\.[0-9]{{{kind.scale}}}$")
        return Fragment(f"({name} IS NULL OR CAST({name} AS TEXT) ~ {pattern})", quoted)
    if isinstance(kind, UtcDateTime):
        # ``_instant`` turns "YYYY-MM-DD HH:MM:SS.ffffff" (26 characters) into ISO 8601 with Z.
        iso = f"""to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        return Fragment(f"({name} IS NULL OR {name} < {_LAST_INSTANT})", f"""'"' || {iso} || '"'""")
    if isinstance(kind, Uuid):
        return Fragment(NOT_NULL, quoted)  # PostgreSQL writes UUIDs lower-case, hyphenated
    if isinstance(kind, JSON):
        raise NotRenderableError(column.name)
    if isinstance(kind, Boolean):
        return Fragment(NOT_NULL, f"CASE WHEN {name} THEN 'true' WHEN NOT {name} THEN 'false' END")
    if isinstance(kind, Integer):
        return Fragment(NOT_NULL, f"CAST({name} AS TEXT)")
    if isinstance(kind, Date):
        return Fragment(NOT_NULL, f"to_json(to_char({name}, 'YYYY-MM-DD'))::text")
    if isinstance(kind, String):
        return Fragment(NOT_NULL, f"to_json(CAST({name} AS TEXT))::text")
    raise NotRenderableError(column.name)


def concatenation(pieces: list[str], values: list[str]) -> list[str]:
    """The arguments of ``concat`` for a template: ``pieces[0], values[0], pieces[1], ...``
    (``pieces``: the literal text around the template's slots, one more than ``values``);
    a NULL value is written ``null``, as the writers write None."""
    arguments = [literal(pieces[0])]
    for value, piece in zip(values, pieces[1:], strict=True):
        arguments.append(f"coalesce({value}, 'null')")
        if piece:
            arguments.append(literal(piece))
    return arguments


def all_plain(fragments: list[Fragment]) -> str:
    tests = [f.plain for f in fragments if f.plain != NOT_NULL]
    return " AND ".join(tests) if tests else NOT_NULL
