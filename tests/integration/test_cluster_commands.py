"""An operator's command reaches a station held by another node (issue 18), end to end: a real
``ocpp`` 1.6 charge point on a real websocket of node A (the ``world``'s served app), and the
REST API of node B (a second runtime and app on the same PostgreSQL schema) sending it a
RemoteStartTransaction. The station's own answer comes back through B; a station no node
holds is ``station_offline`` there at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.identity import Role
from chargeledger.stations.connections import SUPERSEDED_REASON
from tests.conftest import fast_hasher, usable_backend
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    API,
    CP16,
    CP201,
    LoginAs,
    Station16,
    World,
    bounded,
    connected,
    running_server,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: SQLite runs as one node."""
    return usable_backend("postgresql")


def station_key(runtime: Runtime) -> str:
    """The key of station password hashes node A made into its data directory."""
    configured = runtime.settings.auth.station_secret_key
    return configured or (runtime.settings.data_dir / "station-secret-key").read_text().strip()


@pytest.fixture
async def node_b(
    world: World, database: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A second node on the world's database, joined to the cluster with node A."""
    url, schema = database
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(tmp_path / "b"),
            "CHARGELEDGER_DATABASE_URL": url,
            # the keys every node of a cluster shares: tokens and station passwords
            "CHARGELEDGER_JWT_SECRET": world.runtime.jwt_secret,
            "CHARGELEDGER_STATION_SECRET_KEY": station_key(world.runtime),
        }
    )
    runtime = build_runtime(settings, schema=schema, hasher=fast_hasher())
    await world.runtime.bus.start()  # node A's app runs without its jobs in these tests
    await runtime.bus.start()
    app = create_app(runtime, migrate=False, jobs=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://node-b") as http:
            yield runtime, http
    finally:
        await runtime.aclose()
        await world.runtime.bus.aclose()


async def remote_start(
    http: httpx.AsyncClient, world: World, charge_point_id: str, headers: dict[str, str]
) -> httpx.Response:
    """An operator's RemoteStartTransaction through the REST API of the node ``http`` is."""
    return await bounded(
        http.post(
            f"{API}/stations/{world.station_id(charge_point_id)}/commands",
            json={"kind": "remote_start", "evse_id": 1, "id_tag": ACTIVE_TAG},
            headers=headers,
        )
    )


async def test_a_command_sent_on_one_node_reaches_the_station_on_another(
    world: World, node_b: tuple[Runtime, httpx.AsyncClient], login_as: LoginAs
) -> None:
    runtime_b, http_b = node_b
    operator = await login_as(Role.OPERATOR)  # a token of the shared JWT key: valid on B
    async with connected(world.url, Station16) as cp:

        async def held_by_a() -> None:
            while not runtime_b.bus.is_connected(CP16):  # noqa: ASYNC110 - a notification's
                await asyncio.sleep(0.01)

        await bounded(held_by_a())
        cp.answers["RemoteStartTransaction"] = "Rejected"  # the station's word, not a constant
        sent = await remote_start(http_b, world, CP16, operator)
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "Rejected"
        assert cp.received[-1][0] == "RemoteStartTransaction"
        assert cp.received[-1][1]["id_tag"] == ACTIVE_TAG
    offline = await remote_start(http_b, world, CP201, operator)
    assert offline.status_code == 409, offline.text
    assert offline.json()["error"]["code"] == "station_offline"


async def test_a_station_that_connects_to_another_node_is_let_go_by_the_first(
    world: World, node_b: tuple[Runtime, httpx.AsyncClient]
) -> None:
    """One live link per station across the cluster: the station's websocket on node A is
    closed as superseded when the station connects to node B (a network change, a load
    balancer that moved it), and node B holds it from then on."""
    runtime_b, _ = node_b
    bus_a, bus_b = world.runtime.bus, runtime_b.bus
    async with running_server(runtime_b) as url_b, connected(world.url, Station16) as old:

        async def known_on_b() -> None:
            while CP16 not in bus_b._elsewhere:  # type: ignore[attr-defined]  # noqa: ASYNC110
                await asyncio.sleep(0.01)

        await bounded(known_on_b())
        async with connected(url_b, Station16) as new:
            await bounded(old._connection.wait_closed())
            assert old._connection.close_reason == SUPERSEDED_REASON
            assert new._connection.state.name == "OPEN"
            assert CP16 in bus_b._handlers  # type: ignore[attr-defined]

            async def let_go_on_a() -> None:  # its link's end runs after the close
                while CP16 in bus_a._handlers:  # type: ignore[attr-defined]  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

            await bounded(let_go_on_a())
            assert bus_a.is_connected(CP16)  # through node B
