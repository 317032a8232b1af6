"""The websocket endpoint ``/ocpp/{charge_point_id}``: authenticates the station (security
profiles 1 and 2: HTTP Basic, OCPP 2.0.1 Part 2 §A00; throttled, argon2 in the hasher's own
pool, see ``services.station_access``), picks the protocol version from the offered
subprotocols, and runs the connection until the station goes away."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.errors import RetryLaterError
from chargeledger.services.station_access import CredentialCache, authenticate_station
from chargeledger.services.station_status import record_connected, record_disconnected
from chargeledger.stations.link import Connection
from chargeledger.stations.v16 import CentralSystem16
from chargeledger.stations.v201 import Csms201

log = logging.getLogger("chargeledger.stations")
router = APIRouter()

PROTOCOLS: dict[str, type[CentralSystem16] | type[Csms201]] = {
    "ocpp2.0.1": Csms201,
    "ocpp1.6": CentralSystem16,
}


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
    cache: CredentialCache = websocket.app.state.station_credentials
    client_host = websocket.client.host if websocket.client else None
    try:
        station = await authenticate_station(
            runtime.uow,
            runtime.hasher,
            runtime.station_logins,
            cache,
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
        await _deny(websocket, 401, "unknown station or wrong credentials")
    return station


@router.websocket("/ocpp/{charge_point_id}")
async def station_connection(websocket: WebSocket, charge_point_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    offered = list(websocket.scope.get("subprotocols", []))
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    if protocol is None:
        await _deny(websocket, 400, "offer subprotocol ocpp1.6 or ocpp2.0.1")
        return
    station = await _authenticate(runtime, websocket, charge_point_id)
    if station is None:
        return
    await websocket.accept(subprotocol=protocol)
    await _serve(runtime, websocket, station, protocol)


async def _serve(runtime: Runtime, websocket: WebSocket, station: Station, protocol: str) -> None:
    connection = Connection(websocket.receive_text, websocket.send_text)
    link: Any = PROTOCOLS[protocol](station.charge_point_id, connection, runtime, station)
    version = protocol.removeprefix("ocpp")
    # One bound method object, so that unregister finds exactly what register stored.
    execute = link.execute
    runtime.bus.register(station.charge_point_id, execute)
    async with runtime.uow() as uow:
        await record_connected(uow, runtime.clock, station, version)
    log.info(
        "station connected", extra={"charge_point_id": station.charge_point_id, "ocpp": version}
    )
    try:
        await link.start()
    except WebSocketDisconnect:
        pass
    finally:
        runtime.bus.unregister(station.charge_point_id, execute)
        async with runtime.uow() as uow:
            await record_disconnected(uow, runtime.clock, station)
        log.info("station disconnected", extra={"charge_point_id": station.charge_point_id})
