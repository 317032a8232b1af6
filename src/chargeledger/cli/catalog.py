"""``chargeledger sites|stations|evses ...``: the physical catalog from the shell."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.text import quantity_text
from chargeledger.services import catalog
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

sites_app = typer.Typer(help="Sites (OCPI locations).", no_args_is_help=True)
stations_app = typer.Typer(help="Charging stations.", no_args_is_help=True)
evses_app = typer.Typer(help="EVSEs and their connectors.", no_args_is_help=True)


@sites_app.command("list")
def list_sites() -> None:
    async def work(rt: Runtime) -> None:
        page = await reading(rt.uow, catalog.list_sites, limit=1000)
        table = Table("id", "name", "city", "country", "time zone")
        for site in page.items:
            table.add_row(
                str(site.id), site.name, site.address.city, site.address.country, site.time_zone
            )
        console.print(table)

    run_with_runtime(work)


@sites_app.command("add")
def add_site(
    name: Annotated[str, typer.Option()],
    street: Annotated[str, typer.Option()],
    postal_code: Annotated[str, typer.Option()],
    city: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2")],
    latitude: Annotated[Decimal, typer.Option()],
    longitude: Annotated[Decimal, typer.Option()],
    time_zone: Annotated[str, typer.Option(help="IANA name, e.g. Europe/Berlin")],
) -> None:
    async def work(rt: Runtime) -> None:
        site = Site(
            name=name,
            address=Address(street, postal_code, city, country),
            latitude=latitude,
            longitude=longitude,
            time_zone=time_zone,
        )
        created = await in_transaction(rt.uow, catalog.create_site, rt.clock, site)
        console.print(f"created site {created.name} ({created.id})")

    run_with_runtime(work)


@sites_app.command("delete")
def delete_site(site_id: uuid.UUID) -> None:
    async def work(rt: Runtime) -> None:
        await in_transaction(rt.uow, catalog.delete_site, site_id)
        console.print(f"deleted site {site_id}")

    run_with_runtime(work)


@stations_app.command("list")
def list_stations(site_id: Annotated[uuid.UUID | None, typer.Option()] = None) -> None:
    async def work(rt: Runtime) -> None:
        page = await reading(rt.uow, catalog.list_stations, site_id=site_id, limit=1000)
        table = Table("id", "charge point id", "vendor", "model", "OCPP", "profile")
        for s in page.items:
            table.add_row(
                str(s.id),
                s.charge_point_id,
                s.vendor,
                s.model,
                s.ocpp_version.value,
                str(s.security_profile),
            )
        console.print(table)

    run_with_runtime(work)


@stations_app.command("add")
def add_station(
    site_id: Annotated[uuid.UUID, typer.Option()],
    charge_point_id: Annotated[str, typer.Option()],
    vendor: Annotated[str, typer.Option()],
    model: Annotated[str, typer.Option()],
    password: Annotated[
        str | None,
        typer.Option(envvar="CHARGELEDGER_STATION_PASSWORD", help="Basic-auth, 16-40 chars"),
    ] = None,
    ocpp_version: Annotated[OcppVersion, typer.Option()] = OcppVersion.V201,
    security_profile: Annotated[int, typer.Option()] = 1,
    serial_number: Annotated[str | None, typer.Option()] = None,
    meter_serial: Annotated[str | None, typer.Option()] = None,
) -> None:
    async def work(rt: Runtime) -> None:
        fields = {
            "site_id": site_id,
            "charge_point_id": charge_point_id,
            "vendor": vendor,
            "model": model,
            "ocpp_version": ocpp_version,
            "security_profile": security_profile,
            "serial_number": serial_number,
            "meter_serial": meter_serial,
        }
        station = await in_transaction(
            rt.uow, catalog.create_station, rt.clock, rt.station_secrets, fields, password
        )
        console.print(f"registered station {station.charge_point_id} ({station.id})")

    run_with_runtime(work)


@stations_app.command("delete")
def delete_station(station_id: uuid.UUID) -> None:
    async def work(rt: Runtime) -> None:
        await in_transaction(rt.uow, catalog.delete_station, station_id)
        console.print(f"deleted station {station_id}")

    run_with_runtime(work)


@evses_app.command("list")
def list_evses(station_id: Annotated[uuid.UUID | None, typer.Option()] = None) -> None:
    async def work(rt: Runtime) -> None:
        page = await reading(rt.uow, catalog.list_evses, station_id=station_id, limit=1000)
        table = Table("id", "station", "evse", "uid", "connectors")
        for e in page.items:
            plugs = ", ".join(
                f"{c.connector_id}:{c.standard.value} {quantity_text(c.max_power_kw, 'kW')}"
                for c in e.connectors
            )
            table.add_row(str(e.id), str(e.station_id), str(e.evse_id), e.evse_uid or "", plugs)
        console.print(table)

    run_with_runtime(work)


@evses_app.command("add")
def add_evse(
    station_id: Annotated[uuid.UUID, typer.Option()],
    evse_id: Annotated[int, typer.Option()],
    standard: Annotated[ConnectorStandard, typer.Option()],
    max_power_kw: Annotated[Decimal, typer.Option()],
    power_type: Annotated[PowerType, typer.Option()] = PowerType.AC_3_PHASE,
    connector_format: Annotated[ConnectorFormat, typer.Option("--format")] = (
        ConnectorFormat.SOCKET
    ),
    evse_uid: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add an EVSE with one connector (use the API for EVSEs with several)."""

    async def work(rt: Runtime) -> None:
        evse = Evse(
            station_id=station_id,
            evse_id=evse_id,
            evse_uid=evse_uid,
            connectors=(Connector(1, standard, connector_format, power_type, max_power_kw),),
        )
        created = await in_transaction(rt.uow, catalog.create_evse, rt.clock, evse)
        console.print(f"added EVSE {created.evse_id} ({created.id})")

    run_with_runtime(work)
