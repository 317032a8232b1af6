"""Hostile input as a test (DESIGN §7, issue 11 item 17): schemathesis fuzzes every operation
of the real app's OpenAPI, in process over ASGI on a real SQLite database seeded with a small
network (edge_world.py), as an admin and as a driver. No answer may be a server error, and
every answer must be one the OpenAPI documents (status code, content type, body schema), with
an ``Allow`` header on a 405.

Bounded and reproducible: a fixed seed, derandomised Hypothesis without a deadline, a cap of
examples per operation, and a time budget per role after which the remaining operations are
reported as skipped (a busy machine tests less; it never fails for being slow). The world's
ids are fixed, so the fuzzer puts real ids into paths half of the time and reaches the code
behind them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from chargeledger.asgi import create_app
from chargeledger.bootstrap import build_runtime
from chargeledger.config import Settings
from chargeledger.domain.identity import Role
from tests.conftest import TEST_PASSWORD, fast_hasher
from tests.integration.edge_world import (
    ACCOUNT,
    EVSES,
    SESSIONS,
    SITE,
    STATIONS,
    TOKEN,
    login_of,
    seed_edge_world,
)

SEED = 20261111
MAX_EXAMPLES = 12  # per operation and role, in the fuzzing phase
BUDGET_SECONDS = 120.0  # per role; later examples are not sent (never failed)
BASE_URL = f"http://{asgi.HOST}"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    unsupported_method,
]


def fuzz_config() -> SchemathesisConfig:
    """Seeded and bounded; the seeded ids go into paths half of the time."""
    known = {
        "station_id": [str(s) for s in STATIONS.values()],
        "station": list(STATIONS),
        "site_id": [str(SITE)],
        "account_id": [str(ACCOUNT)],
        "token_id": [str(TOKEN)],
        "session_id": [str(s) for s in SESSIONS.values()],
        "evse_id": [str(e) for e in EVSES],
    }
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": {
                f"path.{name}": {"dictionary": name, "probability": 0.5} for name in known
            },
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
        }
    )


# The OpenAPI document needs no database: it is read from an app that is never started.
schema = schemathesis.openapi.from_dict(
    create_app(migrate=False, jobs=False).openapi(), config=fuzz_config()
)


# The operator's details, so that invoice runs get as far as they would in production.
OPERATOR = {
    "CHARGELEDGER_OPERATOR_NAME": "Edge Charging GmbH",
    "CHARGELEDGER_OPERATOR_STREET": "Ring 1",
    "CHARGELEDGER_OPERATOR_POSTAL_CODE": "10115",
    "CHARGELEDGER_OPERATOR_CITY": "Berlin",
    "CHARGELEDGER_OPERATOR_COUNTRY": "DE",
}


@dataclass
class FuzzTarget:
    client: asgi.ASGIClient
    logins: dict[str, dict[str, str]]
    deadlines: dict[str, float] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def out_of_time(self, role: str) -> bool:
        """The role's budget starts with its first example."""
        deadline = self.deadlines.setdefault(role, time.monotonic() + BUDGET_SECONDS)
        late = time.monotonic() > deadline
        tally = self.skipped if late else self.sent
        tally[role] = tally.get(role, 0) + 1
        return late


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """The real app on SQLite, served on schemathesis's event loop: the database is migrated,
    seeded and closed there, by the app's lifespan."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    settings = Settings.from_env({"CHARGELEDGER_DATA_DIR": str(data_dir), **OPERATOR})
    runtime = build_runtime(settings, hasher=fast_hasher())
    app = create_app(runtime, migrate=False, jobs=False)
    served = app.router.lifespan_context
    seeded: list[bool] = []

    # schemathesis ends the app's lifespan after every test and starts it again on the next
    # request: the world is made once, the connections are closed every time.
    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        if not seeded:
            await runtime.migrate()
            await seed_edge_world(runtime)
            seeded.append(True)
        try:
            async with served(application) as state:
                yield state
        finally:
            await runtime.quiesce()
            await runtime.aclose()

    app.router.lifespan_context = lifespan
    try:
        with asgi.get_client(app) as client:
            logins = {}
            for role in (Role.ADMIN, Role.DRIVER):
                form = {"username": login_of(role), "password": TEST_PASSWORD}
                answer = client.post("/api/v1/auth/token", data=form)
                assert answer.status_code == 200, answer.text
                token = answer.json()["access_token"]
                logins[role.value] = {"Authorization": f"Bearer {token}"}
            target = FuzzTarget(client, logins)
            yield target
            # Shown with -s or -rA: how much of the fuzz the budget let through.
            print(f"fuzz requests sent {target.sent}, skipped for time {target.skipped}")
    finally:
        asgi.shutdown_lifespans()


def fuzz(case: Any, target: FuzzTarget, role: str) -> None:
    if target.out_of_time(role):
        pytest.skip(f"the {role}'s fuzz budget of {BUDGET_SECONDS:.0f} s is spent")
    case.call_and_validate(
        base_url=BASE_URL, session=target.client, headers=target.logins[role], checks=CHECKS
    )


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_admin(case: Any, fuzz_target: FuzzTarget) -> None:
    fuzz(case, fuzz_target, "admin")


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_driver(case: Any, fuzz_target: FuzzTarget) -> None:
    fuzz(case, fuzz_target, "driver")
