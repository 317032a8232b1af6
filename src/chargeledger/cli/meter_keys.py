"""``chargeledger stations meter-keys add|list``: the meter key registry from the shell
(issue 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.services.charging import meter_keys
from chargeledger.services.transactions import in_transaction, reading

meter_keys_app = typer.Typer(
    help="Public keys of a station's calibrated meters (OCMF).", no_args_is_help=True
)


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
    if valid_from is not None and valid_from.tzinfo is None:
        valid_from = valid_from.replace(tzinfo=UTC)

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


@meter_keys_app.command("list")
def list_meter_keys(station_id: uuid.UUID) -> None:
    """Every key of the station's meters: the operator's and those the station reported."""

    async def work(rt: Runtime) -> None:
        keys = await reading(rt.uow, meter_keys.meter_keys_of, station_id)
        table = Table("meter", "evse", "curve", "source", "from", "retired", "key")
        for key in keys:
            table.add_row(
                key.meter_serial,
                str(key.evse_id or ""),
                key.curve,
                key.source.value,
                key.valid_from.isoformat(timespec="seconds"),
                key.retired_at.isoformat(timespec="seconds") if key.retired_at else "",
                key.public_key,
            )
        console.print(table)

    run_with_runtime(work)
