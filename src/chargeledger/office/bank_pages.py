"""The bank pages (issue 16): ``GET /office/bank`` (the imported statements, and the upload of
a camt.053 or CSV statement file), ``GET /office/bank/statements/{id}`` (a statement's entries
and what became of each) and ``GET /office/bank/entries`` (entries by state, pagination, CSV;
``state=unmatched`` — the default — is the queue finance works through, ``bank_entry_pages``).

The same use cases and roles as ``/api/v1/bank`` (issue 13): ``ReadBank`` (finance,
operators) reads through ``bank_decisions.list_entries``; ``WriteBank`` (finance) uploads
a statement file here, imported as a long job with its own page (``bank_import_pages``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.identity import Role
from chargeledger.domain.text import money_figure
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import CSV_BATCH, choice_filter, csv_download
from chargeledger.office.pages import error_page, render
from chargeledger.office.views import local_time
from chargeledger.services.billing import bank_decisions as decisions
from chargeledger.services.paging import Page
from chargeledger.services.transactions import reading

router = APIRouter()
HOME = "/office/bank"
ENTRIES = "/office/bank/entries"
PAGE_SIZE = 50
# As ``api.routers.access``: ReadBank, WriteBank (admin is implied by ``admit``).
READ_ROLES = frozenset({Role.FINANCE, Role.OPERATOR})
WRITE_ROLES = frozenset({Role.FINANCE})
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
COLUMNS = (
    "Entry",
    "Reference",
    "Booked",
    "Amount",
    "Currency",
    "Direction",
    "State",
    "Rule",
    "Invoice",
    "Account",
    "Counterparty",
    "Counterparty IBAN",
    "Remittance",
    "Decided by",
    "Decided",
    "Note",
)


def row(record: BankEntry, zone: str) -> list[str]:
    """One entry as the tables and the CSV show it (``COLUMNS``)."""
    entry = record.entry
    return [
        str(record.id),
        entry.entry_ref,
        "" if entry.booking_date is None else entry.booking_date.isoformat(),
        money_figure(entry.amount.amount, entry.amount.currency.code),
        entry.amount.currency.code,
        entry.direction.value,
        record.state.value,
        record.rule or "",
        "" if record.invoice_id is None else str(record.invoice_id),
        "" if record.account_id is None else str(record.account_id),
        entry.counterparty_name or "",
        entry.counterparty_iban or "",
        entry.remittance_unstructured or entry.creditor_reference or "",
        record.decided_by or "",
        local_time(record.decided_at, zone),
        record.note or "",
    ]


def may_write(visitor: Visitor) -> bool:
    return visitor.principal.role in WRITE_ROLES | {Role.ADMIN}


@router.get("/bank")
async def bank_home(request: Request, rt: RuntimeDep, offset: Offset = 0) -> Response:
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return await home_page(rt, visitor, offset=offset)


async def home_page(
    rt: Runtime,
    visitor: Visitor,
    *,
    offset: int = 0,
    status_code: int = 200,
    error: dict[str, Any] | None = None,
) -> Response:
    """The statements and the upload form (with ``error``: why an upload was refused)."""
    page = await reading(rt.uow, decisions.list_statements, PAGE_SIZE, offset)
    previous = None if offset == 0 else max(offset - PAGE_SIZE, 0)
    return render(
        "bank.html",
        status_code,
        title="Bank",
        **visitor.context("bank"),
        statements=page.items,
        zone=rt.settings.operator_time_zone,
        local_time=local_time,
        may_write=may_write(visitor),
        upload_key=once.new_key(),
        error=error,
        next_link=None if page.next_offset is None else f"{HOME}?offset={page.next_offset}",
        previous_link=None if previous is None else f"{HOME}?offset={previous}",
    )


@router.get("/bank/statements/{statement_id}")
async def statement_page(
    statement_id: uuid.UUID, request: Request, rt: RuntimeDep, offset: Offset = 0
) -> Response:
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    try:
        found = await reading(rt.uow, decisions.get_statement, statement_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return error_page(
            exc.http_status,
            exc.code,
            "No such statement",
            exc.message,
            principal=visitor.principal,
            csrf=visitor.csrf,
            back=HOME,
            back_label="Back to the bank statements",
        )
    page = await reading(
        rt.uow, decisions.list_entries, None, PAGE_SIZE, offset, statement_row=statement_id
    )
    here = f"{HOME}/statements/{statement_id}"
    previous = None if offset == 0 else max(offset - PAGE_SIZE, 0)
    return render(
        "bank_statement.html",
        title=f"Statement {found.statement_id}",
        **visitor.context("bank"),
        statement=found,
        rows=[(e, row(e, zone)) for e in page.items],
        columns=COLUMNS,
        zone=zone,
        local_time=local_time,
        next_link=None if page.next_offset is None else f"{here}?offset={page.next_offset}",
        previous_link=None if previous is None else f"{here}?offset={previous}",
    )


@router.get("/bank/entries")
async def entries_list(
    request: Request,
    rt: RuntimeDep,
    state: Annotated[str, Query(max_length=40)] = EntryState.UNMATCHED.value,
    offset: Offset = 0,
    format: Annotated[str | None, Query(max_length=10)] = None,
    decided: uuid.UUID | None = None,
) -> Response:
    """Entries in one state (``any``: all); the unmatched queue by default."""
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    try:
        wanted = None if state == "any" else choice_filter(EntryState, state, "state")
    except InvalidInputError as exc:
        return entries_page(
            rt, visitor, state, Page(items=[], next_offset=None), 0, filter_error=exc
        )
    if format == "csv":
        return _csv(rt, wanted, zone)
    page = await reading(rt.uow, decisions.list_entries, wanted, PAGE_SIZE, offset)
    return entries_page(rt, visitor, state, page, offset, decided=decided)


def entries_page(
    rt: Runtime,
    visitor: Visitor,
    state: str,
    page: Page[BankEntry],
    offset: int,
    *,
    status_code: int = 200,
    filter_error: InvalidInputError | None = None,
    decided: uuid.UUID | None = None,
    failed: uuid.UUID | None = None,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The entries of ``state``; the unmatched ones with finance's decision forms."""
    zone = rt.settings.operator_time_zone

    def link(**extra: object) -> str:
        return f"{ENTRIES}?{urlencode({'state': state, **extra})}"

    previous = None if offset == 0 else max(offset - PAGE_SIZE, 0)
    return render(
        "bank_entries.html",
        422 if filter_error else status_code,
        title="Unmatched bank entries" if state == EntryState.UNMATCHED.value else "Bank entries",
        **visitor.context("bank"),
        state=state,
        states=["any", *(s.value for s in EntryState)],
        rows=[(e, row(e, zone), once.new_key()) for e in page.items],
        columns=COLUMNS,
        zone=zone,
        may_write=may_write(visitor),
        filter_error=filter_error,
        decided=decided,
        failed=failed,
        error=error,
        values=values or {},
        csv_link=link(format="csv"),
        next_link=None if page.next_offset is None else link(offset=page.next_offset),
        previous_link=None if previous is None else link(offset=previous),
    )


def _csv(rt: Runtime, state: EntryState | None, zone: str) -> Response:
    async def page_at(offset: int) -> Page[BankEntry]:
        return await reading(rt.uow, decisions.list_entries, state, CSV_BATCH, offset)

    today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
    name = f"bank-entries-{state.value if state else 'all'}-{today}"
    return csv_download(name, COLUMNS, page_at, lambda e: row(e, zone))
