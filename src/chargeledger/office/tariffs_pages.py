"""The tariffs pages (issue 16): ``GET /office/tariffs`` (search, pagination, CSV) and
``GET /office/tariffs/{id}``: the version's prices as a driver reads them (AFIR display,
``domain.tariffs.display``), the other versions of its OCPI id, where it is assigned, the
assignment form (``tariff_assign_pages``) and a price preview.

The same use cases as ``/api/v1/tariffs``: ``list_tariffs``, ``get_tariff``,
``tariff_assignments`` and ``tariff_preview.preview_tariff`` (``GET …/{id}/preview``), which
builds the planned session's CDR and prices it with the one ``price()`` (DESIGN §2): the total
and every explanation line on the page are that function's. The preview form is a GET (it
changes nothing); its start is a local time in the operator's zone. Bad preview input shows the
form again, answered 422 with the stable code (``invalid_preview``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.tariffs.assignment import StoredTariff, TariffScope
from chargeledger.domain.tariffs.display import price_display
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import CSV_BATCH, PAGE_SIZE, csv_download, page_links
from chargeledger.office.pages import error_page, render
from chargeledger.office.views import local_time, plain
from chargeledger.services import tariff_preview, tariffs
from chargeledger.services.paging import Page
from chargeledger.services.transactions import reading

router = APIRouter()
LIST = "/office/tariffs"
VERSIONS_SHOWN = 100
# Who may assign: the roles of ``POST /api/v1/tariffs/{id}/assignments`` (``WriteTariffs``).
ASSIGN_ROLES = frozenset({Role.OPERATOR, Role.FINANCE})
Text = Annotated[str | None, Query(max_length=200)]
Short = Annotated[str | None, Query(max_length=40)]
COLUMNS = (
    "Version",
    "OCPI id",
    "Currency",
    "Elements",
    "Valid from",
    "Valid until",
    "Imported",
)


def row(stored: StoredTariff, zone: str) -> list[str]:
    """One tariff version as the table and the CSV show it (``COLUMNS``)."""
    tariff = stored.tariff
    return [
        str(stored.id),
        tariff.id,
        str(tariff.currency),
        str(len(tariff.elements)),
        local_time(tariff.start_date_time, zone),
        local_time(tariff.end_date_time, zone),
        local_time(stored.created_at, zone),
    ]


@router.get("/tariffs")
async def tariffs_list(
    request: Request,
    rt: RuntimeDep,
    q: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    search = (q or "").strip()

    def link(**extra: object) -> str:
        fields = {"q": search, **extra}
        return f"{LIST}?{urlencode({k: v for k, v in fields.items() if v not in ('', None)})}"

    if format == "csv":

        async def page_at(at: int) -> Page[StoredTariff]:
            return await reading(
                rt.uow, tariffs.list_tariffs, limit=CSV_BATCH, offset=at, search=search
            )

        today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
        return csv_download(f"tariffs-{today}", COLUMNS, page_at, lambda t: row(t, zone))
    page = await reading(
        rt.uow, tariffs.list_tariffs, limit=PAGE_SIZE, offset=offset, search=search
    )
    return render(
        "tariffs.html",
        title="Tariffs",
        **visitor.context("tariffs"),
        q=search,
        columns=COLUMNS,
        rows=[(t, row(t, zone)) for t in page.items],
        zone=zone,
        **page_links(link, offset, page.next_offset),
    )


@dataclass(frozen=True, slots=True)
class PreviewForm:
    """The preview form as typed (shown again as it was, also after an error)."""

    start: str = ""
    minutes: str = ""
    kwh: str = ""
    idle_minutes: str = ""
    power_kw: str = ""

    def plan(self, zone: str) -> tariff_preview.PlannedSession:
        """The planned session asked for; InvalidInputError ``invalid_preview`` naming the
        field that does not read (bounds are the service's)."""
        return tariff_preview.PlannedSession(
            starts_at=_local_start(self.start, zone),
            kwh=_decimal(self.kwh, "kwh", "energy: kWh like 22.5"),
            charging=timedelta(minutes=_minutes(self.minutes, "minutes")),
            idle=timedelta(minutes=_minutes(self.idle_minutes or "0", "idle_minutes")),
            power_kw=_decimal(self.power_kw, "power_kw", "max power: kW like 11")
            if self.power_kw.strip()
            else None,
        )


def _invalid(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, code="invalid_preview", field=field)


def _local_start(text: str, zone: str) -> datetime:
    """``2026-03-02T08:00`` in the operator's zone (an offset typed with it wins)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _invalid("start", "start: a date and time like 2026-03-02T08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def _decimal(text: str, field: str, message: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _invalid(field, message) from None
    if not value.is_finite():
        raise _invalid(field, message)
    return value


def _minutes(text: str, field: str) -> int:
    value = text.strip()
    if not value.isdigit() or len(value) > 7:
        raise _invalid(field, f"{field.replace('_', ' ')}: whole minutes like 45")
    return int(value)


@router.get("/tariffs/{tariff_id}")
async def tariff_detail(
    tariff_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    start: Short = None,
    minutes: Short = None,
    kwh: Short = None,
    idle_minutes: Short = None,
    power_kw: Short = None,
    assigned: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    asked = start is not None or minutes is not None or kwh is not None
    form = PreviewForm(start or "", minutes or "", kwh or "", idle_minutes or "", power_kw or "")
    return await tariff_page(rt, visitor, tariff_id, form if asked else None, assigned=assigned)


def not_found(visitor: Visitor, error: ChargeledgerError) -> Response:
    return error_page(
        error.http_status,
        error.code,
        "No such tariff",
        error.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the tariffs",
    )


async def tariff_page(
    rt: Runtime,
    visitor: Visitor,
    tariff_id: uuid.UUID,
    form: PreviewForm | None,
    *,
    status_code: int = 200,
    assign: dict[str, Any] | None = None,
    assigned: str | None = None,
) -> Response:
    """The detail page; ``form``: the preview asked for (priced, or its error shown);
    ``assign``: the assignment form's values and error after a refused assignment."""
    zone = rt.settings.operator_time_zone
    try:
        stored = await reading(rt.uow, tariffs.get_tariff, tariff_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    tariff = stored.tariff
    versions = await reading(rt.uow, tariffs.list_tariffs, limit=VERSIONS_SHOWN, ocpi_id=tariff.id)
    places = await reading(rt.uow, tariffs.tariff_assignments, tariff_id)
    preview: tariff_preview.Preview | None = None
    preview_error: ChargeledgerError | None = None
    if form is not None:
        try:
            plan = form.plan(zone)
            preview = await reading(rt.uow, tariff_preview.preview_tariff, tariff_id, plan, zone)
        except ChargeledgerError as exc:  # bad input, or a tariff price() refuses
            if exc.http_status >= 500:
                raise
            preview_error, status_code = exc, exc.http_status
    shown_form = form or PreviewForm(
        rt.clock.now().astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M"), "60", "22"
    )
    may_assign = visitor.principal.role in ASSIGN_ROLES | {Role.ADMIN}
    return render(
        "tariff.html",
        status_code,
        title=f"Tariff {tariff.id}",
        **visitor.context("tariffs"),
        stored=stored,
        tariff=tariff,
        cells=dict(zip(COLUMNS, row(stored, zone), strict=True)),
        display=price_display(tariff),
        versions=[(v, local_time(v.created_at, zone)) for v in versions.items],
        places=[(a, local_time(a.assigned_at, zone)) for a in places],
        zone=zone,
        form=shown_form,
        preview=preview,
        preview_error=preview_error,
        plain=plain,
        may_assign=may_assign,
        scopes=[s.value for s in TariffScope],
        assign=assign or {"key": once.new_key(), "values": {}, "error": None},
        assigned=assigned,
    )
