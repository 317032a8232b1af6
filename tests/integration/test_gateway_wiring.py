"""Only the configured PSP is wired, and no webhook secret has a usable default (issue 11
item 1; DESIGN §6).

The forged delivery of the issue: ``POST /api/v1/webhooks/sandbox`` with a ``payout.paid`` of
1,000,000.00 signed with ``whsec_sandbox_local`` - once the simulator's built-in secret,
published with the code - answered 200 and moved ``Assets:Bank`` by a million, also on a server
configured for Stripe. Now it is refused and books nothing on both configurations: with the
sandbox because its secret is private and random per installation, with Stripe because no
sandbox exists at all (no webhook route, no card field, no way to its payments).
"""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from chargeledger.adapters.gateways.sandbox import SIGNATURE_HEADER, sign
from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.ledger import BANK
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    fold,
)
from chargeledger.errors import ConfigurationError
from chargeledger.services.payments._operations import learn
from tests.conftest import fast_hasher

PUBLIC_SECRET = "whsec_sandbox_local"  # the old default, known to everyone who read the code
STRIPE = {
    "CHARGELEDGER_PAYMENT_GATEWAY": "stripe",
    "CHARGELEDGER_STRIPE_API_KEY": "sk_test_wiring_not_called",
    "CHARGELEDGER_STRIPE_WEBHOOK_SECRET": "whsec_wiring_test_0123456789",
    "CHARGELEDGER_STRIPE_PUBLISHABLE_KEY": "pk_test_wiring_0123456789",
}


def settings_for(database: tuple[str, str | None], data_dir: Path, **env: str) -> Settings:
    url, _ = database
    return Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(data_dir), "CHARGELEDGER_DATABASE_URL": url, **env}
    )


def open_runtime(database: tuple[str, str | None], data_dir: Path, **env: str) -> Runtime:
    return build_runtime(
        settings_for(database, data_dir, **env), schema=database[1], hasher=fast_hasher()
    )


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, database: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The real app over a runtime configured for the parameter's gateway."""
    env: Mapping[str, str] = STRIPE if request.param == "stripe" else {}
    runtime = open_runtime(database, tmp_path / "data", **env)
    await runtime.migrate()
    transport = httpx.ASGITransport(app=create_app(runtime, migrate=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield runtime, http
    finally:
        await runtime.aclose()


def forged_payout(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    """The issue's delivery, signed with the once-public default secret, fresh timestamp."""
    now = int(runtime.clock.now().timestamp())
    body = {
        "id": "evt_forged_1",
        "type": "payout.paid",
        "created": now,
        "provider_ref": None,
        "payout_id": "po_forged_1",
        "gross": "1000000.00",
        "fee": "0.00",
        "currency": "EUR",
        "arrival": runtime.clock.now().date().isoformat(),
    }
    payload = json.dumps(body, sort_keys=True).encode()
    headers = {SIGNATURE_HEADER: sign(PUBLIC_SECRET, now, payload)}
    return payload, headers | {"Content-Type": "application/json"}


async def bank_and_entries(runtime: Runtime) -> tuple[Any, tuple[int, int]]:
    async with runtime.uow() as uow:
        bank = sum(b.balance for b in await uow.ledger.balances(prefix=BANK))
        return bank, await uow.ledger.count()


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize(
    ("served", "status", "code"),
    [("sandbox", 400, "webhook_forged"), ("stripe", 404, "gateway_not_found")],
    indirect=["served"],
    ids=["sandbox", "stripe"],
)
async def test_the_forged_payout_of_the_issue_is_refused_and_books_nothing(
    served: tuple[Runtime, httpx.AsyncClient], status: int, code: str
) -> None:
    runtime, http = served
    payload, headers = forged_payout(runtime)
    response = await http.post("/api/v1/webhooks/sandbox", content=payload, headers=headers)
    assert (response.status_code, error_code(response)) == (status, code), response.text
    assert await bank_and_entries(runtime) == (0, (0, 0))


@pytest.mark.parametrize("served", ["stripe"], indirect=True)
async def test_with_stripe_there_is_no_sandbox_at_all(
    served: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """No simulator object, no card field, no webhook route for it; a sandbox payment can be
    reached by nothing (only the Stripe gateway is configured)."""
    runtime, http = served
    assert runtime.sandbox is None
    assert set(runtime.payments.gateways) == {"stripe"}
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    tokens = await http.post("/sandbox-psp/v1/tokens", json=card)
    assert tokens.status_code == 404, tokens.text
    with pytest.raises(ConfigurationError) as caught:
        runtime.payments.gateway("sandbox")
    assert caught.value.code == "gateway_not_configured"
    assert not (runtime.settings.data_dir / "sandbox-webhook-secret").exists()
    # Stripe's own route exists and wants Stripe's signature.
    payload, headers = forged_payout(runtime)
    stripe = await http.post("/api/v1/webhooks/stripe", content=payload, headers=headers)
    assert (stripe.status_code, error_code(stripe)) == (400, "webhook_unsigned")
    assert await bank_and_entries(runtime) == (0, (0, 0))


@pytest.mark.parametrize("served", ["stripe"], indirect=True)
async def test_the_janitor_leaves_payments_of_an_unconfigured_psp_alone(
    served: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """A sandbox hold from before the switch to Stripe: no PSP may speak for it now, and it
    must not stop the janitor's pass (it raised ``gateway_not_configured`` for all)."""
    runtime, _ = served
    ctx = runtime.payments
    payment = Payment(
        purpose=PaymentPurpose.SESSION,
        method=PaymentMethodKind.CARD,
        gateway="sandbox",
        currency="EUR",
        id_tag="QRDEADBEEF00000001",
        method_token="tok_from_before",
        created_at=runtime.clock.now() - timedelta(hours=1),
    )
    key = payment.key(Operation.AUTHORISE)
    async with runtime.uow() as uow:
        await uow.payments.add(payment, runtime.clock.now())
        await learn(uow, ctx, payment, EventKind.REQUESTED, amount=Decimal(30), operation=key)
        await learn(uow, ctx, payment, EventKind.AUTHORISED, amount=Decimal(30), operation=key)
        await uow.commit()
    report = await runtime.payment_janitor()
    assert (report.resolved, report.settled, report.released) == ([], [], [])
    async with runtime.uow() as uow:
        assert fold(await uow.payments.events(payment.id)).status is PaymentStatus.AUTHORISED


@pytest.mark.parametrize("served", ["sandbox"], indirect=True)
async def test_with_the_sandbox_only_its_route_exists(
    served: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, http = served
    assert set(runtime.payments.gateways) == {"sandbox"}
    payload, headers = forged_payout(runtime)
    stripe = await http.post("/api/v1/webhooks/stripe", content=payload, headers=headers)
    assert (stripe.status_code, error_code(stripe)) == (404, "gateway_not_found")


# --- the sandbox's secret --------------------------------------------------------------------


async def test_the_sandbox_secret_is_private_random_per_data_dir_and_kept_over_restarts(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    first = open_runtime(database, tmp_path / "one")
    second = open_runtime(database, tmp_path / "two")
    try:
        path = tmp_path / "one" / "sandbox-webhook-secret"
        secret = path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(secret) >= 64  # 48 random bytes, URL-safe base64
        assert secret != PUBLIC_SECRET
        assert secret != (tmp_path / "two" / "sandbox-webhook-secret").read_text()
        assert not list((tmp_path / "one").glob(".sandbox-webhook-secret.*"))  # no draft left
        assert first.sandbox is not None
        payload, headers = first.sandbox.signed({"id": "evt_1", "type": "x", "created": 0})
        now = first.clock.now()
    finally:
        await first.aclose()
        await second.aclose()
    restarted = open_runtime(database, tmp_path / "one")
    try:
        assert path.read_text() == secret
        assert restarted.sandbox is not None  # verifies what the first process signed
        assert restarted.sandbox.verify_webhook(payload, headers, now).event_id == "evt_1"
    finally:
        await restarted.aclose()


async def test_a_secret_file_readable_by_others_is_made_private(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "sandbox-webhook-secret"
    path.write_text("an-older-installation-secret-0123456789")
    path.chmod(0o644)
    runtime = open_runtime(database, data)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == "an-older-installation-secret-0123456789"
    finally:
        await runtime.aclose()


async def test_a_secret_from_the_environment_is_used_and_nothing_is_written(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    secret = "whsec_from_the_environment_0123456789"
    runtime = open_runtime(database, tmp_path / "data", CHARGELEDGER_SANDBOX_WEBHOOK_SECRET=secret)
    try:
        assert runtime.sandbox is not None
        now = runtime.clock.now()
        payload = b'{"created": 0, "id": "evt_env", "type": "x"}'
        headers = {SIGNATURE_HEADER: sign(secret, int(now.timestamp()), payload)}
        assert runtime.sandbox.verify_webhook(payload, headers, now).event_id == "evt_env"
        assert not (tmp_path / "data" / "sandbox-webhook-secret").exists()
    finally:
        await runtime.aclose()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"CHARGELEDGER_SANDBOX_WEBHOOK_SECRET": PUBLIC_SECRET}, "SANDBOX_WEBHOOK_SECRET"),
        ({"CHARGELEDGER_SANDBOX_WEBHOOK_SECRET": "short"}, "SANDBOX_WEBHOOK_SECRET"),
        (
            {k: v for k, v in STRIPE.items() if "WEBHOOK" not in k},
            "STRIPE_WEBHOOK_SECRET",
        ),
        (
            {k: v for k, v in STRIPE.items() if "PUBLISHABLE" not in k},
            "STRIPE_PUBLISHABLE_KEY",
        ),
        (
            STRIPE | {"CHARGELEDGER_STRIPE_PUBLISHABLE_KEY": "sk_test_a_secret_key"},
            "STRIPE_PUBLISHABLE_KEY",
        ),
    ],
    ids=["public-default", "too-short", "stripe-no-webhook-secret", "stripe-no-pk", "stripe-sk"],
)
def test_settings_refuse_a_usable_default_or_a_leaking_key(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    assert caught.value.code == "invalid_setting"
    assert names in caught.value.message
