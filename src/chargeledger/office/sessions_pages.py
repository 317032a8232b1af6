"""The sessions pages (issue 16): ``GET /office/sessions`` (filters, pagination, CSV) and
``GET /office/sessions/{id}`` (meter chart, price explanation, signed data, payments, and
the invoice or receipt that billed it, linked to its page under ``/office/invoices``).

The same use cases as ``GET /api/v1/sessions`` and ``/sessions/{id}``, ``/cost``
(``session_review``, ``session_pricing``) with the same filter type (``SessionFilter``), so
the page and the API never disagree. Dates in the filter are the operator's calendar days
(``CHARGELEDGER_OPERATOR_TIME_ZONE``): "to" includes its whole day. The CSV has the table's
columns, decimals as text and times in the operator's zone with their offset (ISO 8601), and
is streamed page by page so a long list never sits in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from markupsafe import Markup

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import Measurand, MeterSample, Session, SessionStatus
from chargeledger.domain.identity import Principal
from chargeledger.domain.station_link import SessionFilter
from chargeledger.errors import ChargeledgerError, InvalidInputError, NotFoundError
from chargeledger.office.charts import TimePoint, line_chart
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    PAGE_SIZE,
    choice_filter,
    csv_download,
    day_filter,
    invalid_filter,
    page_links,
)
from chargeledger.office.pages import error_page, render
from chargeledger.office.views import WH_PER_KWH, kwh, local_time, plain, station_names
from chargeledger.services.billing import invoice_documents
from chargeledger.services.charging import session_pricing, session_review
from chargeledger.services.paging import Page
from chargeledger.services.payments import views as payment_views
from chargeledger.services.transactions import reading

router = APIRouter()
LIST = "/office/sessions"
Text = Annotated[str | None, Query(max_length=200)]
COLUMNS = (
    "Session",
    "Transaction",
    "Station",
    "EVSE",
    "Token",
    "Account",
    "Status",
    "Started",
    "Stopped",
    "Energy (kWh)",
    "Quarantine reasons",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the filter form asked, as typed (to show it again and to link the next page)."""

    start: str = ""
    end: str = ""
    station: str = ""
    status: str = ""
    q: str = ""

    def query(self, **extra: object) -> str:
        fields: dict[str, object] = {"from": self.start, "to": self.end, "station": self.station}
        fields |= {"status": self.status, "q": self.q, **extra}
        return urlencode({k: v for k, v in fields.items() if v not in ("", None)})

    def criteria(self, zone: str) -> SessionFilter:
        """The ``SessionFilter`` asked for; InvalidInputError ``invalid_filter`` naming the
        field that is not a date, an id or a status. ``q``: an account id, else an idTag."""
        tz = ZoneInfo(zone)
        start = day_filter(self.start, "from")
        end = day_filter(self.end, "to")
        account_id = _uuid(self.q, "q", required=False)
        return SessionFilter(
            station_id=_uuid(self.station, "station"),
            account_id=account_id,
            status=choice_filter(SessionStatus, self.status, "status"),
            started_from=None if start is None else datetime.combine(start, time(), tz),
            started_before=None
            if end is None
            else datetime.combine(end + timedelta(days=1), time(), tz),
            id_tag=self.q.strip() or None if account_id is None else None,
        )


def _uuid(text: str, field: str, required: bool = True) -> uuid.UUID | None:
    if not text.strip():
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        if required:
            raise invalid_filter(field, f"{field}: not a known id") from None
        return None


def row(session: Session, stations: dict[uuid.UUID, str], zone: str) -> list[str]:
    """One session as the table and the CSV show it (``COLUMNS``)."""
    return [
        str(session.id),
        session.transaction_ref,
        stations.get(session.station_id, str(session.station_id)),
        str(session.evse_id),
        session.id_tag or "",
        "" if session.account_id is None else str(session.account_id),
        session.status.value,
        local_time(session.started_at, zone),
        local_time(session.stopped_at, zone),
        kwh(session.energy_wh),
        " ".join(r.value for r in session.quarantine_reasons),
    ]


@router.get("/sessions")
async def sessions_list(
    request: Request,
    rt: RuntimeDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    station: Text = None,
    status: Text = None,
    q: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    filters = Filters(start or "", end or "", station or "", status or "", q or "")
    stations = await station_names(rt)
    try:
        criteria = filters.criteria(zone)
    except InvalidInputError as exc:
        return _list_page(visitor, rt, filters, stations, [], None, 0, exc)
    if format == "csv":
        return _csv(rt, visitor.principal, criteria, stations, zone)
    page = await reading(
        rt.uow,
        session_review.list_sessions,
        visitor.principal,
        criteria,
        limit=PAGE_SIZE,
        offset=offset,
    )
    rows = [(s, row(s, stations, zone)) for s in page.items]
    return _list_page(visitor, rt, filters, stations, rows, page.next_offset, offset, None)


def _list_page(
    visitor: Visitor,
    rt: Runtime,
    filters: Filters,
    stations: dict[uuid.UUID, str],
    rows: list[tuple[Session, list[str]]],
    next_offset: int | None,
    offset: int,
    error: InvalidInputError | None,
) -> Response:
    return render(
        "sessions.html",
        422 if error else 200,
        title="Sessions",
        **visitor.context("sessions"),
        filters=filters,
        stations=sorted(stations.items(), key=lambda item: item[1]),
        statuses=[s.value for s in SessionStatus],
        columns=COLUMNS,
        rows=rows,
        error=error,
        zone=rt.settings.operator_time_zone,
        **page_links(lambda **extra: f"{LIST}?{filters.query(**extra)}", offset, next_offset),
    )


def _csv(
    rt: Runtime,
    principal: Principal,
    criteria: SessionFilter,
    stations: dict[uuid.UUID, str],
    zone: str,
) -> Response:
    async def page_at(offset: int) -> Page[Session]:
        return await reading(
            rt.uow,
            session_review.list_sessions,
            principal,
            criteria,
            limit=CSV_BATCH,
            offset=offset,
        )

    def line(session: Session) -> list[str]:
        return row(session, stations, zone)

    today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
    return csv_download(f"sessions-{today}", COLUMNS, page_at, line)


@router.get("/sessions/{session_id}")
async def session_page(session_id: uuid.UUID, request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    try:
        detail = await reading(
            rt.uow,
            session_review.session_detail,
            visitor.principal,
            session_id,
            rt.meter_signatures,
        )
    except NotFoundError as exc:
        return error_page(
            404,
            exc.code,
            "No such session",
            exc.message,
            principal=visitor.principal,
            csrf=visitor.csrf,
            back="/office/sessions",
            back_label="Back to the sessions",
        )
    session = detail.session
    price: session_pricing.SessionPrice | None = None
    price_problem: ChargeledgerError | None = None
    try:
        price = await reading(
            rt.uow,
            session_pricing.price_session,
            rt.clock,
            visitor.principal,
            session_id,
            rt.settings.vat_rates,
        )
    except ChargeledgerError as exc:  # under review, no tariff: said on the page
        price_problem = exc
    payments = await reading(rt.uow, payment_views.session_payments, visitor.principal, session_id)
    document = await reading(
        rt.uow, invoice_documents.session_document, visitor.principal, session_id
    )
    stations = await station_names(rt)
    return render(
        "session.html",
        title=f"Session {session.transaction_ref}",
        **visitor.context("sessions"),
        session=session,
        cells=dict(zip(COLUMNS, row(session, stations, zone), strict=True)),
        zone=zone,
        charts=meter_charts(session, detail.samples, zone),
        price=price,
        price_problem=price_problem,
        plain=plain,
        local_time=local_time,
        signed=detail.signed,
        payments=payments,
        document=document,
    )


def _in(sample: MeterSample, unit_k: str) -> Decimal:
    """A sample in kWh / kW whether the station sent Wh / W or kWh / kW (OCPP UnitOfMeasure)."""
    return sample.value if sample.unit == unit_k else sample.value / WH_PER_KWH


def meter_charts(session: Session, samples: list[MeterSample], zone: str) -> list[Markup]:
    """Energy charged since the start and power, over the session's time. Energy: the start
    reading (0), the register samples without a phase (the totals) minus the start reading,
    and the stop reading; the station's own figures, so a quarantined session shows what is
    in doubt."""
    tz = ZoneInfo(zone)

    def point(at: datetime, value: Decimal) -> TimePoint:
        seconds = max((at - session.started_at).total_seconds(), 0.0)
        return TimePoint(at.astimezone(tz).strftime("%H:%M:%S"), seconds, _tidy(value))

    def series(measurand: Measurand, unit_k: str, base: Decimal) -> list[TimePoint]:
        return [
            point(s.timestamp, _in(s, unit_k) - base)
            for s in sorted(samples, key=lambda s: s.timestamp)
            if s.measurand is measurand and s.phase is None
        ]

    start_kwh = session.meter_start_wh / WH_PER_KWH
    energy = [point(session.started_at, Decimal(0))]
    energy += series(Measurand.ENERGY_IMPORT_REGISTER, "kWh", start_kwh)
    if session.stopped_at is not None and session.meter_stop_wh is not None:
        energy.append(point(session.stopped_at, session.meter_stop_wh / WH_PER_KWH - start_kwh))
    power = series(Measurand.POWER_IMPORT, "kW", Decimal(0))
    return [
        Markup(line_chart("chart-energy", "Energy charged since the start (kWh)", "kWh", energy)),
        Markup(line_chart("chart-power", "Power (kW)", "kW", power)),
    ]


def _tidy(value: Decimal) -> Decimal:
    return value.normalize() if value else Decimal(0)
