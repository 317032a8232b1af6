"""``chargeledger stations meter-keys add|list|confirm``: the meter key registry from the
shell (issue 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.services.charging import meter_keys
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

meter_keys_app = typer.Typer(
    help="Public keys of a station's calibrated meters (OCMF).", no_args_is_help=True
)


def _utc(moment: datetime | None) -> datetime | None:
    """A time typed without a zone is UTC (as the options' help says)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@meter_keys_app.command("add")
def add_meter_key(
    station_id: uuid.UUID,
    meter_serial: Annotated[str, typer.Option(help="the meter's serial (OCMF MS)")],
    public_key: Annotated[str, typer.Option(help="SPKI DER hex/base64/PEM, or X||Y hex")],
    evse_id: Annotated[int | None, typer.Option()] = None,
    valid_from: Annotated[
        datetime | None, typer.Option(help="UTC; default now (the previous key retires then)")
    ] = None,
    curve: Annotated[str | None, typer.Option(help="for a bare X||Y key")] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Register a meter's key from its type plate; it retires the meter's previous key."""
    valid_from = _utc(valid_from)

    async def work(rt: Runtime) -> None:
        key = await in_transaction(
            rt.uow,
            meter_keys.register_meter_key,
            rt.clock,
            station_id,
            meter_serial=meter_serial,
            public_key=public_key,
            evse_id=evse_id,
            valid_from=valid_from,
            note=note,
            curve=curve,
        )
        console.print(
            f"meter {key.meter_serial}: key {key.id} ({key.curve}) in force from "
            f"{key.valid_from.isoformat()}"
        )

    if evse_id is not None and evse_id < 1:
        raise fail("evse_id must be 1 or more", "invalid_evse_id")
    run_with_runtime(work)


@meter_keys_app.command("confirm")
def confirm_meter_key(
    station_id: uuid.UUID,
    key_id: uuid.UUID,
    meter_serial: Annotated[
        str | None, typer.Option(help="the type plate's serial, when the station named none")
    ] = None,
    valid_from: Annotated[
        datetime | None,
        typer.Option(help="UTC; default when the station first reported the key"),
    ] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Confirm a key the station reported (checked on the type plate) as the operator's."""
    valid_from = _utc(valid_from)

    async def work(rt: Runtime) -> None:
        key = await in_transaction(
            rt.uow,
            meter_keys.confirm_meter_key,
            rt.clock,
            station_id,
            key_id,
            meter_serial=meter_serial,
            valid_from=valid_from,
            note=note,
        )
        console.print(
            f"meter {key.meter_serial}: key {key.id} ({key.curve}) confirmed, in force from "
            f"{key.valid_from.isoformat()}"
        )

    run_with_runtime(work)


@meter_keys_app.command("list")
def list_meter_keys(station_id: uuid.UUID) -> None:
    """Every key of the station's meters: the operator's and those the station reported
    (with signed data, or in its configuration at boot)."""

    async def work(rt: Runtime) -> None:
        keys = await reading(rt.uow, meter_keys.meter_keys_of, station_id)
        # One block per key: the id (for ``confirm``) and the key whole, whatever the width.
        for key in keys:
            retired = key.retired_at
            console.print(
                f"{key.id}  meter {key.meter_serial or '-'}  EVSE {key.evse_id or '-'}  "
                f"{key.source.value}, from {key.valid_from.isoformat(timespec='seconds')}"
                + (f", retired {retired.isoformat(timespec='seconds')}" if retired else ""),
                highlight=False,
            )
            console.print(f"    {key.curve} {key.public_key}", highlight=False, soft_wrap=True)

    run_with_runtime(work)
