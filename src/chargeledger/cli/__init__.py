"""The ``chargeledger`` command line (Typer): serve, migrate, demo, and catalog management."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from chargeledger.bootstrap import Runtime
from chargeledger.cli.audit import audit_app
from chargeledger.cli.bank import bank_app
from chargeledger.cli.catalog import evses_app, sites_app, stations_app
from chargeledger.cli.common import console, run_with_runtime
from chargeledger.cli.contracts import contracts_app
from chargeledger.cli.customers import accounts_app, tokens_app
from chargeledger.cli.demo import demo
from chargeledger.cli.demo_day import write_sim_inputs
from chargeledger.cli.disputes import disputes_app
from chargeledger.cli.dunning import dunning_app
from chargeledger.cli.exports import export_app
from chargeledger.cli.identity import api_keys_app, users_app
from chargeledger.cli.invoicing import invoice_app
from chargeledger.cli.ledger import ledger_app
from chargeledger.cli.meter_keys import meter_keys_app
from chargeledger.cli.ocmf import ocmf_app
from chargeledger.cli.outbox import outbox_app
from chargeledger.cli.payments import payments_app
from chargeledger.cli.payouts import payouts_app
from chargeledger.cli.pricing import price_command
from chargeledger.cli.reports import reports_app
from chargeledger.cli.repricings import reprice_command, repricings_command
from chargeledger.cli.serving import serve
from chargeledger.cli.sessions import sessions_app, station_command, station_status
from chargeledger.cli.tariffs import tariffs_app

app = typer.Typer(
    name="chargeledger",
    help="Billing and payments back office for EV charging station operators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(users_app, name="users")
app.add_typer(api_keys_app, name="api-keys")
app.add_typer(sites_app, name="sites")
app.add_typer(stations_app, name="stations")
app.add_typer(evses_app, name="evses")
app.add_typer(accounts_app, name="accounts")
app.add_typer(tokens_app, name="tokens")
app.add_typer(sessions_app, name="sessions")
app.add_typer(tariffs_app, name="tariffs")
app.add_typer(invoice_app, name="invoice")
app.add_typer(ledger_app, name="ledger")
app.add_typer(export_app, name="export")
app.add_typer(payments_app, name="payments")
app.add_typer(bank_app, name="bank")
app.add_typer(payouts_app, name="payouts")
app.add_typer(reports_app, name="reports")
app.add_typer(outbox_app, name="outbox")
app.add_typer(dunning_app, name="dunning")
app.add_typer(contracts_app, name="contracts")
app.add_typer(disputes_app, name="disputes")
app.add_typer(ocmf_app, name="ocmf")
app.add_typer(audit_app, name="audit")
stations_app.command("status")(station_status)
stations_app.add_typer(meter_keys_app, name="meter-keys")
stations_app.command("command")(station_command)
sessions_app.command("reprice")(reprice_command)
sessions_app.command("repricings")(repricings_command)
app.command()(serve)
app.command()(demo)
app.command("price")(price_command)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def simulate(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="the server's OCPP endpoint")] = (
        "ws://127.0.0.1:8000/ocpp"
    ),
) -> None:
    """Run simulated stations as real OCPP clients against a server.

    Without ``--stations``/``--tokens`` files the stations and tokens of the database are used,
    with the demo's station passwords (a database made by ``chargeledger demo``). Every other
    option goes to the simulator: see ``python -m chargeledger.sim run --help``.
    """
    extra = list(ctx.args)
    if "--stations" not in extra or "--tokens" not in extra:

        async def export(rt: Runtime) -> tuple[Path, Path]:
            return await write_sim_inputs(rt, rt.settings.data_dir)

        stations, tokens = run_with_runtime(export)
        for flag, path in (("--stations", stations), ("--tokens", tokens)):
            if flag not in extra:
                extra += [flag, str(path)]
    # The simulator is its own process (and entry point): stations are separate machines.
    command = [sys.executable, "-m", "chargeledger.sim", "run", "--url", url, *extra]
    raise typer.Exit(subprocess.call(command))


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""

    async def work(rt: Runtime) -> tuple[str | None, str | None]:
        return await rt.migrate()

    before, after = run_with_runtime(work, migrate=False)
    if before == after:
        console.print(f"database already at revision {after}")
    else:
        console.print(f"database migrated from {before or 'empty'} to {after}")


def main() -> None:
    app()
