"""Helpers every use case shares: applying partial updates and paging bounds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from chargeledger.errors import InvalidInputError
from chargeledger.services.ports import Clock

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
# Paging deeper than this is scanning, not browsing (filter by date instead); the bound keeps
# LIMIT/OFFSET far inside the databases' 64-bit integers (issue 11 item 17).
MAX_OFFSET = 1_000_000_000


def apply_changes(entity: T, changes: Mapping[str, Any], allowed: frozenset[str]) -> T:
    """Return a copy with ``changes`` applied; the dataclass re-validates every invariant."""
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInputError(
            f"cannot change {', '.join(sorted(unknown))}",
            code="immutable_field",
            field=sorted(unknown)[0],
        )
    return dataclasses.replace(entity, **changes)  # type: ignore[type-var]


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_PAGE_SIZE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInputError(
            f"limit must be 1-{MAX_PAGE_SIZE} and offset 0-{MAX_OFFSET}", code="invalid_paging"
        )
    return limit, offset


def operator_today(clock: Clock, time_zone: str) -> date:
    """The operator's calendar day: invoices are dated, and contracts run, where it is."""
    return clock.now().astimezone(ZoneInfo(time_zone)).date()
