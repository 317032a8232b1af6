"""Parallel refunds of one payment (issue 11 item 7): every 201 is a refund of its own.

Money operations on one payment are serialised (``PaymentContext.locks``): each refund reads
the payment's state under the lock, numbers its PSP idempotency key from that state and asks
the PSP while holding it. Before, parallel refunds read the same state, shared the key
``…-refund-1`` and the PSP (rightly) deduplicated them: five 201s, one refund.

The payment of ``refund_world`` captured 47.06; eight refunds of 6.00 are asked at once, so
at most seven fit. A request that is not a refund made is 422 (nothing left to give back) or
409 ``payment_busy`` (the lock was not had in time), and changed nothing.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.domain.identity import Role
from chargeledger.errors import ChargeledgerError
from chargeledger.services.payments.refunds import refund_payment
from tests.conftest import LoginAs, fast_hasher
from tests.integration.refund_world import CAPTURED, Captured, captured_session, refunds_of

REQUESTS, AMOUNT = 8, Decimal("6.00")
REFUSALS = {(409, "payment_busy"), (422, "invalid_refund_amount")}


def expected_refunds(made: int, busy: int) -> None:
    """As many refunds as fit into the captured amount among those not turned away busy."""
    fit = int(CAPTURED // AMOUNT)
    assert made == min(fit, REQUESTS - busy), (made, busy)


async def check_books(runtime: Runtime, captured: Captured, made: int) -> None:
    """One refund event, one PSP refund, one credit note and one journal entry per refund
    made, each of 6.00; the total within what was captured."""
    found = await refunds_of(runtime, captured)
    assert found.events == [AMOUNT] * made
    assert found.at_psp == [AMOUNT] * made
    assert [n.gross_total for n in found.credit_notes] == [AMOUNT] * made
    assert found.ledger_refunds == made
    assert found.state.refunded == AMOUNT * made <= CAPTURED
    assert found.state.refunds == made  # each asked once, under its own idempotency key
    assert found.state.open_operations == ()


async def test_parallel_partial_refunds_over_the_api_are_each_one_refund(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured = await captured_session(runtime)
    finance = await login_as(Role.FINANCE)
    url = f"/api/v1/payments/{captured.payment.id}/refunds"

    async def ask(number: int) -> httpx.Response:
        body = {"amount": str(AMOUNT), "reason": f"goodwill {number}"}
        headers = {**finance, "Idempotency-Key": f"parallel-{number}"}
        return await client.post(url, json=body, headers=headers)

    responses = await asyncio.gather(*(ask(n) for n in range(REQUESTS)))

    made = [r for r in responses if r.status_code == 201]
    refused = [(r.status_code, r.json()["error"]["code"]) for r in responses if r not in made]
    assert set(refused) <= REFUSALS, refused
    expected_refunds(len(made), refused.count((409, "payment_busy")))
    # Each answer reports the payment after its own refund: 6.00, 12.00, … never twice.
    totals = sorted(Decimal(r.json()["refunded"]) for r in made)
    assert totals == [AMOUNT * n for n in range(1, len(made) + 1)]
    await check_books(runtime, captured, len(made))


async def test_two_nodes_refund_one_payment_at_once(
    runtime: Runtime, database: tuple[str, str | None]
) -> None:
    """Two runtimes (two engines, as two nodes of a cluster) on one database and one PSP."""
    captured = await captured_session(runtime)
    other = build_runtime(runtime.settings, schema=database[1], hasher=fast_hasher())
    other.payments.gateways = runtime.payments.gateways  # one PSP behind both nodes
    other.payments.seller = runtime.payments.seller
    other.payments.time_zone = runtime.payments.time_zone
    try:
        nodes = [runtime.payments, other.payments]

        async def ask(number: int) -> object:
            ctx = nodes[number % 2]
            try:
                return await refund_payment(ctx, captured.payment.id, AMOUNT, f"node {number}")
            except ChargeledgerError as exc:
                return exc

        outcomes = await asyncio.gather(*(ask(n) for n in range(REQUESTS)))
    finally:
        await other.aclose()

    refused = [o.code for o in outcomes if isinstance(o, ChargeledgerError)]
    assert set(refused) <= {code for _, code in REFUSALS}, outcomes
    made = len(outcomes) - len(refused)
    expected_refunds(made, refused.count("payment_busy"))
    await check_books(runtime, captured, made)


async def test_a_refund_refused_busy_did_nothing_and_may_be_sent_again(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """While another operation holds the payment, a refund is 409 ``payment_busy`` at once
    (no wait configured), nothing moved, and its Idempotency-Key is not spent on it."""
    captured = await captured_session(runtime)
    finance = await login_as(Role.FINANCE)
    url = f"/api/v1/payments/{captured.payment.id}/refunds"
    headers = {**finance, "Idempotency-Key": "busy-then-done"}
    body = {"amount": str(AMOUNT), "reason": "late start"}
    runtime.payments.lock_wait = 0
    async with runtime.locks.hold(f"payment:{captured.payment.id}", 0):
        busy = await client.post(url, json=body, headers=headers)
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "payment_busy")
    await check_books(runtime, captured, 0)

    again = await client.post(url, json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers
    await check_books(runtime, captured, 1)
