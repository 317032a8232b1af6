"""PSP webhooks over HTTP (``POST /api/v1/webhooks/sandbox``, issue 6; DESIGN §2 exactly once,
§6 verified webhooks): a signed event applies once; the same provider event id again answers
200 and changes nothing; events in any order end in the same state and the same books;
unsigned, forged, stale and unreadable deliveries are refused with their reason and kept,
masked, for inspection; payouts are booked once; and no card number from a payload is ever
stored."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from chargeledger.adapters.db.payment_tables import rejected_webhooks, webhook_receipts
from chargeledger.adapters.db.schema import metadata
from chargeledger.adapters.gateways.sandbox import SIGNATURE_HEADER, SandboxGateway, sign
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account
from chargeledger.domain.ledger import BANK, PSP_FEES, EntryKind, JournalEntry, psp, receivable
from chargeledger.domain.ledger import trial_balance as trial
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentState,
    PaymentStatus,
    fold,
)
from chargeledger.services.payments._operations import learn
from chargeledger.services.payments.gateway import WEBHOOK_TOLERANCE_SECONDS
from tests.conftest import make_account

URL = "/api/v1/webhooks/sandbox"
PAN = "4242424242424242"
PAN_SPACED = "4242 4242 4242 4242"
D = Decimal
Body = dict[str, Any]


@pytest.fixture
async def account(runtime: Runtime) -> Account:
    return await make_account(runtime, "Webhook Household")


def sandbox(runtime: Runtime) -> SandboxGateway:
    gateway = runtime.sandbox
    assert gateway is not None
    return gateway


async def new_payment(runtime: Runtime, account: Account, *, authorised: str | None) -> Payment:
    """A card payment of a session as our side knows it: asked to hold, and (when
    ``authorised``) held, as if the PSP's answer had come back."""
    payment = Payment(
        purpose=PaymentPurpose.SESSION,
        method=PaymentMethodKind.APP,
        gateway="sandbox",
        currency="EUR",
        account_id=account.id,
        method_token="tok_webhook_test",
    )
    ctx, key = runtime.payments, payment.key(Operation.AUTHORISE)
    async with runtime.uow() as uow:
        await uow.payments.add(payment, runtime.clock.now())
        await learn(uow, ctx, payment, EventKind.REQUESTED, amount=D(30), operation=key)
        if authorised is not None:
            await learn(
                uow,
                ctx,
                payment,
                EventKind.AUTHORISED,
                amount=D(authorised),
                operation=key,
                provider_ref=provider_ref(payment),
            )
        await uow.commit()
    return payment


def provider_ref(payment: Payment) -> str:
    return f"sbx_pi_{payment.id.hex[:16]}"


def event(payment: Payment, kind: str, event_id: str | None = None, **data: Any) -> Body:
    """A sandbox event about ``payment``, as the simulator writes them."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
        "type": f"payment.{kind}",
        "created": 0,
        "provider_ref": provider_ref(payment),
        "reference": str(payment.id),
        "currency": "EUR",
        **data,
    }


async def deliver(
    client: httpx.AsyncClient, runtime: Runtime, body: Body, **signing: Any
) -> httpx.Response:
    payload, headers = sandbox(runtime).signed(body, **signing)
    return await client.post(URL, content=payload, headers=headers)


async def state(runtime: Runtime, payment: Payment) -> PaymentState:
    async with runtime.uow() as uow:
        return fold(await uow.payments.events(payment.id))


async def event_count(runtime: Runtime, payment: Payment) -> int:
    async with runtime.uow() as uow:
        return len(await uow.payments.events(payment.id))


async def entries_of(runtime: Runtime, payment: Payment) -> list[JournalEntry]:
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries()
    pid = str(payment.id)
    return [e for e in entries if e.source_id == pid or e.source_id.startswith(pid + ":")]


def books(entries: list[JournalEntry]) -> list[tuple[str, tuple[tuple[str, Decimal], ...]]]:
    """The entries without their ids: kind and postings, in a stable order."""
    return sorted(
        (e.kind.value, tuple(sorted((p.account, p.units.amount) for p in e.postings)))
        for e in entries
    )


async def balances_are_zero(runtime: Runtime) -> bool:
    async with runtime.uow() as uow:
        return all(v == 0 for v in trial(await uow.ledger.balances()).values())


async def rejected(runtime: Runtime) -> list[dict[str, Any]]:
    engine = runtime._factory.engine
    async with engine.connect() as connection:
        rows = await connection.execute(select(rejected_webhooks))
        return [dict(r) for r in rows.mappings()]


async def receipts(runtime: Runtime) -> list[dict[str, Any]]:
    engine = runtime._factory.engine
    async with engine.connect() as connection:
        rows = await connection.execute(select(webhook_receipts))
        return [dict(r) for r in rows.mappings()]


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"])
    return str(body["error"]["code"])


# --- applied once ----------------------------------------------------------------------------


async def test_a_signed_capture_applies_once(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    payment = await new_payment(runtime, account, authorised="30.00")
    body = event(payment, "captured", "evt_capture_1", amount="20.00")

    first = await deliver(client, runtime, body)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": "evt_capture_1", "duplicate": False}
    captured = await state(runtime, payment)
    assert (captured.status, captured.captured) == (PaymentStatus.CAPTURED, D("20.00"))
    [entry] = await entries_of(runtime, payment)
    assert entry.kind is EntryKind.CAPTURE
    assert {p.account: p.units.amount for p in entry.postings} == {
        psp("sandbox"): D("20.00"),
        receivable(account.id): D("-20.00"),
    }
    events_before = await event_count(runtime, payment)

    again = await deliver(client, runtime, body)
    assert again.status_code == 200, again.text
    assert again.json() == {"received": "evt_capture_1", "duplicate": True}
    # The same event id with other content (a replay someone re-signed) changes nothing either.
    changed = await deliver(client, runtime, body | {"amount": "29.00"})
    assert changed.json()["duplicate"] is True
    # Another event reporting the same capture (a fact already known) books nothing.
    other = await deliver(client, runtime, event(payment, "captured", amount="20.00"))
    assert other.json()["duplicate"] is False
    assert len(await entries_of(runtime, payment)) == 1
    assert await event_count(runtime, payment) == events_before
    assert await state(runtime, payment) == captured
    assert await balances_are_zero(runtime)
    kept = [r for r in await receipts(runtime) if r["event_id"] == "evt_capture_1"]
    assert len(kept) == 1
    assert (kept[0]["gateway"], kept[0]["kind"]) == ("sandbox", "captured")


async def test_webhook_and_answer_are_one_fact(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    """The webhook overtakes our call's answer: the answer, learnt later, books nothing."""
    payment = await new_payment(runtime, account, authorised="30.00")
    response = await deliver(client, runtime, event(payment, "captured", amount="12.00"))
    assert response.status_code == 200, response.text
    async with runtime.uow() as uow:
        late = await learn(
            uow,
            runtime.payments,
            payment,
            EventKind.CAPTURED,
            amount=D("12.00"),
            operation=payment.key(Operation.CAPTURE),
            provider_ref=provider_ref(payment),
        )
        await uow.commit()
    assert late is False
    assert len(await entries_of(runtime, payment)) == 1


async def test_events_of_payments_we_do_not_know_are_accepted_and_ignored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Another integration's payment, or an event type we do not act on: 200, nothing booked
    (a 4xx would make the PSP retry for days)."""
    for body in (
        {"id": "evt_x1", "type": "payment.captured", "created": 0, "reference": str(uuid.uuid4())},
        {"id": "evt_x2", "type": "payment.captured", "created": 0, "reference": "order-17"},
        {"id": "evt_x3", "type": "payment.captured", "created": 0},
        {"id": "evt_x4", "type": "customer.updated", "created": 0},
    ):
        response = await deliver(client, runtime, body)
        assert response.status_code == 200, response.text
        assert response.json() == {"received": body["id"], "duplicate": False}
    async with runtime.uow() as uow:
        assert await uow.ledger.count() == (0, 0)
    assert await rejected(runtime) == []


@pytest.mark.parametrize("gateway", ["stripe", "wallet"])
async def test_a_gateway_speaks_for_its_own_payments_only(
    client: httpx.AsyncClient, runtime: Runtime, account: Account, gateway: str
) -> None:
    """A sandbox-signed event naming a Stripe or wallet payment changes nothing: otherwise
    whoever holds the sandbox's secret could refund a wallet payment into the wallet."""
    payment = Payment(
        purpose=PaymentPurpose.SESSION,
        method=PaymentMethodKind.WALLET if gateway == "wallet" else PaymentMethodKind.APP,
        gateway=gateway,
        currency="EUR",
        account_id=account.id,
    )
    async with runtime.uow() as uow:
        await uow.payments.add(payment, runtime.clock.now())
        await learn(
            uow,
            runtime.payments,
            payment,
            EventKind.CAPTURED,
            amount=D("10.00"),
            operation=payment.key(Operation.CAPTURE),
        )
        await uow.commit()
    before = (await state(runtime, payment), books(await entries_of(runtime, payment)))
    op = payment.key(Operation.REFUND, 1)
    for body in (
        event(payment, "refunded", amount="10.00", refund_ref="re_x", operation=op),
        event(payment, "released"),
        event(payment, "captured", amount="99.00"),
    ):
        response = await deliver(client, runtime, body)
        assert response.status_code == 200, response.text
    after = (await state(runtime, payment), books(await entries_of(runtime, payment)))
    assert after == before


@pytest.mark.parametrize(
    "change",
    [
        {"id": "evt_" + "9" * 300},
        {"provider_ref": "sbx_pi_" + "x" * 300},
        {"refund_ref": "re_" + "x" * 200},
        {"operation": "cl-" + "x" * 200},
    ],
    ids=["event id", "provider ref", "refund ref", "operation"],
)
async def test_overlong_ids_are_refused_and_kept(
    client: httpx.AsyncClient, runtime: Runtime, account: Account, change: Body
) -> None:
    """Ids longer than any PSP's (and than their columns) are unreadable, on either back end:
    400 ``webhook_malformed`` and kept, not a 500 on PostgreSQL only."""
    payment = await new_payment(runtime, account, authorised="30.00")
    body = event(payment, "refunded", amount="1.00", refund_ref="re_1") | change
    response = await deliver(client, runtime, body)
    assert (response.status_code, error_code(response)) == (400, "webhook_malformed")
    assert [r["code"] for r in await rejected(runtime)] == ["webhook_malformed"]
    assert await receipts(runtime) == []


async def test_a_refund_naming_an_operation_that_is_not_ours_is_still_one_refund(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    """A refund made at the PSP by hand may carry any "operation" label: it is booked as a
    refund by its PSP id, and the payment stays readable (not a 422 on every fold)."""
    payment = await new_payment(runtime, account, authorised="30.00")
    await deliver(client, runtime, event(payment, "captured", amount="20.00"))
    body = event(payment, "refunded", amount="4.00", refund_ref="re_manual", operation="refund-1")
    response = await deliver(client, runtime, body)
    assert response.status_code == 200, response.text
    found = await state(runtime, payment)
    assert (found.status, found.refunded) == (PaymentStatus.PARTIALLY_REFUNDED, D("4.00"))
    other = event(payment, "refunded", amount="1.00", refund_ref="re_other", operation="x")
    assert (await deliver(client, runtime, other)).status_code == 200
    assert (await state(runtime, payment)).refunded == D("5.00")
    assert len([e for e in await entries_of(runtime, payment) if e.kind is EntryKind.REFUND]) == 2


# --- any order -------------------------------------------------------------------------------

LIFE = ("authorised", "captured", "refund_1", "refund_2")


def life_event(payment: Payment, step: str) -> Body:
    match step:
        case "authorised":
            return event(payment, "authorised", amount="30.00")
        case "captured":
            return event(payment, "captured", amount="20.00")
        case "refund_1":
            op = payment.key(Operation.REFUND, 1)
            return event(payment, "refunded", amount="5.00", refund_ref="re_1", operation=op)
        case _:
            op = payment.key(Operation.REFUND, 2)
            return event(payment, "refunded", amount="3.00", refund_ref="re_2", operation=op)


def comparable(found: PaymentState) -> tuple[object, ...]:
    return (
        found.status,
        found.authorised,
        found.captured,
        found.refunded,
        found.provider_ref is not None,
        found.open_operations,
    )


async def test_events_in_any_order_end_in_the_same_state_and_books(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    """All 24 orders of a payment's four webhooks (captured before authorised, refunded before
    captured, ...), each followed by a redelivery of the first, end exactly like the order in
    which they happened."""
    outcomes: dict[tuple[str, ...], tuple[object, ...]] = {}
    for order in itertools.permutations(LIFE):
        payment = await new_payment(runtime, account, authorised=None)
        bodies = [life_event(payment, step) for step in order]
        for body in [*bodies, bodies[0]]:
            response = await deliver(client, runtime, body)
            assert response.status_code == 200, (order, response.text)
        assert response.json()["duplicate"] is True
        ledger = books(await entries_of(runtime, payment))
        outcomes[order] = (comparable(await state(runtime, payment)), ledger)
    in_order = outcomes[LIFE]
    assert {order: found for order, found in outcomes.items() if found != in_order} == {}
    status, authorised, captured, refunded, known_ref, open_ops = in_order[0]  # type: ignore[misc]
    assert (status, authorised, captured, refunded, known_ref, open_ops) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        D("30.00"),
        D("20.00"),
        D("8.00"),
        True,
        (),
    )
    psp_account, payer = psp("sandbox"), receivable(account.id)
    assert in_order[1] == sorted(
        [
            ("capture", ((psp_account, D("20.00")), (payer, D("-20.00")))),
            ("refund", ((psp_account, D("-5.00")), (payer, D("5.00")))),
            ("refund", ((psp_account, D("-3.00")), (payer, D("3.00")))),
        ]
    )
    assert await balances_are_zero(runtime)


async def test_release_before_authorised_ends_released(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    payment = await new_payment(runtime, account, authorised=None)
    for body in (event(payment, "released"), event(payment, "authorised", amount="30.00")):
        assert (await deliver(client, runtime, body)).status_code == 200
    found = await state(runtime, payment)
    assert (found.status, found.authorised, found.captured) == (PaymentStatus.RELEASED, 30, 0)
    assert await entries_of(runtime, payment) == []


async def test_a_declined_event_fails_the_payment(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    payment = await new_payment(runtime, account, authorised=None)
    body = event(payment, "declined", decline_code="insufficient_funds")
    assert (await deliver(client, runtime, body)).status_code == 200
    found = await state(runtime, payment)
    assert (found.status, found.decline_code) == (PaymentStatus.FAILED, "insufficient_funds")


# --- refused deliveries ----------------------------------------------------------------------


def _body_with_card(marker: str) -> Body:
    return {
        "id": f"evt_{marker}",
        "type": "payment.captured",
        "created": 0,
        "reference": str(uuid.uuid4()),
        "amount": "20.00",
        "note": f"card {PAN_SPACED} and {PAN}",
    }


def _payload(body: Body) -> bytes:
    return json.dumps(body, sort_keys=True).encode()


def _now(runtime: Runtime) -> int:
    return int(runtime.clock.now().timestamp())


def unsigned(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    return _payload(_body_with_card("unsigned")), {}


def other_secret(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    payload = _payload(_body_with_card("other_secret"))
    return payload, {SIGNATURE_HEADER: sign("whsec_not_ours", _now(runtime), payload)}


def tampered(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    payload, headers = sandbox(runtime).signed(_body_with_card("tampered"))
    return payload.replace(b"20.00", b"99.00"), headers


def garbage_v1(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    payload = _payload(_body_with_card("garbage"))
    return payload, {SIGNATURE_HEADER: f"t={_now(runtime)},v1=not-a-signature"}


def stale(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    at = runtime.clock.now() - timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS + 5)
    return sandbox(runtime).signed(_body_with_card("stale"), at)


def far_future(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    at = runtime.clock.now() + timedelta(hours=1)
    return sandbox(runtime).signed(_body_with_card("future"), at)


def not_json(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    payload = f"card={PAN}&cvc=123&exp=12/30 ({PAN_SPACED})".encode()
    secret = (runtime.settings.data_dir / "sandbox-webhook-secret").read_text()
    return payload, {SIGNATURE_HEADER: sign(secret, _now(runtime), payload)}


def unreadable_event(runtime: Runtime) -> tuple[bytes, dict[str, str]]:
    return sandbox(runtime).signed(_body_with_card("unreadable") | {"amount": "lots"})


REFUSALS = {
    "unsigned": (unsigned, "webhook_unsigned"),
    "other secret": (other_secret, "webhook_forged"),
    "tampered body": (tampered, "webhook_forged"),
    "garbage v1": (garbage_v1, "webhook_forged"),
    "stale": (stale, "webhook_stale"),
    "far future": (far_future, "webhook_stale"),
    "not JSON": (not_json, "webhook_malformed"),
    "unreadable event": (unreadable_event, "webhook_malformed"),
}


@pytest.mark.parametrize("case", REFUSALS)
async def test_refused_deliveries_are_kept_masked(
    client: httpx.AsyncClient, runtime: Runtime, case: str
) -> None:
    make, code = REFUSALS[case]
    payload, headers = make(runtime)
    response = await client.post(URL, content=payload, headers=headers)
    assert response.status_code == 400, response.text
    assert error_code(response) == code
    [kept] = await rejected(runtime)
    assert (kept["gateway"], kept["code"]) == ("sandbox", code)
    assert PAN not in kept["body"]
    assert PAN_SPACED not in kept["body"]
    assert "[digits]" in kept["body"]
    assert "cvc=123" in kept["body"] or '"note"' in kept["body"]  # the rest is kept to inspect
    assert await receipts(runtime) == []
    async with runtime.uow() as uow:
        assert await uow.ledger.count() == (0, 0)


async def test_a_non_ascii_signature_header_is_forged_not_a_crash(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    payload = _payload(_body_with_card("latin1"))
    header = f"t={_now(runtime)},v1=".encode() + b"\xe9\xe9"
    response = await client.post(URL, content=payload, headers={SIGNATURE_HEADER: header})
    assert response.status_code == 400, response.text
    assert error_code(response) == "webhook_forged"


async def test_a_stale_but_genuine_event_is_not_applied(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    """A replay of a real, once-valid event (captured long ago) is refused, not applied."""
    payment = await new_payment(runtime, account, authorised="30.00")
    old = runtime.clock.now() - timedelta(minutes=10)
    response = await deliver(client, runtime, event(payment, "captured", amount="20"), at=old)
    assert (response.status_code, error_code(response)) == (400, "webhook_stale")
    assert (await state(runtime, payment)).status is PaymentStatus.AUTHORISED
    # Just inside the tolerance it is applied.
    recent = runtime.clock.now() - timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS - 30)
    response = await deliver(client, runtime, event(payment, "captured", amount="20"), at=recent)
    assert response.status_code == 200, response.text
    assert (await state(runtime, payment)).status is PaymentStatus.CAPTURED


@pytest.mark.parametrize("gateway", ["paypal", "stripe", "SANDBOX"])
async def test_unknown_gateway_is_404(
    client: httpx.AsyncClient, runtime: Runtime, gateway: str
) -> None:
    payload, headers = sandbox(runtime).signed({"id": "evt_1", "type": "x", "created": 0})
    response = await client.post(f"/api/v1/webhooks/{gateway}", content=payload, headers=headers)
    assert response.status_code == 404, response.text
    assert error_code(response) == "gateway_not_found"
    assert await receipts(runtime) == []


async def test_an_oversized_delivery_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    payload, headers = sandbox(runtime).signed(
        {"id": "evt_big", "type": "x", "created": 0, "pad": "x" * (300 * 1024)}
    )
    response = await client.post(URL, content=payload, headers=headers)
    assert response.status_code == 413, response.text
    assert error_code(response) == "payload_too_large"
    assert response.json()["error"]["details"] == {"limit_bytes": 256 * 1024}
    assert await receipts(runtime) == []


# --- payouts ---------------------------------------------------------------------------------


def payout_event(event_id: str, payout_id: str = "po_test_1") -> Body:
    return {
        "id": event_id,
        "type": "payout.paid",
        "created": 0,
        "provider_ref": None,
        "payout_id": payout_id,
        "gross": "100.00",
        "fee": "1.65",
        "currency": "EUR",
        "arrival": "2026-03-02",
    }


async def test_a_payout_is_booked_once(client: httpx.AsyncClient, runtime: Runtime) -> None:
    first = await deliver(client, runtime, payout_event("evt_po_1"))
    assert first.status_code == 200, first.text
    assert first.json() == {"received": "evt_po_1", "duplicate": False}
    again = await deliver(client, runtime, payout_event("evt_po_1"))
    assert again.json()["duplicate"] is True
    # The PSP announcing the same payout under another event id: still booked once.
    other = await deliver(client, runtime, payout_event("evt_po_2"))
    assert other.json() == {"received": "evt_po_2", "duplicate": False}
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries()
    [entry] = entries
    assert (entry.kind, entry.source_type, entry.source_id) == (
        EntryKind.PAYOUT,
        "payout",
        "po_test_1",
    )
    assert entry.booked_on.isoformat() == "2026-03-02"
    assert {p.account: p.units.amount for p in entry.postings} == {
        BANK: D("98.35"),
        PSP_FEES: D("1.65"),
        psp("sandbox"): D("-100.00"),
    }
    second = await deliver(client, runtime, payout_event("evt_po_3", payout_id="po_test_2"))
    assert second.status_code == 200
    async with runtime.uow() as uow:
        assert len(await uow.ledger.entries()) == 2


# --- no card data, anywhere ------------------------------------------------------------------


async def test_no_card_number_from_a_webhook_is_stored_anywhere(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> None:
    """Accepted and refused deliveries that carry a card number (in fields we ignore and in
    the decline reason we keep): no table holds it afterwards."""
    payment = await new_payment(runtime, account, authorised=None)
    accepted = event(
        payment,
        "declined",
        decline_code=f"do_not_honor {PAN}",
        payment_method={"card": {"number": PAN, "cvc": "123"}},
        description=f"charge on {PAN_SPACED}",
    )
    assert (await deliver(client, runtime, accepted)).status_code == 200
    for make, _ in REFUSALS.values():
        payload, headers = make(runtime)
        assert (await client.post(URL, content=payload, headers=headers)).status_code == 400
    assert len(await rejected(runtime)) == len(REFUSALS)
    assert (await state(runtime, payment)).status is PaymentStatus.FAILED

    found: list[str] = []
    async with runtime._factory.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                text = " ".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in row.values()
                )
                if PAN in text or PAN_SPACED in text:
                    found.append(f"{table.name}: {dict(row)}")
    assert found == []
