"""The column types' own SQLite processors (issue 17, ``adapters/db/types.py``): they write
exactly the text SQLAlchemy's SQLite DATETIME wrote (so stored rows, comparisons in SQL and
the audit chain's hashes are unchanged) and read back the same UTC instant; decimals keep
their scale. The round trip through a real database is every storage test's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

SQLITE = sqlite.dialect()
WRITE = UtcDateTime()._cached_bind_processor(SQLITE)
READ = UtcDateTime()._cached_result_processor(SQLITE, None)
SQLALCHEMY_WRITE = DateTime(timezone=True).dialect_impl(SQLITE).bind_processor(SQLITE)

instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(instants, offsets)
def test_an_instant_is_written_as_sqlalchemy_wrote_it_and_read_back(
    instant: datetime, zone: timezone
) -> None:
    local = instant.astimezone(zone)
    text = WRITE(local)
    assert text == SQLALCHEMY_WRITE(instant)
    read = READ(text)
    assert read == instant
    assert read.tzinfo is UTC


@pytest.mark.parametrize(
    ("stored", "instant"),
    [
        ("2026-12-06 13:00:00", datetime(2026, 12, 6, 13, tzinfo=UTC)),
        ("2026-12-06 13:00:00.5", datetime(2026, 12, 6, 13, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-06", datetime(2026, 12, 6, tzinfo=UTC)),
        ("2026-12-06 14:00:00+01:00", datetime(2026, 12, 6, 13, tzinfo=UTC)),
        (None, None),
    ],
    ids=["seconds", "short-fraction", "date-alone", "with-offset", "null"],
)
def test_other_stored_forms_are_read_as_utc(stored: str | None, instant: datetime | None) -> None:
    read = READ(stored)
    assert read == instant
    assert read is None or read.tzinfo is UTC


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        WRITE(datetime(2026, 12, 6, 13))


@given(st.decimals(min_value=-(10**11), max_value=10**11, places=3, allow_nan=False))
def test_a_decimal_keeps_its_value_and_scale(value: Decimal) -> None:
    column = ExactDecimal(15, 3)
    text = column._cached_bind_processor(SQLITE)(value)
    read = column._cached_result_processor(SQLITE, None)(text)
    assert read == value
    assert read.as_tuple().exponent == -3


def test_a_decimal_column_refuses_a_float() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        ExactDecimal(15, 3)._cached_bind_processor(SQLITE)(1.5)
