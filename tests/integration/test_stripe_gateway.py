"""The Stripe adapter through the real Stripe SDK against the localstripe emulator.

localstripe ignores idempotency keys, has no Search API, no incremental authorisation and no
fees, and captures less than the hold as "capture all, refund the rest": the adapter must stay
correct regardless, and these tests show it does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import stripe

from chargeledger.adapters.gateways.stripe_gateway import StripeGateway, to_minor_units
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payments.gateway import (
    WEBHOOK_TOLERANCE_SECONDS,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
    ProviderView,
    WebhookKind,
    WebhookRejectedError,
)
from tests.integration.localstripe_server import (
    API_KEY,
    LocalStripe,
    free_port,
    start_localstripe,
)

# stripe's HTTPXClient hands its form body to httpx as ``data=<str>``, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning:httpx")

WEBHOOK_SECRET = "whsec_chargeledger_test_secret"
VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"  # localstripe: attaches, but every charge is declined
NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def localstripe() -> Iterator[LocalStripe]:
    server = start_localstripe()
    yield server
    server.stop()


@pytest.fixture
async def gateway(localstripe: LocalStripe) -> AsyncIterator[StripeGateway]:
    # Built as bootstrap builds it: an api_base means the emulator, so no emulator=True here.
    adapter = StripeGateway(API_KEY, WEBHOOK_SECRET, api_base=localstripe.url)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def sdk(localstripe: LocalStripe) -> AsyncIterator[stripe.StripeClient]:
    """The SDK used directly: to set up cards and to look behind the adapter's back."""
    http = stripe.HTTPXClient()
    yield stripe.StripeClient(
        API_KEY, base_addresses={"api": localstripe.url}, http_client=http, max_network_retries=0
    )
    await http.close_async()  # type: ignore[no-untyped-call]  # untyped in the SDK


async def card(sdk: stripe.StripeClient, number: str = VISA) -> str:
    method = await sdk.v1.payment_methods.create_async(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return method.id


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def key(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex}"


async def test_hold_capture_less_refund_part_and_retries_change_nothing(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    reference = key("pay")
    held = await gateway.authorise(
        amount=eur("50.00"),
        method_token=await card(sdk),
        idempotency_key=key("auth"),
        reference=reference,
    )
    assert (held.outcome, held.amount) == (Outcome.AUTHORISED, Decimal("50.00"))
    intent = held.provider_ref
    assert intent is not None
    assert intent.startswith("pi_")

    capture_key = key("capture")
    captured = await gateway.capture(
        provider_ref=intent, amount=eur("32.17"), idempotency_key=capture_key
    )
    assert (captured.outcome, captured.amount) == (Outcome.CAPTURED, Decimal("32.17"))
    # The answer was "lost": the same call again reports the capture and takes nothing more.
    again = await gateway.capture(
        provider_ref=intent, amount=eur("32.17"), idempotency_key=capture_key
    )
    assert (again.outcome, again.amount) == (Outcome.CAPTURED, Decimal("32.17"))

    refund_key = key("refund")
    refunded = await gateway.refund(
        provider_ref=intent, amount=eur("10.00"), idempotency_key=refund_key, reason="idle fee"
    )
    assert (refunded.outcome, refunded.amount) == (Outcome.REFUNDED, Decimal("10.00"))
    assert refunded.refund_ref is not None
    assert refunded.refund_ref.startswith("re_")
    retried = await gateway.refund(
        provider_ref=intent, amount=eur("10.00"), idempotency_key=refund_key, reason="idle fee"
    )
    assert retried == refunded

    view = await gateway.lookup(reference=reference, provider_ref=intent)
    assert view == ProviderView(
        provider_ref=intent,
        authorised=Decimal("50.00"),
        captured=Decimal("32.17"),
        refunds=[(refunded.refund_ref, Decimal("10.00"))],
        released=False,
        declined=False,
    )
    # Behind the adapter: one charge of 50.00, the emulator's 17.83 remainder and our 10.00.
    behind = await sdk.v1.refunds.list_async({"payment_intent": intent})
    assert sorted(r.amount for r in behind.data) == [1000, 1783]


async def test_capture_above_the_hold_is_refused(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    held = await gateway.authorise(
        amount=eur("20.00"),
        method_token=await card(sdk),
        idempotency_key=key("a"),
        reference=key("p"),
    )
    assert held.provider_ref is not None
    with pytest.raises(InvalidInputError) as refused:
        await gateway.capture(
            provider_ref=held.provider_ref, amount=eur("20.01"), idempotency_key=key("c")
        )
    assert refused.value.code == "capture_above_hold"


async def test_authorise_with_capture_takes_the_money_at_once(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    reference = key("topup")
    taken = await gateway.authorise(
        amount=eur("25.00"),
        method_token=await card(sdk),
        idempotency_key=key("a"),
        reference=reference,
        capture=True,
    )
    assert (taken.outcome, taken.amount) == (Outcome.CAPTURED, Decimal("25.00"))
    view = await gateway.lookup(reference=reference, provider_ref=taken.provider_ref)
    assert view is not None
    assert (view.authorised, view.captured, view.refunds) == (
        Decimal("25.00"),
        Decimal("25.00"),
        [],
    )


async def test_decline_is_an_answer_and_lookup_shows_it(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    reference = key("pay")
    declined = await gateway.authorise(
        amount=eur("50.00"),
        method_token=await card(sdk, DECLINED_ON_CHARGE),
        idempotency_key=key("auth"),
        reference=reference,
    )
    assert (declined.outcome, declined.amount) == (Outcome.DECLINED, Decimal(0))
    assert declined.decline_code == "card_declined"

    view = await gateway.lookup(reference=reference, provider_ref=None)
    assert view is not None
    assert view.declined
    assert view.decline_code == "card_declined"
    assert (view.authorised, view.captured, view.released) == (Decimal(0), Decimal(0), False)
    # Refunding a declined payment is refused by Stripe, in our error tree, not the SDK's.
    with pytest.raises(ConflictError) as refused:
        await gateway.refund(
            provider_ref=view.provider_ref, amount=eur("1.00"), idempotency_key=key("r"), reason="x"
        )
    assert refused.value.code == "gateway_refused"


async def test_an_unknown_card_token_is_declined(gateway: StripeGateway) -> None:
    declined = await gateway.authorise(
        amount=eur("5.00"), method_token="pm_gone", idempotency_key=key("a"), reference=key("p")
    )
    assert (declined.outcome, declined.decline_code) == (Outcome.DECLINED, "invalid_request")


async def test_release_cancels_the_hold_and_is_safe_to_repeat(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    reference = key("pay")
    held = await gateway.authorise(
        amount=eur("40.00"),
        method_token=await card(sdk),
        idempotency_key=key("a"),
        reference=reference,
    )
    assert held.provider_ref is not None
    release_key = key("release")
    for _ in range(2):
        released = await gateway.release(
            provider_ref=held.provider_ref, idempotency_key=release_key
        )
        assert (released.outcome, released.amount) == (Outcome.RELEASED, Decimal(0))

    view = await gateway.lookup(reference=reference, provider_ref=held.provider_ref)
    assert view is not None
    assert (view.released, view.declined) == (True, False)
    assert (view.authorised, view.captured) == (Decimal(0), Decimal(0))
    with pytest.raises(ConflictError) as refused:
        await gateway.capture(
            provider_ref=held.provider_ref, amount=eur("1.00"), idempotency_key=key("c")
        )
    assert refused.value.code == "not_capturable"


async def test_increment_is_declined_where_unsupported_and_the_hold_stands(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    reference = key("pay")
    held = await gateway.authorise(
        amount=eur("30.00"),
        method_token=await card(sdk),
        idempotency_key=key("a"),
        reference=reference,
    )
    assert gateway.supports_increment
    assert held.provider_ref is not None
    raised = await gateway.increment(
        provider_ref=held.provider_ref, new_total=eur("45.00"), idempotency_key=key("inc")
    )
    assert (raised.outcome, raised.decline_code) == (Outcome.DECLINED, "increment_unsupported")
    view = await gateway.lookup(reference=reference, provider_ref=held.provider_ref)
    assert view is not None
    assert view.authorised == Decimal("30.00")


async def test_lookup_by_reference_alone(gateway: StripeGateway, sdk: stripe.StripeClient) -> None:
    reference = key("pay")
    held = await gateway.authorise(
        amount=eur("12.34"),
        method_token=await card(sdk),
        idempotency_key=key("a"),
        reference=reference,
    )
    view = await gateway.lookup(reference=reference, provider_ref=None)
    assert view is not None
    assert (view.provider_ref, view.authorised) == (held.provider_ref, Decimal("12.34"))
    assert await gateway.lookup(reference=key("never-sent"), provider_ref=None) is None
    assert await gateway.lookup(reference=reference, provider_ref="pi_unknown0000000") is None


async def test_card_details_never_carry_the_number(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    token = await card(sdk)
    details = await gateway.card_details(token)
    assert (details.token, details.brand, details.last4) == (token, "visa", "4242")
    assert (details.exp_month, details.exp_year) == (12, 2030)
    assert VISA not in repr(details)
    assert not hasattr(details, "number")

    debit = await sdk.v1.payment_methods.create_async(
        {"type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013000"}}
    )
    with pytest.raises(InvalidInputError) as refused:
        await gateway.card_details(debit.id)
    assert refused.value.code == "not_a_card"


async def test_amounts_go_to_stripe_in_exact_minor_units(
    gateway: StripeGateway, sdk: stripe.StripeClient
) -> None:
    held = await gateway.authorise(
        amount=Money.of(500, "JPY"),
        method_token=await card(sdk),
        idempotency_key=key("a"),
        reference=key("p"),
    )
    assert (held.outcome, held.amount) == (Outcome.AUTHORISED, Decimal(500))
    assert held.provider_ref is not None
    behind = await sdk.v1.payment_intents.retrieve_async(held.provider_ref)
    assert (behind.amount, behind.currency) == (500, "jpy")

    assert to_minor_units(eur("32.17")) == 3217
    assert to_minor_units(Money.of("1.234", "KWD")) == 1234
    with pytest.raises(InvalidInputError) as refused:
        await gateway.authorise(
            amount=eur("10.001"), method_token="pm_x", idempotency_key=key("a"), reference=key("p")
        )
    assert refused.value.code == "invalid_amount"


async def test_payouts_since_a_time(gateway: StripeGateway, sdk: stripe.StripeClient) -> None:
    created = await sdk.v1.payouts.create_async(
        {"amount": 10000, "currency": "eur", "status": "paid"}  # type: ignore[typeddict-unknown-key]
    )
    since = datetime.fromtimestamp(created.created, UTC)
    found = {p.payout_id: p for p in await gateway.payouts(since)}
    payout = found[created.id]
    assert (payout.gross, payout.fee, payout.net) == (eur("100.00"), eur("0.00"), eur("100.00"))
    assert payout.arrival == datetime.fromtimestamp(created.arrival_date, UTC).date()
    later = await gateway.payouts(since + timedelta(seconds=1))
    assert created.id not in {p.payout_id for p in later}


# --- what the real-Stripe path sends (localstripe predates these parameters) -------------


async def test_real_stripe_requests_carry_the_current_api_parameters() -> None:
    """A scripted Stripe: records each request and answers as Stripe does (a 402 card error
    names the issuer's reason and the PaymentIntent it left behind)."""
    seen: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []
    answers: dict[str, tuple[int, dict[str, Any]]] = {
        "GET /v1/payment_methods/pm_saved": (200, {"id": "pm_saved", "customer": "cus_1"}),
        "POST /v1/payment_intents": (
            402,
            {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "payment_intent": {"id": "pi_left", "object": "payment_intent"},
                }
            },
        ),
        "GET /v1/refunds": (200, {"object": "list", "data": [], "has_more": False}),
        "POST /v1/refunds": (
            200,
            {"id": "re_1", "object": "refund", "amount": 500, "currency": "eur"},
        ),
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
            except asyncio.IncompleteReadError:
                break
            request, *lines = head.strip().split("\r\n")
            headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            method, target = request.split(" ")[:2]
            path, _, query = target.partition("?")
            seen.append((f"{method} {path}", headers, parse_qs(body.decode() or query)))
            status, answer = answers[f"{method} {path}"]
            payload = json.dumps(answer).encode()
            writer.write(
                b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (status, len(payload))
                + payload
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    adapter = StripeGateway(API_KEY, WEBHOOK_SECRET, api_base=base, emulator=False)
    try:
        declined = await adapter.authorise(
            amount=eur("50.00"), method_token="pm_saved", idempotency_key="op-a", reference="pay-9"
        )
        refunded = await adapter.refund(
            provider_ref="pi_9", amount=eur("5.00"), idempotency_key="op-r", reason="idle fee"
        )
    finally:
        await adapter.aclose()
        server.close()
    assert (declined.outcome, declined.decline_code) == (Outcome.DECLINED, "insufficient_funds")
    assert declined.provider_ref == "pi_left"
    assert (refunded.refund_ref, refunded.amount) == ("re_1", Decimal("5.00"))
    sent = {call: (headers, form) for call, headers, form in seen}
    headers, form = sent["POST /v1/payment_intents"]
    assert headers["idempotency-key"] == "op-a"
    assert form["amount"] == ["5000"]
    assert form["customer"] == ["cus_1"]  # a saved card is only usable with its Customer
    assert form["allowed_payment_method_types[0]"] == ["card"]
    assert form["payment_method_options[card][request_incremental_authorization]"] == [
        "if_available"
    ]
    assert (form["capture_method"], form["metadata[payment_id]"]) == (["manual"], ["pay-9"])
    headers, form = sent["POST /v1/refunds"]
    assert (headers["idempotency-key"], form["metadata[operation]"]) == ("op-r", ["op-r"])
    assert (form["reason"], form["metadata[reason]"]) == (["requested_by_customer"], ["idle fee"])


# --- transport failures ------------------------------------------------------------------


async def test_nothing_listening_is_unavailable() -> None:
    adapter = StripeGateway(API_KEY, WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(GatewayUnavailableError):
            await adapter.card_details("pm_any")
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("answer", [None, b"HTTP/1.1 500 Internal Server Error\r\n"])
async def test_no_answer_or_a_server_error_is_an_unknown_outcome(answer: bytes | None) -> None:
    """Sent but unanswered in time, or answered 5xx: Stripe may have acted, so a timeout."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if answer is not None:
            body = b'{"error": {"type": "api_error", "message": "boom"}}'
            head = b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            writer.write(answer + head + body)
            await writer.drain()
        else:
            await reader.read()  # say nothing until the client gives up and hangs up
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    adapter = StripeGateway(
        API_KEY, WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{port}", timeout_seconds=0.3
    )
    try:
        with pytest.raises(GatewayTimeoutError):
            await adapter.authorise(
                amount=eur("1.00"), method_token="pm_x", idempotency_key=key("a"), reference="p"
            )
    finally:
        await adapter.aclose()
        server.close()


# --- webhooks ----------------------------------------------------------------------------


def signed(body: bytes, secret: str = WEBHOOK_SECRET, at: datetime = NOW) -> dict[str, str]:
    """A Stripe-Signature header as Stripe computes it: HMAC-SHA256 over ``"{t}.{body}"``."""
    t = int(at.timestamp())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={mac}"}


def event(kind: str, obj: dict[str, Any]) -> bytes:
    body = {"id": "evt_1", "object": "event", "type": kind, "created": int(NOW.timestamp())}
    return json.dumps({**body, "data": {"object": obj}}).encode()


def intent(status: str, **fields: Any) -> dict[str, Any]:
    base = {"id": "pi_1", "object": "payment_intent", "amount": 5000, "currency": "eur"}
    return {**base, "status": status, "metadata": {"payment_id": "pay-1"}, **fields}


def refund(refund_id: str, amount: int, created: int, operation: str | None) -> dict[str, Any]:
    metadata = {"operation": operation} if operation else {}
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": "eur",
        "created": created,
        "status": "succeeded",
        "payment_intent": "pi_1",
        "metadata": metadata,
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            event(
                "payment_intent.amount_capturable_updated",
                intent("requires_capture", amount_capturable=5000),
            ),
            {"kind": WebhookKind.AUTHORISED, "amount": Decimal("50.00"), "reference": "pay-1"},
        ),
        (
            event("payment_intent.succeeded", intent("succeeded", amount_received=3217)),
            {"kind": WebhookKind.CAPTURED, "amount": Decimal("32.17"), "currency": "EUR"},
        ),
        (
            event("payment_intent.canceled", intent("canceled")),
            {"kind": WebhookKind.RELEASED, "amount": Decimal(0), "provider_ref": "pi_1"},
        ),
        (
            event(
                "payment_intent.payment_failed",
                intent(
                    "requires_payment_method",
                    last_payment_error={
                        "code": "card_declined",
                        "decline_code": "insufficient_funds",
                    },
                ),
            ),
            {"kind": WebhookKind.DECLINED, "decline_code": "insufficient_funds"},
        ),
        (
            event(
                "charge.refunded",
                {
                    "id": "ch_1",
                    "object": "charge",
                    "payment_intent": "pi_1",
                    "metadata": {"payment_id": "pay-1"},
                    "refunds": {
                        "data": [
                            refund("re_old", 500, 100, "op-1"),
                            refund("re_new", 700, 200, "op-2"),
                        ]
                    },
                },
            ),
            {
                "kind": WebhookKind.REFUNDED,
                "refund_ref": "re_new",
                "amount": Decimal("7.00"),
                "operation": "op-2",
            },
        ),
        (
            event("refund.created", refund("re_9", 1000, 300, "op-9")),
            {
                "kind": WebhookKind.REFUNDED,
                "refund_ref": "re_9",
                "provider_ref": "pi_1",
                "operation": "op-9",
            },
        ),
        (
            event("customer.created", {"id": "cus_1", "object": "customer"}),
            {"kind": WebhookKind.IGNORED},
        ),
    ],
)
def test_webhook_events_in_our_terms(body: bytes, expected: dict[str, Any]) -> None:
    adapter = StripeGateway(API_KEY, WEBHOOK_SECRET)
    verified = adapter.verify_webhook(body, signed(body), NOW)
    assert (verified.event_id, verified.created) == ("evt_1", NOW)
    assert {name: getattr(verified, name) for name in expected} == expected


def test_payout_webhook_carries_the_fee_when_expanded() -> None:
    arrival = int(datetime(2026, 3, 31, tzinfo=UTC).timestamp())
    payout = {
        "id": "po_1",
        "object": "payout",
        "amount": 10000,
        "currency": "eur",
        "arrival_date": arrival,
        "status": "paid",
        "balance_transaction": {"id": "txn_1", "fee": 125},
    }
    body = event("payout.paid", payout)
    verified = StripeGateway(API_KEY, WEBHOOK_SECRET).verify_webhook(body, signed(body), NOW)
    assert verified.kind is WebhookKind.PAYOUT_PAID
    assert verified.payout is not None
    assert (verified.payout.gross, verified.payout.fee) == (eur("101.25"), eur("1.25"))
    assert (verified.payout.net, verified.payout.arrival) == (eur("100.00"), date(2026, 3, 31))


def test_webhook_header_name_is_case_insensitive_and_the_window_inclusive() -> None:
    adapter = StripeGateway(API_KEY, WEBHOOK_SECRET)
    body = event("payment_intent.canceled", intent("canceled"))
    edge = NOW - timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS)
    header = {"stripe-signature": signed(body, at=edge)["Stripe-Signature"]}
    assert adapter.verify_webhook(body, header, NOW).kind is WebhookKind.RELEASED


BODY = event("payment_intent.canceled", intent("canceled"))


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        (BODY, {}, "webhook_unsigned"),
        (BODY, {"Stripe-Signature": f"t={int(NOW.timestamp())}"}, "webhook_unsigned"),
        (BODY, signed(BODY, secret="whsec_someone_else"), "webhook_forged"),
        (BODY.replace(b"canceled", b"succeeded"), signed(BODY), "webhook_forged"),
        (BODY, signed(BODY, at=NOW - timedelta(seconds=301)), "webhook_stale"),
        (BODY, signed(BODY, at=NOW + timedelta(seconds=301)), "webhook_stale"),
        (b"not json", signed(b"not json"), "webhook_malformed"),
        (b'{"id": "evt_1"}', signed(b'{"id": "evt_1"}'), "webhook_malformed"),
        (b"\xff\xfe", signed(b"\xff\xfe"), "webhook_malformed"),
    ],
)
def test_unproven_webhooks_are_rejected(body: bytes, headers: dict[str, str], code: str) -> None:
    with pytest.raises(WebhookRejectedError) as rejected:
        StripeGateway(API_KEY, WEBHOOK_SECRET).verify_webhook(body, headers, NOW)
    assert rejected.value.code == code


class _Receiver(BaseHTTPRequestHandler):
    deliveries: queue.Queue[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.deliveries.put((body, dict(self.headers.items())))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


async def test_a_webhook_signed_by_the_emulator_is_accepted(
    gateway: StripeGateway, sdk: stripe.StripeClient, localstripe: LocalStripe
) -> None:
    deliveries: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"deliveries": deliveries})
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        config = {
            "url": f"http://127.0.0.1:{receiver.server_address[1]}/stripe",
            "secret": WEBHOOK_SECRET,
            "events": ["payment_intent.succeeded"],
        }
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{localstripe.url}/_config/webhooks/chargeledger", json=config
            )
        assert answer.status_code == 200

        reference = key("pay")
        taken = await gateway.authorise(
            amount=eur("18.90"),
            method_token=await card(sdk),
            idempotency_key=key("a"),
            reference=reference,
            capture=True,
        )
        while True:  # other tests' events may arrive too; ours is the one for our payment
            body, headers = await asyncio.to_thread(deliveries.get, timeout=120)
            sent = json.loads(body)
            if sent["data"]["object"]["id"] == taken.provider_ref:
                break
        verified = gateway.verify_webhook(
            body, headers, datetime.fromtimestamp(sent["created"], UTC)
        )
        assert (verified.kind, verified.reference) == (WebhookKind.CAPTURED, reference)
        assert (verified.provider_ref, verified.amount) == (taken.provider_ref, Decimal("18.90"))
        later = datetime.fromtimestamp(sent["created"] + WEBHOOK_TOLERANCE_SECONDS + 1, UTC)
        with pytest.raises(WebhookRejectedError) as late:
            gateway.verify_webhook(body, headers, later)
        assert late.value.code == "webhook_stale"
    finally:
        receiver.shutdown()
        receiver.server_close()
