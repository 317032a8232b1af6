"""Shared fixtures: a migrated runtime on real SQLite (always) and real PostgreSQL (when
CHARGELEDGER_TEST_POSTGRES_URL is set; reported as skipped otherwise), an HTTP client over the
real app, and users of every role."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings, sqlite_url
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import ACCOUNT_BOUND_ROLES, Role
from chargeledger.money import Currency
from chargeledger.services import customers, identity
from tests.integration.payment_world import PaymentWorld, payment_world

POSTGRES_URL_VARIABLE = "CHARGELEDGER_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TEST_PASSWORD = "correct horse battery staple"


def fast_hasher() -> Argon2PasswordHasher:
    """argon2id with minimal cost: same code path, test-suite speed."""
    return Argon2PasswordHasher(time_cost=1, memory_cost=1024)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return usable_backend(request.param)


def usable_backend(name: str) -> str:
    """``name``, when its database is there (a module whose tests concern one back end only
    overrides ``backend`` with this)."""
    if name == "postgresql" and not os.environ.get(POSTGRES_URL_VARIABLE):
        if os.environ.get("CHARGELEDGER_REQUIRE_POSTGRES"):
            pytest.fail(f"CI requires the PostgreSQL tests but {POSTGRES_URL_VARIABLE} is unset")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VARIABLE}")
    return name


@pytest.fixture(scope="session")
def sqlite_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test process: a test that asks for a migrated
    ``runtime`` starts on a copy of it (a millisecond) instead of running every migration
    (a quarter of a second, for each of a thousand and more tests). The copy is then
    migrated as before, which finds it at head; the migrations themselves are tested on empty
    databases (``empty_runtime``)."""
    path = tmp_path_factory.mktemp("sqlite-at-head") / "head.sqlite3"
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(path.parent / "data"),
            "CHARGELEDGER_DATABASE_URL": sqlite_url(path),
        }
    )

    async def migrate() -> None:
        runtime = build_runtime(settings, hasher=fast_hasher())
        try:
            await runtime.migrate()
        finally:
            await runtime.aclose()

    # In a thread of its own: the fixture may be set up while a test's event loop runs.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrate()).result()
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise RuntimeError(f"{wal} holds pages the copies would miss: close every connection")
    return path


@pytest.fixture
async def database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, str | None]]:
    """An empty database: a fresh SQLite file, or a fresh schema on the PostgreSQL server;
    for a test that uses the migrated ``runtime``, the SQLite file is a copy of one already at
    head (``sqlite_at_head``)."""
    if backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        if "runtime" in request.fixturenames:
            shutil.copyfile(request.getfixturevalue("sqlite_at_head"), path)
        yield sqlite_url(path), None
        return
    url = os.environ[POSTGRES_URL_VARIABLE]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, schema
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def empty_runtime(database: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime on an empty, unmigrated database."""
    url, schema = database
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(tmp_path / "data"), "CHARGELEDGER_DATABASE_URL": url}
    )
    runtime = build_runtime(settings, schema=schema, hasher=fast_hasher())
    try:
        yield runtime
    finally:
        await runtime.aclose()


@pytest.fixture
async def runtime(empty_runtime: Runtime) -> Runtime:
    """A runtime on a database migrated to head."""
    await empty_runtime.migrate()
    return empty_runtime


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def make_account(
    runtime: Runtime, name: str, kind: AccountKind = AccountKind.INDIVIDUAL
) -> Account:
    account = Account(
        kind=kind,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        billing_address=Address("Hauptstr. 1", "10115", "Berlin", "DE"),
        currency=Currency.of("EUR"),
    )
    async with runtime.uow() as uow:
        kept = await customers.create_account(uow, runtime.clock, runtime.vat_ids, account)
        await uow.commit()
        return kept


LoginAs = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def login_as(runtime: Runtime, client: httpx.AsyncClient) -> LoginAs:
    """Create a user of ``role`` (bound to ``account_id`` or a fresh account when the role
    needs one) and return the Authorization header of a real login through the API."""

    async def login(role: Role, account_id: uuid.UUID | None = None) -> dict[str, str]:
        if role in ACCOUNT_BOUND_ROLES and account_id is None:
            account_id = (await make_account(runtime, f"{role.value} home")).id
        email = f"{role.value}.{uuid.uuid4().hex[:8]}@example.org"
        async with runtime.uow() as uow:
            await identity.create_user(
                uow,
                runtime.clock,
                runtime.hasher,
                email=email,
                password=TEST_PASSWORD,
                role=role,
                account_id=account_id if role in ACCOUNT_BOUND_ROLES else None,
            )
            await uow.commit()
        response = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return login


@pytest.fixture
async def pw(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[PaymentWorld]:
    """The payment world (``tests/integration/payment_world.py``): a network, customers with
    cards and a wallet, the sandbox PSP, over the ``runtime`` of this test."""
    async with payment_world(runtime, client, login_as) as world:
        yield world
