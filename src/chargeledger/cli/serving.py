"""``chargeledger serve``: the API, the OCPP edge and the periodic jobs on one port (DESIGN §4).

The port is bound before anything starts (issue 11 item 20): a port that is taken, not ours
to take, or an address that does not resolve ends the command at once, before migrations and
jobs, with a message and exit code ``EXIT_PORT_UNAVAILABLE`` (69, ``EX_UNAVAILABLE`` of
sysexits.h). A start-up that fails later (the database, the migrations) exits with
uvicorn's ``STARTUP_FAILURE`` (3).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Annotated

import typer

from chargeledger.cli.common import fail, handles_errors

if TYPE_CHECKING:
    from chargeledger.config import Settings

EXIT_PORT_UNAVAILABLE = 69
EXIT_ONE_NODE = 78  # EX_CONFIG of sysexits.h: a second node asked of a SQLite database
STARTUP_FAILURE = 3  # what ``uvicorn.run`` exits with when the app did not start


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` the way uvicorn binds one (IPv6 when the host says so).

    Address reuse lets a restart take over a port whose old connections still linger in
    TIME_WAIT; it never lets two servers listen on one port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _claim_the_only_node(settings: Settings) -> None:
    """On SQLite, this process becomes the database's one node, or the command ends with a
    message (``chargeledger.nodes``); on PostgreSQL any number of nodes may serve."""
    from chargeledger.nodes import served_elsewhere

    database = served_elsewhere(settings)
    if database is not None:
        raise fail(
            f"another chargeledger serve already serves {database}: SQLite runs as one node; "
            "run several nodes on PostgreSQL (README: Running several nodes)",
            "one_node_database",
            EXIT_ONE_NODE,
        )


@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=0, max=65535)] = 8000,
) -> None:
    """Run the REST API (/api/v1), /healthz and /docs; migrates the database first."""
    from chargeledger.config import Settings  # loaded when the command runs (issue 17)

    settings = Settings.from_env()  # a bad setting ends the command before the port is taken
    try:
        sock = listen(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise fail(
            f"cannot listen on {host}:{port}: {reason}; is another server running there?",
            "port_unavailable",
            EXIT_PORT_UNAVAILABLE,
        ) from None
    with sock:
        _claim_the_only_node(settings)  # after the port: a taken port makes nothing
        _serve_on(sock, settings, host, port)


def _serve_on(sock: socket.socket, settings: Settings, host: str, port: int) -> None:
    """uvicorn on the bound socket, with the app loaded by name so the command line does not
    import the API package (DESIGN §3)."""
    import uvicorn  # the server loads when the command runs (issue 17)

    config = uvicorn.Config(
        "chargeledger.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # The server buffers no websocket frame above the read limit (see OcppSettings: an
        # oversized OCPP frame up to it is still answered with a CALLERROR; a larger one gets
        # 1009), and offers no compression (per-connection memory, issue 17).
        ws_max_size=settings.ocpp.read_limit_bytes,
        ws_per_message_deflate=settings.ocpp.per_message_deflate,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise typer.Exit(STARTUP_FAILURE)
