"""Stored values as canonical JSON fragments (``adapters/db/audit_values``), from both forms a
driver hands back (SQLite's text, asyncpg's objects): each must be what
``domain.audit.json_fragment`` writes for the canonical value, or a record would hash
differently on the two back ends."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from asyncpg.pgproto import pgproto  # type: ignore[import-untyped]
from sqlalchemy import JSON, BigInteger, Boolean, Date, Integer, String, Text, Uuid

from chargeledger.adapters.db.audit_values import writer_for
from chargeledger.adapters.db.tables import signed_meter_values
from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime
from chargeledger.domain.audit import json_fragment

ID = "6d5ec626-3aed-43b2-9133-bb07ffb4a95c"
CASES: list[tuple[str, Any, list[Any], Any]] = [
    ("uuid", Uuid(), [ID.replace("-", ""), uuid.UUID(ID), pgproto.UUID(ID), ID.upper()], ID),
    (
        "decimal",
        ExactDecimal(18, 4),
        ["12.5000", Decimal("12.5000"), Decimal("12.5"), Decimal("12.50000")],
        "12.5000",
    ),
    ("negative zero", ExactDecimal(18, 4), ["-0.0000", Decimal("-0.0000"), Decimal(0)], "0.0000"),
    ("negative", ExactDecimal(7, 3), ["-3.250", Decimal("-3.25")], "-3.250"),
    (
        "instant",
        UtcDateTime(),
        [
            "2026-01-31 22:50:00.000000",
            "2026-01-31 22:50:00",
            datetime(2026, 1, 31, 22, 50, tzinfo=UTC),
            datetime(2026, 1, 31, 23, 50, tzinfo=timezone(timedelta(hours=1))),
        ],
        "2026-01-31T22:50:00.000000Z",
    ),
    ("day", Date(), ["2026-01-31", date(2026, 1, 31)], "2026-01-31"),
    (
        "json",
        JSON(),
        ['{"name": "M\\u00fcller", "b": [1, "2"]}', '{"b":[1,"2"],"name":"Müller"}'],
        {"name": "Müller", "b": [1, "2"]},
    ),
    ("true", Boolean(), [1, True], True),
    ("false", Boolean(), [0, False], False),
    ("integer", BigInteger(), [-1190], -1190),
    ("big id", signed_meter_values.c.id.type, [17], 17),
    ("text", Text(), ['Line "1"\n\\ ü'], 'Line "1"\n\\ ü'),
    ("short text", String(3), ["EUR"], "EUR"),
    ("missing", Integer(), [None], None),
]


@pytest.mark.parametrize(
    ("column_type", "stored", "canonical"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_both_back_ends_write_the_canonical_fragment(
    column_type: Any, stored: list[Any], canonical: Any
) -> None:
    write = writer_for(column_type)
    for raw in stored:
        assert write(raw) == json_fragment(canonical), raw


@pytest.mark.parametrize(
    ("column_type", "raw"),
    [
        (ExactDecimal(18, 4), "1x.50"),
        (UtcDateTime(), "yesterday"),
        (Integer(), "12"),
        (JSON(), "{"),
    ],
    ids=["decimal", "instant", "integer", "json"],
)
def test_a_value_edited_into_nonsense_is_written_as_text(column_type: Any, raw: str) -> None:
    """Reported as changed, never a crash of the verification."""
    assert json.loads(writer_for(column_type)(raw)) == raw
