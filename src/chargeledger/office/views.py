"""Small shared shaping of what the office's pages show (issue 16): times in the operator's
zone with their offset (ISO 8601, so a CSV row is unambiguous), decimals as plain text (never
floats: money and energy are Decimal, DESIGN §2), and the stations' names by id."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.bootstrap import Runtime
from chargeledger.services.catalog import list_stations
from chargeledger.services.common import MAX_PAGE_SIZE
from chargeledger.services.transactions import reading

WH_PER_KWH = Decimal(1000)


def local_time(moment: datetime | None, zone: str) -> str:
    """``2026-01-10T09:30:00+01:00``, or "" for no time."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def plain(number: Decimal | None) -> str:
    """A decimal as written, without exponent or trailing zeros ("" for none)."""
    if number is None:
        return ""
    return f"{number.normalize():f}" if number else "0"


def kwh(wh: Decimal | None) -> str:
    return "" if wh is None else plain(wh / WH_PER_KWH)


async def station_names(rt: Runtime) -> dict[uuid.UUID, str]:
    """Every station's charge point id by its id (the filter's choices and the tables)."""
    names: dict[uuid.UUID, str] = {}
    offset: int | None = 0
    while offset is not None:
        page = await reading(rt.uow, list_stations, limit=MAX_PAGE_SIZE, offset=offset)
        names.update((s.id, s.charge_point_id) for s in page.items)
        offset = page.next_offset
    return names
