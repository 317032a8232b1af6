"""The websocket endpoint ``/ocpp/{charge_point_id}``: authenticates the station (security
profiles 1 and 2: HTTP Basic, OCPP 2.0.1 Part 2 §A00; throttled, a keyed fast hash checked
inline, see ``services.charging.station_access``), accepts the subprotocol of the OCPP version
the station is registered with (refusing a station that does not offer it), and runs the
connection until the station goes away."""

from __future__ import annotations

import base64
import binascii
import logging

from fastapi import APIRouter, WebSocket
from starlette.responses import Response

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.errors import RetryLaterError
from chargeledger.services.charging.station_access import authenticate_station
from chargeledger.stations.connections import PROTOCOLS, LiveConnections, serve_station

log = logging.getLogger("chargeledger.stations")
router = APIRouter()
# RFC 7235 §3.1: a 401 names the scheme to use (RFC 7617 Basic, OCPP security profiles 1/2).
CHALLENGE = {"WWW-Authenticate": 'Basic realm="OCPP", charset="UTF-8"'}


def _basic_credentials(websocket: WebSocket) -> tuple[str, str] | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


async def _deny(
    websocket: WebSocket, status: int, reason: str, headers: dict[str, str] | None = None
) -> None:
    """Refuse the upgrade with an HTTP status where the server supports it (401 for unknown
    stations and bad credentials alike, so a caller cannot probe which ids exist; 429 with
    ``Retry-After`` when throttled), else close before accepting."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(Response(reason, status_code=status, headers=headers))
    else:
        await websocket.close(code=1008, reason=reason)


async def _authenticate(
    runtime: Runtime, websocket: WebSocket, charge_point_id: str
) -> Station | None:
    """The station, or None after refusing the upgrade (401, or 429 when throttled)."""
    client_host = websocket.client.host if websocket.client else None
    try:
        station = await authenticate_station(
            runtime.uow,
            runtime.station_secrets,
            runtime.hasher,
            runtime.station_logins,
            charge_point_id,
            _basic_credentials(websocket),
            client_host,
        )
    except RetryLaterError as refused:
        log.warning(
            "throttled station connection",
            extra={"charge_point_id": charge_point_id, "client": client_host},
        )
        retry = {"Retry-After": str(refused.retry_after)}
        await _deny(websocket, refused.http_status, refused.message, retry)
        return None
    if station is None:
        log.warning(
            "refused station connection",
            extra={"charge_point_id": charge_point_id, "client": client_host},
        )
        await _deny(websocket, 401, "unknown station or wrong credentials", CHALLENGE)
    return station


async def station_connection(websocket: WebSocket) -> None:
    charge_point_id = str(websocket.path_params["charge_point_id"])
    runtime: Runtime = websocket.app.state.runtime
    offered = list(websocket.scope.get("subprotocols", []))
    if not any(p in PROTOCOLS for p in offered):
        await _deny(websocket, 400, "offer subprotocol ocpp1.6 or ocpp2.0.1")
        return
    station = await _authenticate(runtime, websocket, charge_point_id)
    if station is None:
        return
    protocol = _registered_protocol(station, offered)
    if protocol is None:
        version = station.ocpp_version.value
        log.warning(
            "refused a station offering another OCPP version",
            extra={"charge_point_id": charge_point_id, "registered": version, "offered": offered},
        )
        await _deny(
            websocket,
            400,
            f"station {charge_point_id} is registered for OCPP {version}: "
            f"offer subprotocol ocpp{version}",
        )
        return
    await websocket.accept(subprotocol=protocol)
    connections: LiveConnections = websocket.app.state.station_connections
    await serve_station(runtime, connections, websocket, station, protocol)


def _registered_protocol(station: Station, offered: list[str]) -> str | None:
    """The subprotocol of the version the station is registered with, if it offers it: the
    catalog says which protocol the station speaks (its handlers, its transaction ids), and
    a station offering both (1.6J §3 / 2.0.1 Part 4 §3.1.2 let a client offer several) gets
    that one, never the other."""
    protocol = f"ocpp{station.ocpp_version.value}"
    return protocol if protocol in offered else None


# A plain Starlette route, not FastAPI's ``@router.websocket``: FastAPI solves a route's
# dependencies for every connection (parsing its cookies among them), a fifteenth of the
# server's CPU in a reconnect storm (issue 17), and this endpoint has none to solve.
router.add_websocket_route("/ocpp/{charge_point_id}", station_connection)
