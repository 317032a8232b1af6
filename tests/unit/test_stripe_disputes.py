"""The Stripe adapter's chargebacks (issue 15) against recorded payloads: localstripe has no
disputes. Events are read into our terms; evidence goes out as Stripe's
``POST /v1/disputes/{id}`` with ``evidence[...]``, ``submit=true`` and our idempotency key,
to a local HTTP server that answers the recorded dispute and keeps the request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from chargeledger.adapters.gateways.stripe_gateway import StripeGateway
from chargeledger.adapters.gateways.stripe_objects import event_of
from chargeledger.services.payments.gateway import DisputePhase, WebhookKind

PAYLOADS = Path(__file__).parent / "stripe_payloads"


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return loaded


def test_a_dispute_event_is_read_with_its_fee_and_deadline() -> None:
    event = event_of(recorded("charge_dispute_funds_withdrawn.json"))
    assert event.kind is WebhookKind.DISPUTE
    assert event.provider_ref == "pi_1QintentAbc"
    notice = event.dispute
    assert notice is not None
    assert notice.phase is DisputePhase.FUNDS_WITHDRAWN
    assert notice.dispute_id == "du_1QdisputeAbc"
    assert (notice.amount.amount, notice.fee.amount) == (Decimal("47.06"), Decimal("15.00"))
    assert notice.evidence_due_by == datetime.fromtimestamp(1797033599, UTC)
    assert notice.reason == "product_not_received"


def test_an_unknown_dispute_event_is_ignored_not_an_error() -> None:
    body = recorded("charge_dispute_funds_withdrawn.json")
    body["type"] = "charge.dispute.something_new"
    assert event_of(body).kind is WebhookKind.IGNORED


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, list[str]], str | None]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        type(self).seen.append((self.path, form, self.headers.get("Idempotency-Key")))
        body = (PAYLOADS / "dispute_under_review.json").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stripe_api() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_evidence_is_submitted_with_our_key(stripe_api: str) -> None:
    gateway = StripeGateway("sk_test_recorded", "whsec_recorded", api_base=stripe_api)
    try:
        status = await gateway.submit_dispute_evidence(
            dispute_id="du_1QdisputeAbc",
            evidence={
                "product_description": "EV charging session, 80.000 kWh",
                "uncategorized_text": "signed meter record valid (OCMF, secp256r1)",
            },
            idempotency_key="cl-dispute-evidence-1",
        )
    finally:
        await gateway.aclose()
    assert status == "under_review"
    [(path, form, key)] = _Recorder.seen
    assert path == "/v1/disputes/du_1QdisputeAbc"
    assert form["submit"] == ["true"]
    assert form["evidence[product_description]"] == ["EV charging session, 80.000 kWh"]
    assert form["evidence[uncategorized_text]"] == ["signed meter record valid (OCMF, secp256r1)"]
    assert key == "cl-dispute-evidence-1"
