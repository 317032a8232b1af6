"""Operator commands from a station's page (issue 16): ``POST /office/stations/{id}/commands``
with the form of one command kind (remote start/stop, change availability, reserve now, cancel
reservation, trigger message, reset).

The same rules as ``POST /api/v1/stations/{id}/commands``: its role (``CommandStations``:
operator; admin always) and its use case (``station_commands.send_command``), so a missing
field is refused with ``missing_field`` and a station that is not connected with
``station_offline`` (409), shown on the page with the station's other facts. A command is sent
exactly once per form (``office.once``: a double click sends one command and shows the
station's first answer again). A reset interrupts charging, so its first POST only asks to
confirm and the second (``confirm=yes``, the same key) sends it. Times typed in the form are
the operator's (``CHARGELEDGER_OPERATOR_TIME_ZONE``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import MAX_EVSE_ID
from chargeledger.domain.station_link import CommandKind, ResetType, StationCommand
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import render
from chargeledger.office.station_page import (
    COMMAND_ROLES,
    TRIGGERABLE,
    Answer,
    Refill,
    detail_page,
    not_found,
)
from chargeledger.services.charging import station_commands
from chargeledger.services.charging.station_health import station_health
from chargeledger.services.transactions import reading

router = APIRouter()
MAX_RESERVATION_ID = 2**31 - 1  # an OCPP integer
FormValue = Annotated[str, Form(max_length=80)]


def _invalid(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, code=f"invalid_{field}", field=field)


def _number(text: str, field: str, low: int, high: int) -> int | None:
    if not text.strip():
        return None
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise _invalid(field, f"{field}: a whole number from {low} to {high}")
    return value


def _moment(text: str, zone: str) -> datetime | None:
    """A ``datetime-local`` value (``2030-01-01T12:00``) in the operator's zone."""
    if not text.strip():
        return None
    try:
        typed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _invalid("expires_at", "expires_at: a date and time like 2030-01-01T12:00") from None
    return typed if typed.tzinfo else typed.replace(tzinfo=ZoneInfo(zone))


def command_of(kind: str, values: dict[str, str], zone: str) -> StationCommand:
    """The command the form asks for; InvalidInputError with the field's stable code for what
    cannot be read, and ``missing_field`` (``check_command``, as the API) for what is missing."""
    try:
        chosen = CommandKind(kind)
    except ValueError:
        raise _invalid("kind", "kind: not a command this page sends") from None
    operative = {"yes": True, "no": False}.get(values["operative"])
    if values["operative"] and operative is None:
        raise _invalid("operative", "operative: yes or no")
    message = values["message"].strip() or None
    if message is not None and message not in TRIGGERABLE:
        raise _invalid("message", f"message: one of {', '.join(TRIGGERABLE)}")
    reset_type = None
    if values["reset_type"]:
        try:
            reset_type = ResetType(values["reset_type"])
        except ValueError:
            raise _invalid("reset_type", "reset_type: soft or hard") from None
    command = StationCommand(
        kind=chosen,
        evse_id=_number(values["evse_id"], "evse_id", 1, MAX_EVSE_ID),
        id_tag=values["id_tag"].strip() or None,
        transaction_ref=values["transaction_ref"].strip() or None,
        reservation_id=_number(values["reservation_id"], "reservation_id", 0, MAX_RESERVATION_ID),
        expires_at=_moment(values["expires_at"], zone),
        operative=operative,
        message=message,
        reset_type=reset_type,
    )
    return station_commands.check_command(command)


@router.post("/stations/{station_id}/commands")
async def station_command(
    station_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    kind: FormValue = "",
    evse_id: FormValue = "",
    id_tag: FormValue = "",
    transaction_ref: FormValue = "",
    reservation_id: FormValue = "",
    expires_at: FormValue = "",
    operative: FormValue = "",
    message: FormValue = "",
    reset_type: FormValue = "",
    confirm: FormValue = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, COMMAND_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {
        "evse_id": evse_id,
        "id_tag": id_tag,
        "transaction_ref": transaction_ref,
        "reservation_id": reservation_id,
        "expires_at": expires_at,
        "operative": operative,
        "message": message,
        "reset_type": reset_type,
    }
    shown_kind = CommandKind(kind) if kind in {k.value for k in CommandKind} else None
    try:
        command = command_of(kind, values, rt.settings.operator_time_zone)
        if command.kind is CommandKind.RESET and confirm != "yes":
            return await _confirmation(rt, visitor, station_id, command, idempotency_key)

        async def work() -> once.Outcome:
            result = await station_commands.send_command(rt.uow, rt.bus, station_id, command)
            return {"done": {"status": result.status, "detail": result.detail}}

        status, outcome = await once.once(
            rt,
            visitor.principal,
            idempotency_key,
            f"station command {station_id}",
            {"kind": kind, **values},
            work,
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        answer = Answer(shown_kind, error=outcome["error"])
        refill = Refill(shown_kind, values)
        return await detail_page(
            rt, visitor, station_id, status_code=status, answer=answer, refill=refill
        )
    done = outcome["done"]
    answer = Answer(shown_kind, status=done["status"], detail=done["detail"])
    return await detail_page(rt, visitor, station_id, answer=answer)


async def _confirmation(
    rt: Runtime, visitor: Visitor, station_id: uuid.UUID, command: StationCommand, key: str
) -> Response:
    """The reset's second step: what will happen, the same idempotency key, confirm=yes."""
    try:
        item = await reading(rt.uow, station_health, station_id, rt.bus.is_connected)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    assert command.reset_type is not None  # check_command: a reset names its type
    return render(
        "station_reset_confirm.html",
        title="Confirm the reset",
        **visitor.context("stations"),
        station=item.station,
        item=item,
        reset_type=command.reset_type.value,
        key=key,
    )
