"""What the office's list pages share (issue 16): reading the filter form's values with the
stable code ``invalid_filter``, and the CSV download of a filtered list, streamed a page of
the service at a time (RFC 4180 lines, UTF-8, an attachment named by the list and the day)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date
from enum import Enum
from typing import TypedDict, TypeVar

from fastapi.responses import StreamingResponse

from chargeledger.errors import InvalidInputError
from chargeledger.office.pages import PAGE_HEADERS
from chargeledger.services.paging import Page

CSV_BATCH = 500  # rows per page of the service while a CSV streams
Item = TypeVar("Item")
Choice = TypeVar("Choice", bound=Enum)


def invalid_filter(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, code="invalid_filter", field=field)


def day_filter(text: str, field: str) -> date | None:
    """A day typed as YYYY-MM-DD; empty: no filter."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise invalid_filter(field, f"{field}: a date as YYYY-MM-DD, not {text!r}") from None


def choice_filter(kind: type[Choice], text: str, field: str) -> Choice | None:
    """One of ``kind``'s values; empty: no filter."""
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        known = ", ".join(str(member.value) for member in kind)
        raise invalid_filter(field, f"{field}: one of {known}") from None


def csv_download(
    name: str,
    header: Sequence[str],
    page_at: Callable[[int], Awaitable[Page[Item]]],
    row: Callable[[Item], Sequence[str]],
) -> StreamingResponse:
    """Every item of the list, page after page (``page_at(offset)``), as ``name``.csv."""

    async def lines() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
        writer.writerow(header)
        offset: int | None = 0
        while offset is not None:
            page = await page_at(offset)
            writer.writerows(row(item) for item in page.items)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            offset = page.next_offset

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


PAGE_SIZE = 50  # rows of a list page


class PageLinks(TypedDict):
    csv_link: str
    next_link: str | None
    previous_link: str | None


def page_links(link: Callable[..., str], offset: int, next_offset: int | None) -> PageLinks:
    """A list page's CSV, next and previous links, for ``base.html``'s list blocks.
    ``link(**extra)`` writes the page's own address with its filters and ``extra`` added;
    the first page is linked without an offset."""
    previous = None if offset == 0 else max(offset - PAGE_SIZE, 0)
    return PageLinks(
        csv_link=link(format="csv"),
        next_link=None if next_offset is None else link(offset=next_offset),
        previous_link=None if previous is None else link(offset=previous or None),
    )
