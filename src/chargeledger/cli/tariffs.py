"""``chargeledger tariffs import|list|show|assign``."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.geo import time_zone as checked_zone
from chargeledger.domain.tariffs import tariff_to_json
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.domain.tariffs.dynamic import dynamic_tariff, parse_wholesale_csv
from chargeledger.services import tariffs
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

tariffs_app = typer.Typer(help="OCPI 2.2.1 tariffs and where they apply.", no_args_is_help=True)


@tariffs_app.command("import")
def import_tariff(path: Path) -> None:
    """Store a tariff from an OCPI 2.2.1 Tariff JSON file (a new version each time)."""
    try:
        document = json.loads(path.read_text(), parse_float=Decimal)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}", "file_not_readable") from None
    except ValueError as exc:
        raise fail(f"{path} is not JSON: {exc}", "invalid_json") from None

    async def work(rt: Runtime) -> None:
        stored = await in_transaction(rt.uow, tariffs.import_tariff, rt.clock, document)
        console.print(f"imported tariff {stored.tariff.id} as {stored.id}")

    run_with_runtime(work)


@tariffs_app.command("list")
def list_tariffs() -> None:
    async def work(rt: Runtime) -> None:
        page = await reading(rt.uow, tariffs.list_tariffs, limit=1000)
        table = Table("id", "OCPI id", "currency", "elements", "valid from", "valid until")
        for s in page.items:
            t = s.tariff
            table.add_row(
                str(s.id),
                t.id,
                t.currency,
                str(len(t.elements)),
                t.start_date_time.isoformat() if t.start_date_time else "",
                t.end_date_time.isoformat() if t.end_date_time else "",
            )
        console.print(table)

    run_with_runtime(work)


@tariffs_app.command("show")
def show_tariff(tariff_id: uuid.UUID) -> None:
    """Print a stored tariff as OCPI 2.2.1 JSON."""

    async def work(rt: Runtime) -> None:
        stored = await reading(rt.uow, tariffs.get_tariff, tariff_id)
        console.print_json(json.dumps(tariff_to_json(stored.tariff), default=float))

    run_with_runtime(work)


@tariffs_app.command("assign")
def assign_tariff(
    tariff_id: uuid.UUID,
    scope: Annotated[TariffScope, typer.Option(help="where the tariff applies")],
    scope_id: Annotated[
        str | None,
        typer.Option(
            help="the site, station or account id; STATION_ID:EVSE:CONNECTOR for "
            "a connector; none for the operator default"
        ),
    ] = None,
) -> None:
    """Make a tariff apply to new sessions at a connector, station, site, for an account, or
    by default."""

    async def work(rt: Runtime) -> None:
        await in_transaction(
            rt.uow,
            tariffs.assign_tariff,
            rt.clock,
            tariff_id,
            scope,
            scope_id,
            rt.settings.vat_rates,
        )
        console.print(f"tariff {tariff_id} now applies to {scope.value} {scope_id or ''}")

    run_with_runtime(work)


@tariffs_app.command("dynamic")
def dynamic(
    path: Path,
    tariff_id: Annotated[str, typer.Option("--id", help="the OCPI tariff id to publish")],
    time_zone: Annotated[str, typer.Option(help="IANA zone of the sites it applies to")],
    factor: Annotated[Decimal, typer.Option(help="multiplies the wholesale price")] = Decimal(1),
    margin: Annotated[Decimal, typer.Option(help="added per kWh")] = Decimal("0.15"),
    floor: Annotated[Decimal, typer.Option(help="lowest price per kWh")] = Decimal("0.20"),
    cap: Annotated[Decimal, typer.Option(help="highest price per kWh")] = Decimal("0.90"),
    vat: Annotated[Decimal | None, typer.Option(help="VAT % on the energy price")] = None,
) -> None:
    """Publish a tariff from a day-ahead price CSV (start,end,price_per_mwh,currency)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}", "file_not_readable") from None

    async def work(rt: Runtime) -> None:
        series = parse_wholesale_csv(text)
        tariff = dynamic_tariff(
            series,
            tariff_id=tariff_id,
            factor=factor,
            margin=margin,
            floor=floor,
            cap=cap,
            time_zone=checked_zone(time_zone),
            vat=vat,
        )
        stored = await in_transaction(
            rt.uow, tariffs.import_tariff, rt.clock, tariff_to_json(tariff)
        )
        console.print(f"published dynamic tariff {tariff_id} ({len(series)} slots) as {stored.id}")

    run_with_runtime(work)
