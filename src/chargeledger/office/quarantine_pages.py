"""The quarantine review queue (issue 16): ``GET /office/quarantine`` lists the sessions held
back from billing with their reasons; ``POST /office/quarantine/{id}/release`` releases one,
as reported or with corrected start/stop readings.

The same rules as ``POST /api/v1/sessions/{id}/release``: its roles (``ReleaseSessions``:
operator, finance; admin always) and its use case (``session_release.resolve_session``), so a
correction is validated exactly like a station's readings and refused with the same stable
code (shown in the form, the page answered with the error's status). Releasing makes the
session billable (it books money), so the form asks for an explicit confirmation (a required
checkbox, checked again on the server: ``confirmation_required``), carries the session's CSRF
token, and an idempotency key generated per render (``office.once``): a double submit
releases once and both answers lead to the same place.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.station_link import SessionFilter
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import render
from chargeledger.office.views import kwh, local_time, plain, station_names
from chargeledger.services.charging import session_release, session_review
from chargeledger.services.charging.session_release import START, STOP
from chargeledger.services.transactions import reading

router = APIRouter()
# As ``api.routers.access.ReleaseSessions`` (admin is implied by ``admit``).
RELEASE_ROLES = frozenset({Role.OPERATOR, Role.FINANCE})
PAGE_SIZE = 50
QUEUE = "/office/quarantine"
FormText = Annotated[str, Form(max_length=2000)]
Reading = Annotated[str, Form(max_length=40)]


def _reading(text: str, field: str) -> Decimal | None:
    """A corrected reading in Wh, or None when left empty (released as reported)."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInputError(
            f"{field}: a number of Wh, like 1011650", code="invalid_number", field=field
        )
    return value


@router.get("/quarantine")
async def queue(
    request: Request,
    rt: RuntimeDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    released: uuid.UUID | None = None,
) -> Response:
    visitor = await admit(request, rt, RELEASE_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return await _queue_page(rt, visitor, offset=offset, released=released)


async def _queue_page(
    rt: Runtime,
    visitor: Visitor,
    *,
    offset: int = 0,
    released: uuid.UUID | None = None,
    status_code: int = 200,
    failed: uuid.UUID | None = None,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    zone = rt.settings.operator_time_zone
    page = await reading(
        rt.uow,
        session_review.list_sessions,
        visitor.principal,
        SessionFilter(status=SessionStatus.QUARANTINED),
        limit=PAGE_SIZE,
        offset=offset,
    )
    stations = await station_names(rt)
    items = [
        {
            "session": s,
            "station": stations.get(s.station_id, str(s.station_id)),
            "started": local_time(s.started_at, zone),
            "stopped": local_time(s.stopped_at, zone),
            "meter_start": plain(s.meter_start_wh),
            "meter_stop": plain(s.meter_stop_wh),
            "energy": kwh(s.energy_wh),
            "key": once.new_key(),
        }
        for s in page.items
    ]
    return render(
        "quarantine.html",
        status_code,
        title="Quarantine review",
        **visitor.context("quarantine"),
        items=items,
        zone=zone,
        released=released,
        failed=failed,
        error=error,
        values=values or {},
        start_field=START,
        stop_field=STOP,
        next_link=None if page.next_offset is None else f"{QUEUE}?offset={page.next_offset}",
        previous_link=None if offset == 0 else f"{QUEUE}?offset={max(offset - PAGE_SIZE, 0)}",
    )


@router.post("/quarantine/{session_id}/release")
async def release(
    session_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    note: FormText = "",
    corrected_meter_start_wh: Reading = "",
    corrected_meter_stop_wh: Reading = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, RELEASE_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"note": note, START: corrected_meter_start_wh, STOP: corrected_meter_stop_wh}

    async def work() -> once.Outcome:
        start = _reading(corrected_meter_start_wh, START)
        stop = _reading(corrected_meter_stop_wh, STOP)
        async with rt.uow() as uow:
            await session_release.resolve_session(
                uow,
                rt.clock,
                visitor.principal,
                session_id,
                rt.settings.vat_rates,
                note=note,
                corrected_meter_start_wh=start,
                corrected_meter_stop_wh=stop,
            )
            await uow.commit()
        return {"done": str(session_id)}

    try:
        if confirm != "yes":
            raise InvalidInputError(
                "tick the confirmation: a released session is billed",
                code="confirmation_required",
                field="confirm",
            )
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"release {session_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        return await _queue_page(
            rt,
            visitor,
            status_code=status,
            failed=session_id,
            error=outcome["error"],
            values=values,
        )
    return RedirectResponse(f"{QUEUE}?released={session_id}", status_code=303)
