"""Groups whose commands live in several modules, put together once, when first asked for: a
station's catalog commands with its live status, commands and meter keys; a session's review
commands with its re-pricing."""

from __future__ import annotations

from chargeledger.cli.catalog import stations_app
from chargeledger.cli.meter_keys import meter_keys_app
from chargeledger.cli.repricings import reprice_command, repricings_command
from chargeledger.cli.sessions import sessions_app, station_command, station_status

stations_app.command("status")(station_status)
stations_app.add_typer(meter_keys_app, name="meter-keys")
stations_app.command("command")(station_command)
sessions_app.command("reprice")(reprice_command)
sessions_app.command("repricings")(repricings_command)

__all__ = ["sessions_app", "stations_app"]
