"""A real chargeledger server (uvicorn, real websockets) on a free loopback port, with a seeded
site, stations of both protocol versions, and customer tokens."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import uvicorn

from chargeledger.asgi import create_app
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenStatus, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
    Station,
)
from chargeledger.domain.geo import Address
from chargeledger.money import Currency
from chargeledger.services import catalog, customers

STATION_PASSWORD = "station-password-0001"
START_DEADLINE_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def basic_auth(charge_point_id: str, password: str = STATION_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Network:
    """What the tests' stations and drivers are, as stored in the catalog."""

    stations: dict[str, Station] = field(default_factory=dict)
    account: Account | None = None
    tokens: dict[str, Token] = field(default_factory=dict)


async def seed_network(runtime: Runtime) -> Network:
    network = Network()
    clock, station_secrets = runtime.clock, runtime.station_secrets
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name="Test depot",
                address=Address("Ring 1", "10115", "Berlin", "DE"),
                latitude=Decimal("52.5"),
                longitude=Decimal("13.4"),
                time_zone="Europe/Berlin",
            ),
        )
        for cpid, version, power_kw, power_type in (
            ("CP16-AC", OcppVersion.V16, Decimal("22"), PowerType.AC_3_PHASE),
            ("CP201-DC", OcppVersion.V201, Decimal("150"), PowerType.DC),
        ):
            station = await catalog.create_station(
                uow,
                clock,
                station_secrets,
                {
                    "site_id": site.id,
                    "charge_point_id": cpid,
                    "vendor": "Test",
                    "model": "T1",
                    "ocpp_version": version,
                    "security_profile": 1,
                },
                STATION_PASSWORD,
            )
            network.stations[cpid] = station
            for evse_id in (1, 2):
                await catalog.create_evse(
                    uow,
                    clock,
                    Evse(
                        station_id=station.id,
                        evse_id=evse_id,
                        connectors=(
                            Connector(
                                1,
                                ConnectorStandard.IEC_62196_T2_COMBO,
                                ConnectorFormat.CABLE,
                                power_type,
                                power_kw,
                            ),
                        ),
                    ),
                )
        account = await customers.create_account(
            uow,
            clock,
            runtime.vat_ids,
            Account(
                kind=AccountKind.INDIVIDUAL,
                name="Driver One",
                email="driver.one@example.org",
                billing_address=Address("Ring 2", "10115", "Berlin", "DE"),
                currency=Currency.of("EUR"),
            ),
        )
        network.account = account
        for uid, status in (
            ("04AABBCCDD", TokenStatus.ACTIVE),
            ("04BLOCKED1", TokenStatus.BLOCKED),
        ):
            network.tokens[uid] = await customers.create_token(
                uow,
                clock,
                Token(
                    uid=uid,
                    type=TokenType.RFID,
                    account_id=account.id,
                    status=status,
                ),
            )
        await uow.commit()
    return network


@asynccontextmanager
async def running_server(runtime: Runtime) -> AsyncIterator[str]:
    """Serve the real ASGI app on loopback; yields ``ws://127.0.0.1:PORT/ocpp``."""
    port = free_port()
    app = create_app(runtime, migrate=False, jobs=False)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        # as ``chargeledger serve``
        ws_max_size=runtime.settings.ocpp.read_limit_bytes,
        ws_per_message_deflate=runtime.settings.ocpp.per_message_deflate,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(START_DEADLINE_S):  # a safety bound, not a schedule
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started listening")
            await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/ocpp"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 120)
