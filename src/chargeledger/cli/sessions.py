"""``chargeledger sessions ...`` (from the database) and ``chargeledger stations status|
command`` (through the running server's REST API, which holds the station connections)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.cli.customers import SHELL
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.station_link import CommandKind, ResetType, SessionFilter
from chargeledger.domain.text import plain_number, quantity_text
from chargeledger.services.charging import session_release, session_review
from chargeledger.services.charging.signed_data import SessionSignedData
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

sessions_app = typer.Typer(help="Captured charging sessions.", no_args_is_help=True)

ServerUrl = Annotated[
    str, typer.Option(envvar="CHARGELEDGER_SERVER_URL", help="the running chargeledger server")
]
ApiKey = Annotated[
    str, typer.Option(envvar="CHARGELEDGER_API_KEY", help="an API key with the needed scope")
]


@sessions_app.command("list")
def list_sessions(
    status: Annotated[SessionStatus | None, typer.Option()] = None,
    station_id: Annotated[uuid.UUID | None, typer.Option()] = None,
    account_id: Annotated[uuid.UUID | None, typer.Option()] = None,
    started_from: Annotated[datetime | None, typer.Option("--from")] = None,
    started_before: Annotated[datetime | None, typer.Option("--to")] = None,
    limit: Annotated[int, typer.Option()] = 100,
) -> None:
    """List sessions, newest first; ``--status quarantined`` shows what needs review."""

    async def work(rt: Runtime) -> None:
        criteria = SessionFilter(station_id, account_id, status, started_from, started_before)
        page = await reading(rt.uow, session_review.list_sessions, SHELL, criteria, limit=limit)
        table = Table("id", "tx", "evse", "started (UTC)", "kWh", "status", "reasons")
        for s in page.items:
            energy = s.energy_wh
            table.add_row(
                str(s.id),
                s.transaction_ref,
                str(s.evse_id),
                s.started_at.strftime("%Y-%m-%d %H:%M"),
                plain_number(energy / 1000, 3) if energy is not None else "",
                s.status.value,
                ", ".join(r.value for r in s.quarantine_reasons),
            )
        console.print(table)

    run_with_runtime(work)


def _wh(value: Decimal | None) -> str:
    return "-" if value is None else quantity_text(value, "Wh")


@sessions_app.command("show")
def show_session(session_id: uuid.UUID) -> None:
    """A session with its meter samples."""

    async def work(rt: Runtime) -> None:
        detail = await reading(
            rt.uow, session_review.session_detail, SHELL, session_id, rt.meter_signatures
        )
        s = detail.session
        console.print(
            f"session {s.id} tx {s.transaction_ref} ({s.ocpp_version}) {s.status.value}\n"
            f"started {s.started_at.isoformat()} stopped "
            f"{s.stopped_at.isoformat() if s.stopped_at else '-'}\n"
            f"meter {_wh(s.meter_start_wh)} → {_wh(s.meter_stop_wh)}, "
            f"energy {_wh(s.energy_wh)}, "
            f"charging {s.charging_seconds} s, idle {s.idle_seconds} s"
        )
        table = Table("time", "measurand", "value", "unit", "context", "phase")
        for sample in detail.samples:
            table.add_row(
                sample.timestamp.isoformat(),
                sample.measurand.value,
                plain_number(sample.value),
                sample.unit,
                sample.context.value,
                sample.phase or "",
            )
        console.print(table)
        if detail.signed is not None and detail.signed.readings:
            _print_signed(detail.signed)

    run_with_runtime(work)


def _print_signed(signed: SessionSignedData) -> None:
    """The signed meter values (OCMF) with their verdicts and what speaks against them."""
    table = Table("time", "context", "meter", "verdict", "key", "detail")
    for item in signed.readings:
        table.add_row(
            item.value.timestamp.isoformat(),
            item.value.context.value,
            (item.record.meter_serial or "") if item.record else "",
            item.check.verdict.value,
            item.key_source or "",
            item.check.detail,
        )
    console.print(table)
    if signed.energy is not None:
        console.print(f"signed energy {plain_number(signed.energy.kwh)} kWh")
    for issue in signed.issues:
        console.print(f"{issue.code}: {issue.message}", highlight=False, markup=False)


@sessions_app.command("release")
def release_session(
    session_id: uuid.UUID,
    note: Annotated[str, typer.Option(help="why it may be billed")],
    meter_start_wh: Annotated[Decimal | None, typer.Option()] = None,
    meter_stop_wh: Annotated[Decimal | None, typer.Option()] = None,
) -> None:
    """Release a quarantined session, optionally with corrected readings."""

    async def work(rt: Runtime) -> None:
        s = await in_transaction(
            rt.uow,
            session_release.resolve_session,
            rt.clock,
            SHELL,
            session_id,
            rt.settings.vat_rates,
            note=note,
            corrected_meter_start_wh=meter_start_wh,
            corrected_meter_stop_wh=meter_stop_wh,
        )
        console.print(f"released session {s.id}: {_wh(s.energy_wh)}")

    run_with_runtime(work)


@sessions_app.command("sweep")
def sweep() -> None:
    """Close sessions whose stop never came (the server also runs this periodically)."""

    async def work(rt: Runtime) -> int:
        return await rt.sweep_stale_sessions()

    console.print(f"closed {run_with_runtime(work)} stale sessions")


def _call_server(method: str, url: str, api_key: str, body: dict[str, Any] | None) -> Any:
    import httpx  # loaded when a station command runs, not for every help page (issue 17)

    try:
        response = httpx.request(method, url, json=body, headers={"X-API-Key": api_key}, timeout=60)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the server: {exc}", "server_unreachable") from None
    payload = response.json()
    if response.status_code >= 400:
        error = payload.get("error", {})
        raise fail(error.get("message", response.text), error.get("code", "http_error"))
    return payload


def station_status(
    station_id: uuid.UUID, server: ServerUrl = "http://127.0.0.1:8000", api_key: ApiKey = ""
) -> None:
    """Connection, last heartbeat and connector status of a station."""
    payload = _call_server("GET", f"{server}/api/v1/stations/{station_id}/status", api_key, None)
    console.print_json(json.dumps(payload))


def station_command(
    station_id: uuid.UUID,
    kind: Annotated[CommandKind, typer.Argument()],
    evse_id: Annotated[int | None, typer.Option()] = None,
    id_tag: Annotated[str | None, typer.Option()] = None,
    transaction_ref: Annotated[str | None, typer.Option()] = None,
    reservation_id: Annotated[int | None, typer.Option()] = None,
    expires_at: Annotated[datetime | None, typer.Option()] = None,
    operative: Annotated[bool | None, typer.Option("--operative/--inoperative")] = None,
    message: Annotated[str | None, typer.Option(help="TriggerMessage: which message")] = None,
    reset_type: Annotated[ResetType | None, typer.Option(help="reset: soft or hard")] = None,
    server: ServerUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Send a command to a connected station: remote_start, remote_stop, reserve_now,
    cancel_reservation, change_availability, trigger_message, reset (with --reset-type)."""
    body = {
        "kind": kind.value,
        "evse_id": evse_id,
        "id_tag": id_tag,
        "transaction_ref": transaction_ref,
        "reservation_id": reservation_id,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "operative": operative,
        "message": message,
        "reset_type": reset_type.value if reset_type else None,
    }
    payload = _call_server(
        "POST",
        f"{server}/api/v1/stations/{station_id}/commands",
        api_key,
        {k: v for k, v in body.items() if v is not None},
    )
    console.print(f"station answered: {payload['status']}")
