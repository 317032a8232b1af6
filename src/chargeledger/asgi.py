"""The process's ASGI application: the REST API and the OCPP edge on one port (DESIGN §4).

It composes the two entry points, which do not import each other; ``chargeledger serve``
loads ``chargeledger.asgi:create_app`` by name.
"""

from __future__ import annotations

from fastapi import FastAPI

from chargeledger.api.app import create_app as create_api_app
from chargeledger.bootstrap import Runtime
from chargeledger.stations.connections import LiveConnections
from chargeledger.stations.endpoint import router as ocpp_router


def create_app(
    runtime: Runtime | None = None, *, migrate: bool = True, jobs: bool = True
) -> FastAPI:
    app = create_api_app(runtime, migrate=migrate, jobs=jobs)
    app.state.station_connections = LiveConnections()
    app.include_router(ocpp_router)
    # Stations' connections are matched first: routes are tried in order, and trying the
    # REST routes first cost every handshake 0.7 ms (on a restart's first one, 1.4 s
    # building the REST routes' contexts); the REST requests pay one more pattern instead.
    app.router.routes.insert(0, app.router.routes.pop())
    return app
