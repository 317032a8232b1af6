"""The ``chargeledger`` command line (Typer): serve, migrate, demo, and catalog management."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.cli.lazy_group import Lazy, LazyGroup

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime


class Commands(LazyGroup):
    """Every command but ``simulate`` and ``migrate`` (below) is imported when it runs: a
    command's module imports what it needs (the runtime, the API, the PDF libraries) at its
    top. A new command or group goes here, with the first paragraph of its help."""

    lazy_commands = (
        Lazy(
            "serve",
            "chargeledger.cli.serving:serve",
            "Run the REST API (/api/v1), /healthz and /docs; migrates the database first.",
        ),
        Lazy(
            "demo",
            "chargeledger.cli.demo_command:demo",
            "Build a demo operator, run a simulated day of charging against the real server over"
            "\nreal OCPP websockets, and show what was captured next to the simulator's truth.",
        ),
        Lazy(
            "price",
            "chargeledger.cli.pricing:price_command",
            "Price a CDR (OCPI 2.2.1). Without a tariff file the CDR's own tariff is used.",
        ),
    )
    lazy_groups = (
        Lazy("users", "chargeledger.cli.identity:users_app", "People who log in to the API."),
        Lazy(
            "api-keys",
            "chargeledger.cli.identity:api_keys_app",
            "Machine credentials for integrations.",
        ),
        Lazy("sites", "chargeledger.cli.catalog:sites_app", "Sites (OCPI locations)."),
        Lazy("stations", "chargeledger.cli.groups:stations_app", "Charging stations."),
        Lazy("evses", "chargeledger.cli.catalog:evses_app", "EVSEs and their connectors."),
        Lazy("accounts", "chargeledger.cli.customers:accounts_app", "Customer accounts."),
        Lazy("tokens", "chargeledger.cli.customers:tokens_app", "RFID cards and app tokens."),
        Lazy("sessions", "chargeledger.cli.groups:sessions_app", "Captured charging sessions."),
        Lazy(
            "tariffs",
            "chargeledger.cli.tariffs:tariffs_app",
            "OCPI 2.2.1 tariffs and where they apply.",
        ),
        Lazy(
            "invoice",
            "chargeledger.cli.invoicing:invoice_app",
            "Charges, invoices, receipts and credit notes.",
        ),
        Lazy("ledger", "chargeledger.cli.ledger:ledger_app", "The double-entry ledger."),
        Lazy(
            "export",
            "chargeledger.cli.exports:export_app",
            "Exports for accountants and roaming partners.",
        ),
        Lazy(
            "payments",
            "chargeledger.cli.payments:payments_app",
            "Card, app and wallet payments.",
        ),
        Lazy(
            "bank",
            "chargeledger.cli.bank:bank_app",
            "Bank statements and the unmatched queue.",
        ),
        Lazy(
            "payouts",
            "chargeledger.cli.payouts:payouts_app",
            "PSP payouts and their reconciliation.",
        ),
        Lazy(
            "reports",
            "chargeledger.cli.reports:reports_app",
            "Receivables aging, revenue and collections reports.",
        ),
        Lazy("outbox", "chargeledger.cli.outbox:outbox_app", "The outbox: e-mails and webhooks."),
        Lazy(
            "dunning",
            "chargeledger.cli.dunning:dunning_app",
            "Dunning: reminders, fees, disputes.",
        ),
        Lazy(
            "contracts",
            "chargeledger.cli.contracts:contracts_app",
            "Contracts: terms, signature, amendments, termination, milestones.",
        ),
        Lazy(
            "disputes",
            "chargeledger.cli.disputes:disputes_app",
            "Dispute cases: customers', the operator's and chargebacks.",
        ),
        Lazy("ocmf", "chargeledger.cli.ocmf:ocmf_app", "Signed meter data (OCMF)."),
        Lazy("roaming", "chargeledger.cli.roaming:roaming_app", "Roaming partners (OCPI 2.2.1)."),
        Lazy(
            "audit",
            "chargeledger.cli.audit:audit_app",
            "The tamper-evident chain of journal entries, documents, payment events and signed"
            " meter values.",
        ),
    )


app = typer.Typer(
    name="chargeledger",
    cls=Commands,
    help="Billing and payments back office for EV charging station operators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    """``--version`` answers from the package's own constant: no runtime, no database."""
    if asked:
        from chargeledger import __version__

        typer.echo(f"chargeledger {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Billing and payments back office for EV charging station operators."""


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
        from chargeledger.cli.demo_day import write_sim_inputs

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
