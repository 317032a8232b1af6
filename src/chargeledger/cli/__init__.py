"""The ``chargeledger`` command line (Typer): serve, migrate, demo, and catalog management."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from chargeledger.bootstrap import Runtime
from chargeledger.cli.catalog import evses_app, sites_app, stations_app
from chargeledger.cli.common import console, run_with_runtime
from chargeledger.cli.customers import accounts_app, tokens_app
from chargeledger.cli.demo import demo
from chargeledger.cli.identity import api_keys_app, users_app
from chargeledger.cli.sessions import sessions_app, station_command, station_status

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
stations_app.command("status")(station_status)
stations_app.command("command")(station_command)
app.command()(demo)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the REST API (/api/v1), /healthz and /docs; migrates the database first."""
    # Loaded by name so the CLI does not import the API package (DESIGN §3).
    uvicorn.run(
        "chargeledger.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )


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
