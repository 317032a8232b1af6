"""Column types that keep DESIGN §2's rules on both SQLite and PostgreSQL.

SQLite has no exact decimal type (SQLAlchemy's Numeric goes through float there), and it keeps
no time zone; these types make both back ends round-trip exactly the same Python values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(p, s) on PostgreSQL; a fixed-scale string on SQLite, so no float ever sits
    between the value we write and the value we read."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal needs a Decimal, got {type(value).__name__}")
        quantized = value.quantize(self.quantum)
        return str(quantized) if dialect.name == "sqlite" else quantized

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value

    # On SQLite the two methods above as one function each, without TypeDecorator's wrapper
    # around them (issue 17: every meter value, charge and posting passes through these).

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        quantum = self.quantum

        def to_text(value: Decimal | None) -> str | None:
            if value is None:
                return None
            if not isinstance(value, Decimal):
                raise TypeError(f"ExactDecimal needs a Decimal, got {type(value).__name__}")
            return str(value.quantize(quantum))

        return to_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: Any) -> Decimal | None:
            if value is None or isinstance(value, Decimal):
                return value
            return Decimal(value)

        return from_text


class UtcDateTime(TypeDecorator[datetime]):
    """TIMESTAMP WITH TIME ZONE; refuses naive datetimes and always returns UTC-aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite, where the value is text: written and read by ``datetime`` itself, in the
    # format of SQLAlchemy's SQLite DATETIME (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC; the same
    # text, so comparisons in SQL are unchanged), without TypeDecorator's wrapper: a read costs
    # a sixth of what it did (issue 17: every session, sample and posting read).

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"

        return to_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse_other_forms = super().result_processor(dialect, coltype)
        assert parse_other_forms is not None

        def from_text(value: Any) -> datetime | None:
            if value is None:
                return None
            parsed: datetime | None
            try:  # our own text: UTC without an offset (a sixth of ``replace(tzinfo=UTC)``)
                parsed = datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                pass
            else:
                if parsed.tzinfo is UTC:  # not so for a date alone, which ignores the offset
                    return parsed
            try:
                parsed = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                parsed = parse_other_forms(value)  # not ISO text: SQLAlchemy's own reading
            if parsed is None:
                return None
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)

        return from_text
