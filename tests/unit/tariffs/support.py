"""Shared helpers for the tariff tests: the conformance corpus (read in place, never copied),
exact-Decimal rounding as OCPI 2.2.1 §16.4 numbers (4 decimals), and builders for OCPI 2.2.1
Tariff (§11.3.1) and CDR (§10.3.1) JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# The corpus lives outside the repository: ../shared/conformance/ocpi-tariffs/ from the root.
REPOSITORY = Path(__file__).resolve().parents[3]
CORPUS = (REPOSITORY / ".." / "shared" / "conformance" / "ocpi-tariffs").resolve()

Number = int | str | Decimal


def load_json(path: Path) -> Any:
    """JSON with every non-integer number read as an exact Decimal (never a float)."""
    with path.open(encoding="utf-8") as f:
        return json.load(f, parse_float=Decimal)


def corpus(relative: str) -> Any:
    return load_json(CORPUS / relative)


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = corpus("cases.json")
    return data


def dec(value: Number) -> Decimal:
    if isinstance(value, bool | float):  # pragma: no cover - misuse
        raise TypeError(f"use int, str or Decimal, not {value!r}")
    return value if isinstance(value, Decimal) else Decimal(value)


def rounded(value: Number, places: int = 4) -> Decimal:
    """Half-up rounding to ``places`` decimals, the only rounding the tests apply."""
    return dec(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def hours(minutes: Number) -> Decimal:
    """A duration in minutes as OCPI hours, exact to the Decimal context (28 digits)."""
    return dec(minutes) / 60


def instant(local: str, time_zone: str = "UTC") -> datetime:
    """``local`` ("YYYY-MM-DDTHH:MM[:SS]", wall clock in ``time_zone``) as a UTC instant."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def ocpi_datetime(moment: datetime) -> str:
    """OCPI 2.2.1 §16.2 DateTime: UTC with a Z designator."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cdr_json(
    start: datetime,
    periods: Sequence[tuple[Number, Mapping[str, Number]]],
    end_minutes: Number,
    *,
    currency: str = "EUR",
    tariffs: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An OCPI 2.2.1 CDR (the fields pricing reads). ``periods`` are (minutes after ``start``,
    {dimension type: volume}); the session ends ``end_minutes`` after ``start``. Minutes are
    real elapsed time, so a period list crossing a DST change keeps its true durations."""

    def at(minutes: Number) -> str:
        return ocpi_datetime(start + timedelta(microseconds=int(dec(minutes) * 60_000_000)))

    return {
        "start_date_time": at(0),
        "end_date_time": at(end_minutes),
        "currency": currency,
        "tariffs": [dict(t) for t in tariffs],
        "cdr_location": {"country": "DEU"},
        "charging_periods": [
            {
                "start_date_time": at(offset),
                "dimensions": [
                    {"type": kind, "volume": dec(volume)} for kind, volume in dimensions.items()
                ],
            }
            for offset, dimensions in periods
        ],
    }


def component(
    kind: str, price: Number, step_size: int = 1, vat: Number | None = None
) -> dict[str, Any]:
    """An OCPI 2.2.1 §11.4.3 PriceComponent; ``vat`` None leaves the field out."""
    doc: dict[str, Any] = {"type": kind, "price": dec(price)}
    if vat is not None:
        doc["vat"] = dec(vat)
    doc["step_size"] = step_size
    return doc


def element(*components: Mapping[str, Any], **restrictions: Any) -> dict[str, Any]:
    """An OCPI 2.2.1 §11.4.4 TariffElement; keyword arguments become its restrictions."""
    doc: dict[str, Any] = {"price_components": [dict(c) for c in components]}
    if restrictions:
        doc["restrictions"] = restrictions
    return doc


def tariff_json(*elements: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """An OCPI 2.2.1 §11.3.1 Tariff in EUR with the given elements."""
    return {"id": "T1", "currency": "EUR", "elements": [dict(e) for e in elements], **extra}
