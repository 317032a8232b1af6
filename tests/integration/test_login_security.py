"""Password checks stall nothing and are throttled (issue 11 item 2; DESIGN §6).

Station handshakes are checked with the keyed fast hash inline (issue 17); the tests that
hold station checks inside argon2 give the stations the argon2 hashes stored before it
(``older_station_hashes``), which are still checked in the hasher's pool until replaced.

The runtime's hasher here is the real pool (``PooledPasswordHasher``) over real argon2 whose
``verify`` waits on a threading.Event the test holds: while the gate is closed, verifications
are provably in flight, and whatever must still work (a connected station's Heartbeat, other
requests) is checked then, without any timing assertion. Throttling runs on a clock the test
advances. Everything goes through the real app: HTTP over ASGI or a real uvicorn server, real
websockets with real ``ocpp`` charge points, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import websockets
from ocpp.v16 import call
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from chargeledger.adapters.security import (
    THREAD_NAME_PREFIX,
    Argon2Core,
    HmacStationSecrets,
    PooledPasswordHasher,
)
from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.identity import Role
from chargeledger.services import identity
from chargeledger.sim import EvseSpec, StationSpec, open_station
from chargeledger.sim.model import OcppVersion as SimOcppVersion
from chargeledger.sim.model import PowerType as SimPowerType
from tests.integration.ocpp_server import (
    STATION_PASSWORD,
    Network,
    basic_auth,
    running_server,
    seed_network,
)
from tests.integration.ocpp_support import CP16, CP201, Station16, bounded, connected

DEADLINE_S = 60.0
BOTH_VERSIONS = [Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]
TOKEN_URL = "/api/v1/auth/token"
PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
OTHER_ADDRESS = ("198.51.100.7", 40000)


class SteppingClock:
    """The runtime's clock; the test advances it instead of sleeping."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: int) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Verification:
    password_hash: str | None
    password: str
    thread: str


class GatedArgon2(Argon2Core):
    """Real argon2 (minimal cost) whose ``verify`` first waits for the gate to open."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024)
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[Verification] = []
        self.gate_timed_out = False
        self._lock = threading.Lock()

    def verify(self, password_hash: str | None, password: str) -> bool:
        with self._lock:
            thread = threading.current_thread().name
            self.calls.append(Verification(password_hash, password, thread))
        if not self.gate.wait(DEADLINE_S):
            self.gate_timed_out = True  # the test never got to open it: it fails on this
        return super().verify(password_hash, password)


@dataclass
class Guarded:
    runtime: Runtime
    core: GatedArgon2
    clock: SteppingClock

    @property
    def pool(self) -> PooledPasswordHasher:
        assert isinstance(self.runtime.hasher, PooledPasswordHasher)
        return self.runtime.hasher

    @asynccontextmanager
    async def client(
        self, address: tuple[str, int] = ("203.0.113.5", 50000)
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(self.runtime, migrate=False, jobs=False)
        transport = httpx.ASGITransport(app=app, client=address)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    async def add_user(self, email: str, *, active: bool = True) -> None:
        async with self.runtime.uow() as uow:
            user = await identity.create_user(
                uow,
                self.runtime.clock,
                self.runtime.hasher,
                email=email,
                password=PASSWORD,
                role=Role.FINANCE,
            )
            await uow.commit()
        if not active:
            async with self.runtime.uow() as uow:
                await identity.update_user(
                    uow, self.runtime.clock, self.runtime.hasher, user.id, {"active": False}
                )
                await uow.commit()


MakeGuarded = Callable[..., Awaitable[Guarded]]


async def older_station_hashes(runtime: Runtime, network: Network) -> None:
    """Give the stations argon2 hashes, as stored before station passwords had a scheme of
    their own: checking them takes the hasher's pool (and the address's check slots)."""
    older = await runtime.hasher.hash(STATION_PASSWORD)
    async with runtime.uow() as uow:
        for station in network.stations.values():
            assert station.password_hash is not None
            assert await uow.stations.replace_password_hash(
                station.id, station.password_hash, older
            )
        await uow.commit()


class RecordedStationSecrets(HmacStationSecrets):
    """The real station scheme, remembering which stored hashes it was asked to check."""

    def __init__(self) -> None:
        super().__init__(b"k" * 32)
        self.checked: list[str | None] = []

    def verify(self, password_hash: str | None, password: str) -> bool:
        self.checked.append(password_hash)
        return super().verify(password_hash, password)


@pytest.fixture
async def make_guarded(
    database: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[MakeGuarded]:
    """A migrated runtime with the gated hasher, a stepping clock and the given settings."""
    url, schema = database
    made: list[Runtime] = []

    async def make(**settings: str) -> Guarded:
        env = {
            "CHARGELEDGER_DATA_DIR": str(tmp_path / "data"),
            "CHARGELEDGER_DATABASE_URL": url,
            **{f"CHARGELEDGER_{name}": value for name, value in settings.items()},
        }
        core, clock = GatedArgon2(), SteppingClock()
        workers = int(settings.get("PASSWORD_HASH_WORKERS", "2"))
        backlog = int(settings.get("PASSWORD_HASH_BACKLOG", "64"))
        hasher = PooledPasswordHasher(core, workers=workers, backlog=backlog)
        runtime = build_runtime(Settings.from_env(env), schema=schema, hasher=hasher, clock=clock)
        made.append(runtime)
        await runtime.migrate()
        return Guarded(runtime, core, clock)

    yield make
    for runtime in made:
        await runtime.aclose()


async def until(condition: Callable[[], bool]) -> None:
    """Poll while the loop runs on, with a generous safety deadline (never a timing check)."""

    async def poll() -> None:
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), DEADLINE_S)


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await bounded(
        http.post(TOKEN_URL, data={"username": email, "password": password}), DEADLINE_S
    )


async def handshake_status(url: str, charge_point_id: str, password: str) -> int:
    """101 when the upgrade is accepted (closed again at once), else the refusal's status."""
    try:
        ws = await bounded(
            websockets.connect(
                f"{url}/{charge_point_id}",
                subprotocols=BOTH_VERSIONS,  # the server picks the registered one
                additional_headers=basic_auth(charge_point_id, password),
            ),
            DEADLINE_S,
        )
    except InvalidStatus as refused:
        return int(refused.response.status_code)
    await ws.close()
    return 101


async def refused_upgrade(url: str, charge_point_id: str, password: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        await bounded(
            websockets.connect(
                f"{url}/{charge_point_id}",
                subprotocols=BOTH_VERSIONS,  # the server picks the registered one
                additional_headers=basic_auth(charge_point_id, password),
            )
        )
    return refused.value


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# --- (a) the loop stays responsive -----------------------------------------------------------


async def test_a_station_is_answered_while_many_wrong_passwords_are_checked(
    make_guarded: MakeGuarded,
) -> None:
    """10 wrong logins and 10 wrong OCPP handshakes are held inside argon2; meanwhile a
    connected station's Heartbeat is answered and the API serves a request. The checks ran in
    the hasher's own threads, none on the event loop or in asyncio's default executor."""
    guarded = await make_guarded(
        LOGIN_CONCURRENCY_PER_ADDRESS="64", STATION_CONCURRENCY_PER_ADDRESS="64"
    )
    await older_station_hashes(guarded.runtime, await seed_network(guarded.runtime))
    loop_thread = threading.current_thread().name
    async with running_server(guarded.runtime) as url:
        base = url.replace("ws://", "http://").removesuffix("/ocpp")
        async with (
            httpx.AsyncClient(base_url=base) as http,
            connected(url, Station16, CP16) as station,
        ):
            await station.request(call.Heartbeat())
            guarded.core.gate.clear()
            logins = [
                asyncio.ensure_future(login(http, f"nobody{n}@example.org", WRONG))
                for n in range(10)
            ]
            handshakes = [
                asyncio.ensure_future(handshake_status(url, CP201, f"wrong-password-{n:06d}"))
                for n in range(10)
            ]
            await until(lambda: guarded.pool.pending == 20)

            beat = await station.request(call.Heartbeat())
            health = await bounded(http.get("/healthz"))
            assert guarded.pool.pending == 20  # still all held: the answers came meanwhile
            assert beat.current_time
            assert health.status_code == 200

            guarded.core.gate.set()
            answers = await asyncio.gather(*logins)
            statuses = await asyncio.gather(*handshakes)
    assert [a.status_code for a in answers] == [401] * 10
    assert statuses == [401] * 10
    assert not guarded.core.gate_timed_out
    threads = {c.thread for c in guarded.core.calls}
    assert all(t.startswith(THREAD_NAME_PREFIX) for t in threads), threads
    assert loop_thread not in threads


# --- (b) no user enumeration -----------------------------------------------------------------


async def test_unknown_and_inactive_users_cost_a_verification_and_get_the_same_answer(
    make_guarded: MakeGuarded,
) -> None:
    guarded = await make_guarded()
    await guarded.add_user("ana@example.org")
    await guarded.add_user("gone@example.org", active=False)
    async with guarded.client() as http:
        before = len(guarded.core.calls)
        wrong = await login(http, "ana@example.org", WRONG)
        unknown = await login(http, "nobody@example.org", WRONG)
        inactive = await login(http, "gone@example.org", PASSWORD)  # right, but deactivated
    calls = guarded.core.calls[before:]
    assert [(c.password, c.password_hash is None) for c in calls] == [
        (WRONG, False),
        (WRONG, True),  # the unknown user: a real argon2 verification of the dummy hash
        (PASSWORD, True),  # the inactive user too, never against the stored hash
    ]

    def seen(response: httpx.Response) -> tuple[int, object, dict[str, str]]:
        headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id",)}
        return response.status_code, response.json(), headers

    assert seen(wrong) == seen(unknown) == seen(inactive)
    assert seen(wrong)[0] == 401
    assert error_code(wrong) == "invalid_credentials"


async def test_an_unknown_station_costs_a_verification_too(make_guarded: MakeGuarded) -> None:
    """An unknown station is checked against the scheme's dummy hash, inline like a wrong
    password, and neither takes argon2."""
    guarded = await make_guarded()
    recorded = guarded.runtime.station_secrets = RecordedStationSecrets()
    await seed_network(guarded.runtime)
    async with running_server(guarded.runtime) as url:
        before = len(guarded.core.calls)
        unknown = await handshake_status(url, "CP-NOBODY", STATION_PASSWORD)
        wrong = await handshake_status(url, CP16, "wrong-password-000000")
    assert (unknown, wrong) == (401, 401)
    assert [h is None for h in recorded.checked] == [True, False]
    assert guarded.core.calls[before:] == []


# --- (c) throttling with Retry-After -----------------------------------------------------------


async def test_failed_logins_of_a_user_back_off_and_a_success_resets(
    make_guarded: MakeGuarded,
) -> None:
    guarded = await make_guarded(LOGIN_FAILURES_PER_USER="3")
    await guarded.add_user("ana@example.org")
    async with guarded.client() as http:
        for _ in range(4):  # three free failures, the fourth closes the door for 1 s
            assert (await login(http, "ana@example.org", WRONG)).status_code == 401
        checked = len(guarded.core.calls)
        closed = await login(http, "ANA@example.org ", PASSWORD)  # even the right password
        assert (closed.status_code, error_code(closed)) == (429, "too_many_attempts")
        assert closed.headers["Retry-After"] == "1"
        assert closed.json()["error"]["details"] == {"retry_after": 1}
        assert len(guarded.core.calls) == checked  # refused without any argon2 work

        guarded.clock.advance(1)
        assert (await login(http, "ana@example.org", WRONG)).status_code == 401
        again = await login(http, "ana@example.org", PASSWORD)
        assert (again.status_code, again.headers["Retry-After"]) == (429, "2")  # doubled

        guarded.clock.advance(2)
        assert (await login(http, "ana@example.org", PASSWORD)).status_code == 200
        # The success cleared her failures: the next wrong one is free again.
        assert (await login(http, "ana@example.org", WRONG)).status_code == 401
        assert (await login(http, "ana@example.org", PASSWORD)).status_code == 200


async def test_failed_logins_from_one_address_close_it_for_every_user(
    make_guarded: MakeGuarded,
) -> None:
    guarded = await make_guarded(LOGIN_FAILURES_PER_ADDRESS="4")
    await guarded.add_user("ana@example.org")
    async with guarded.client() as http, guarded.client(OTHER_ADDRESS) as elsewhere:
        for n in range(5):  # a spray: one guess each for five user names
            assert (await login(http, f"user{n}@example.org", WRONG)).status_code == 401
        closed = await login(http, "ana@example.org", PASSWORD)
        assert (closed.status_code, closed.headers["Retry-After"]) == (429, "1")
        assert (await login(elsewhere, "ana@example.org", PASSWORD)).status_code == 200
        guarded.clock.advance(1)
        assert (await login(http, "ana@example.org", PASSWORD)).status_code == 200


async def test_failed_station_handshakes_back_off_with_retry_after(
    make_guarded: MakeGuarded,
) -> None:
    guarded = await make_guarded(STATION_FAILURES_PER_STATION="2")
    await seed_network(guarded.runtime)
    async with running_server(guarded.runtime) as url:
        for n in range(3):  # two free failures, the third closes the door for 1 s
            assert await handshake_status(url, CP16, f"wrong-password-{n:06d}") == 401
        refused = await refused_upgrade(url, CP16, STATION_PASSWORD)
        assert refused.response.status_code == 429
        assert refused.response.headers["Retry-After"] == "1"
        assert await handshake_status(url, CP201, STATION_PASSWORD) == 101  # another station

        guarded.clock.advance(1)
        async with connected(url, Station16, CP16) as station:
            await station.request(call.Heartbeat())
        assert await handshake_status(url, CP16, "wrong-password-000009") == 401  # free again


# --- (d) concurrent checks per address ---------------------------------------------------------


async def test_concurrent_logins_per_address_are_capped_at_once(
    make_guarded: MakeGuarded,
) -> None:
    guarded = await make_guarded(LOGIN_CONCURRENCY_PER_ADDRESS="2")
    await guarded.add_user("ana@example.org")
    async with guarded.client() as http, guarded.client(OTHER_ADDRESS) as elsewhere:
        guarded.core.gate.clear()
        held = [asyncio.ensure_future(login(http, f"user{n}@example.org", WRONG)) for n in range(2)]
        await until(lambda: guarded.pool.pending == 2)
        excess = await login(http, "ana@example.org", PASSWORD)  # answered while two are held
        assert (excess.status_code, error_code(excess)) == (429, "too_many_attempts")
        assert excess.headers["Retry-After"] == "1"
        other = asyncio.ensure_future(login(elsewhere, "ana@example.org", PASSWORD))
        await until(lambda: guarded.pool.pending == 3)  # another address is admitted
        guarded.core.gate.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [401, 401]
        assert (await other).status_code == 200
        assert (await login(http, "ana@example.org", PASSWORD)).status_code == 200


async def test_concurrent_station_handshakes_per_address_are_capped_at_once(
    make_guarded: MakeGuarded,
) -> None:
    guarded = await make_guarded(STATION_CONCURRENCY_PER_ADDRESS="1")
    await older_station_hashes(guarded.runtime, await seed_network(guarded.runtime))
    async with running_server(guarded.runtime) as url:
        guarded.core.gate.clear()
        held = asyncio.ensure_future(handshake_status(url, CP201, "wrong-password-000000"))
        await until(lambda: guarded.pool.pending == 1)
        refused = await refused_upgrade(url, CP16, STATION_PASSWORD)
        assert (refused.response.status_code, refused.response.headers["Retry-After"]) == (
            429,
            "1",
        )
        guarded.core.gate.set()
        assert await held == 401
        assert await handshake_status(url, CP16, STATION_PASSWORD) == 101


async def test_a_simulated_station_waits_as_told_when_throttled(
    make_guarded: MakeGuarded,
) -> None:
    """The simulator (many stations behind one address, like a mobile operator's NAT) waits
    for Retry-After when its handshake is throttled, and connects once a slot is free; a
    refusal it is told to wait out is no failed attempt (several refusals in a row here)."""
    guarded = await make_guarded(STATION_CONCURRENCY_PER_ADDRESS="1")
    await older_station_hashes(guarded.runtime, await seed_network(guarded.runtime))
    spec = StationSpec(
        CP16,
        STATION_PASSWORD,
        SimOcppVersion.V16,
        (EvseSpec(1, 1, Decimal("22"), SimPowerType.AC_3_PHASE),),
    )
    async with running_server(guarded.runtime) as url:
        guarded.core.gate.clear()
        held = asyncio.ensure_future(handshake_status(url, CP201, "wrong-password-000000"))
        await until(lambda: guarded.pool.pending == 1)

        async def simulated() -> str:
            async with open_station(url, spec) as station:
                beat = await station.link.call(call.Heartbeat())
                return str(beat.current_time)

        connecting = asyncio.ensure_future(simulated())
        refusals = 6  # more than a station that counted them as failures would take
        await until(lambda: guarded.runtime.station_logins.refused >= refusals or connecting.done())
        assert not connecting.done(), connecting.exception()  # it did not give up
        guarded.core.gate.set()
        assert await held == 401
        assert await bounded(connecting, DEADLINE_S)
