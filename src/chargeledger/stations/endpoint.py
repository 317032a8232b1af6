"""The websocket endpoint ``/ocpp/{charge_point_id}``: authenticates the station (security
profiles 1 and 2: HTTP Basic, OCPP 2.0.1 Part 2 §A00), accepts the subprotocol of the OCPP
version the station is registered with (refusing a station that does not offer it), and runs
the connection until the station goes away."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging

from fastapi import APIRouter, WebSocket
from starlette.responses import Response

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.stations.connections import PROTOCOLS, LiveConnections, serve_station

log = logging.getLogger("chargeledger.stations")
router = APIRouter()


class CredentialCache:
    """Verified station passwords, as SHA-256, so a reconnect storm after a network outage
    costs one argon2 verification per station, not one per connection."""

    def __init__(self) -> None:
        self._verified: dict[tuple[str, str], bytes] = {}

    def known(self, station: Station, password: str) -> bool:
        digest = self._verified.get((station.charge_point_id, station.password_hash or ""))
        return digest is not None and hmac.compare_digest(
            digest, hashlib.sha256(password.encode()).digest()
        )

    def remember(self, station: Station, password: str) -> None:
        key = (station.charge_point_id, station.password_hash or "")
        self._verified[key] = hashlib.sha256(password.encode()).digest()


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


async def _authenticate(
    runtime: Runtime,
    cache: CredentialCache,
    charge_point_id: str,
    credentials: tuple[str, str] | None,
) -> Station | None:
    if credentials is None or credentials[0] != charge_point_id:
        return None
    password = credentials[1]
    async with runtime.uow() as uow:
        station = await uow.stations.get_by_charge_point_id(charge_point_id)
    if station is None or station.security_profile not in (1, 2) or not station.password_hash:
        return None
    if cache.known(station, password):
        return station
    # argon2 is deliberately slow: keep it off the event loop.
    ok = await asyncio.to_thread(runtime.hasher.verify, station.password_hash, password)
    if ok:
        cache.remember(station, password)
        return station
    return None


async def _deny(websocket: WebSocket, status: int, reason: str) -> None:
    """Refuse the upgrade with an HTTP status where the server supports it (401 for unknown
    stations and bad credentials alike, so a caller cannot probe which ids exist), else close
    before accepting."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(Response(reason, status_code=status))
    else:
        await websocket.close(code=1008, reason=reason)


@router.websocket("/ocpp/{charge_point_id}")
async def station_connection(websocket: WebSocket, charge_point_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    cache: CredentialCache = websocket.app.state.station_credentials
    offered = list(websocket.scope.get("subprotocols", []))
    if not any(p in PROTOCOLS for p in offered):
        await _deny(websocket, 400, "offer subprotocol ocpp1.6 or ocpp2.0.1")
        return
    station = await _authenticate(runtime, cache, charge_point_id, _basic_credentials(websocket))
    if station is None:
        log.warning("refused station connection", extra={"charge_point_id": charge_point_id})
        await _deny(websocket, 401, "unknown station or wrong credentials")
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
