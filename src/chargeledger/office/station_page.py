"""A station's page (issue 16): ``GET /office/stations/{id}`` with its live status, its EVSEs
and connectors, the sessions running on it now (linked to ``/office/sessions/{id}``), its
recent sessions, its meter keys, and the operator's command forms (``station_command_pages``).

Read through the REST API's use cases: the status of ``GET /api/v1/stations/{id}/status``
(``station_health`` over ``station_status``), the sessions of ``GET /api/v1/sessions``
(``session_review``), the keys of ``GET /api/v1/stations/{id}/meter-keys`` (``meter_keys``).
The forms are shown to the roles that may send commands (``POST /api/v1/stations/{id}/commands``:
operator; admin always); each carries its own idempotency key, fresh on every rendering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.station_link import CommandKind, ResetType, SessionFilter
from chargeledger.errors import ChargeledgerError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import error_page, render
from chargeledger.office.stations_pages import LIST, since
from chargeledger.office.views import kwh, local_time
from chargeledger.services.catalog import get_site
from chargeledger.services.charging import meter_keys, session_review
from chargeledger.services.charging.station_health import station_health
from chargeledger.services.transactions import reading

router = APIRouter()
# The roles of ``POST /api/v1/stations/{id}/commands`` (``CommandStations``; admin always).
COMMAND_ROLES = frozenset({Role.OPERATOR})
RECENT_SESSIONS = 10
# TriggerMessage's requested messages both OCPP versions know (1.6 §7.47, 2.0.1 §3.54).
TRIGGERABLE = ("StatusNotification", "Heartbeat", "MeterValues", "BootNotification")
COMMAND_LABELS = {
    CommandKind.REMOTE_START: "Remote start",
    CommandKind.REMOTE_STOP: "Remote stop",
    CommandKind.CHANGE_AVAILABILITY: "Change availability",
    CommandKind.RESERVE_NOW: "Reserve now",
    CommandKind.CANCEL_RESERVATION: "Cancel reservation",
    CommandKind.TRIGGER_MESSAGE: "Trigger message",
    CommandKind.RESET: "Reset",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of a sent form: the station's status word, or the error that stopped it."""

    kind: CommandKind | None  # None: the form named no kind this page sends
    status: str | None = None
    detail: str | None = None
    error: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return "Command" if self.kind is None else COMMAND_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class Refill:
    """The values of the form that failed, shown again in that form (the others are empty)."""

    kind: CommandKind | None = None
    values: dict[str, str] = field(default_factory=dict)

    def of(self, kind: str, name: str, default: str = "") -> str:
        if self.kind is None or self.kind.value != kind:
            return default
        return self.values.get(name, default)


def may_command(visitor: Visitor) -> bool:
    return visitor.principal.role in COMMAND_ROLES | {Role.ADMIN}


def not_found(visitor: Visitor, error: ChargeledgerError) -> Response:
    return error_page(
        404,
        error.code,
        "No such station",
        error.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the stations",
    )


@router.get("/stations/{station_id}")
async def station_page(station_id: uuid.UUID, request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    return await detail_page(rt, visitor, station_id)


async def detail_page(
    rt: Runtime,
    visitor: Visitor,
    station_id: uuid.UUID,
    *,
    status_code: int = 200,
    answer: Answer | None = None,
    refill: Refill | None = None,
) -> Response:
    """The page, answered with ``status_code`` (a refused command's status)."""
    zone = rt.settings.operator_time_zone
    try:
        item = await reading(rt.uow, station_health, station_id, rt.bus.is_connected)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    station = item.station
    site = await reading(rt.uow, get_site, station.site_id)
    principal = visitor.principal
    running = await reading(
        rt.uow,
        session_review.list_sessions,
        principal,
        SessionFilter(station_id=station_id, status=SessionStatus.ACTIVE),
        limit=50,
    )
    recent = await reading(
        rt.uow,
        session_review.list_sessions,
        principal,
        SessionFilter(station_id=station_id),
        limit=RECENT_SESSIONS,
    )
    keys = await reading(rt.uow, meter_keys.meter_keys_of, station_id)
    reported = {(c.evse_id, c.connector_id): c for c in item.status.connectors}
    return render(
        "station.html",
        status_code,
        title=f"Station {station.charge_point_id}",
        **visitor.context("stations"),
        item=item,
        station=station,
        site=site,
        state=item.status.state,
        since=local_time(since(item), zone),
        reported=reported,
        station_wide=[c for c in item.status.connectors if c.evse_id == 0],
        running=running.items,
        recent=recent.items,
        keys=keys,
        zone=zone,
        local_time=local_time,
        kwh=kwh,
        may_command=may_command(visitor),
        keys_of_forms={kind.value: once.new_key() for kind in CommandKind},
        triggerable=TRIGGERABLE,
        reset_types=[t.value for t in ResetType],
        answer=answer,
        refill=refill or Refill(),
    )
