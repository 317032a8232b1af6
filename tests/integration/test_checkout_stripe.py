"""The QR checkout with Stripe configured (issue 11 items 1 and 4), against the localstripe
emulator through the real Stripe SDK, a real OCPP 1.6 charge point and the real app.

The page loads Stripe.js from js.stripe.com and mounts an Elements card field with the
publishable key: the card goes to Stripe, which makes a PaymentMethod; the page posts only its
id (``pm_...``). Here the PaymentMethod is created through the SDK the way Stripe.js's
``createPaymentMethod`` does (no browser can reach js.stripe.com from the test machine); the
server then holds on it, remote-starts the EVSE and captures the receipt at the stop. No
sandbox exists in this configuration: its card field answers 404.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import stripe
from ocpp.v16 import call

from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.payments import PaymentMethodKind, PaymentStatus, fold
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from tests.conftest import fast_hasher
from tests.integration.localstripe_server import API_KEY, LocalStripe, start_localstripe
from tests.integration.ocpp_support import CP16, LoginAs, Station16, World, connected, open_world

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning:httpx")

PUBLISHABLE_KEY = "pk_test_chargeledger_checkout"
PAY = f"/pay/{CP16}/1"
VISA = "4242424242424242"


@pytest.fixture(scope="module")
def localstripe() -> Iterator[LocalStripe]:
    server = start_localstripe()
    yield server
    server.stop()


@pytest.fixture
async def runtime(
    database: tuple[str, str | None], tmp_path: Path, localstripe: LocalStripe
) -> AsyncIterator[Runtime]:
    """Overrides tests/conftest.py's: a migrated runtime whose PSP is Stripe (localstripe)."""
    url, schema = database
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(tmp_path / "data"),
            "CHARGELEDGER_DATABASE_URL": url,
            "CHARGELEDGER_PAYMENT_GATEWAY": "stripe",
            "CHARGELEDGER_STRIPE_API_KEY": API_KEY,
            "CHARGELEDGER_STRIPE_WEBHOOK_SECRET": "whsec_checkout_test_0123456789",
            "CHARGELEDGER_STRIPE_API_BASE": localstripe.url,
            "CHARGELEDGER_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        }
    )
    built = build_runtime(settings, schema=schema, hasher=fast_hasher())
    await built.migrate()
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as opened:
        async with runtime.uow() as uow:
            stored = await tariffs.import_tariff(
                uow, runtime.clock, flat_with_session_fee(Decimal(19))
            )
            await tariffs.assign_tariff(
                uow,
                runtime.clock,
                stored.id,
                TariffScope.STATION,
                str(opened.station_id(CP16)),
                runtime.settings.vat_rates,
            )
            await uow.commit()
        yield opened
        await runtime.quiesce()


@pytest.fixture
async def sdk(localstripe: LocalStripe) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient()
    yield stripe.StripeClient(
        API_KEY, base_addresses={"api": localstripe.url}, http_client=http, max_network_retries=0
    )
    await http.close_async()  # type: ignore[no-untyped-call]


def directive(response: httpx.Response, name: str) -> set[str]:
    for part in response.headers["content-security-policy"].split(";"):
        words = part.split()
        if words and words[0] == name:
            return set(words[1:])
    return set()


async def test_the_page_mounts_stripe_elements_under_a_policy_allowing_exactly_stripe(
    world: World,
) -> None:
    page = await world.http.get(PAY)
    assert page.status_code == 200, page.text
    html = page.text
    assert re.findall(r"<script\b[^>]*>", html) == [
        '<script src="https://js.stripe.com/v3">',
        '<script src="/static/checkout/checkout.js" defer>',
    ]
    assert f'data-publishable-key="{PUBLISHABLE_KEY}"' in html
    assert 'data-gateway="stripe"' in html
    assert 'id="card-element"' in html
    assert 'id="number"' not in html  # no card input of ours: Stripe's frame takes the card
    assert "sandbox-psp" not in html
    assert "sk_test" not in html
    assert directive(page, "script-src") == {
        "'self'",
        "https://js.stripe.com",
        "https://*.js.stripe.com",
    }
    assert directive(page, "frame-src") == {
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    }
    assert directive(page, "connect-src") == {"'self'", "https://api.stripe.com"}
    assert directive(page, "frame-ancestors") == {"'none'"}
    assert directive(page, "default-src") == {"'none'"}
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    script = await world.http.get("/static/checkout/checkout.js")
    assert "createPaymentMethod" in script.text
    card = {"number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    tokens = await world.http.post("/sandbox-psp/v1/tokens", json=card)
    assert tokens.status_code == 404, tokens.text


async def test_a_stripe_payment_method_id_holds_starts_and_captures(
    world: World, runtime: Runtime, sdk: stripe.StripeClient
) -> None:
    method = await sdk.v1.payment_methods.create_async(
        {"type": "card", "card": {"number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    assert method.id.startswith("pm_")
    async with connected(world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        started = await world.http.post(
            PAY, json={"token": method.id}, headers={"Idempotency-Key": "stripe-attempt-1"}
        )
        assert started.status_code == 201, started.text
        body = started.json()
        assert (body["status"], body["start"], body["held"]) == ("authorised", "Accepted", "23.74")
        async with runtime.uow() as uow:
            [payment] = await uow.payments.all()
        assert (payment.gateway, payment.method, payment.method_token) == (
            "stripe",
            PaymentMethodKind.CARD,
            method.id,
        )
        at_stripe = await runtime.payments.gateway().lookup(
            reference=str(payment.id), provider_ref=None
        )
        assert at_stripe is not None
        assert (at_stripe.authorised, at_stripe.captured) == (Decimal("23.74"), 0)
        intent = await sdk.v1.payment_intents.retrieve_async(at_stripe.provider_ref)
        assert (intent.status, intent.payment_method) == ("requires_capture", method.id)

        [(_, remote)] = [r for r in cp.received if r[0] == "RemoteStartTransaction"]
        tx = await cp.start_tx(remote["id_tag"], 50_000)
        await runtime.quiesce()
        await cp.stop_tx(tx, 60_000, 1800)  # 10 kWh: 6.25 EUR incl. VAT
        await runtime.quiesce()

    async with runtime.uow() as uow:
        state = fold(await uow.payments.events(payment.id))
    assert (state.status, state.captured) == (PaymentStatus.CAPTURED, Decimal("6.25"))
    after = await runtime.payments.gateway().lookup(
        reference=str(payment.id), provider_ref=at_stripe.provider_ref
    )
    assert after is not None
    assert after.captured == Decimal("6.25")
