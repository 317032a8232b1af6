"""The ad hoc QR checkout end to end (EU AFIR art. 5): the page, the PSP's card field, the
hold, RemoteStartTransaction to a real OCPP 1.6 charge point over a real websocket, the
session, the capture of exactly the receipt, the receipt PDF, and the books.

Prices: the flat tariff of ``payment_world`` (0.49/kWh + 0.35 per session, VAT 19 %). The
hold is the gross the maximum session (40 kWh) would be charged: 19.95 net + 3.79 VAT (the
site's 19 % on the rounded net, as the receipt computes it) = 23.74. 10 kWh cost 5.25 net,
6.25 gross.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocpp.v16 import call

from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.ledger import EntryKind, psp, receivable
from chargeledger.domain.payments import PaymentMethodKind, PaymentStatus
from chargeledger.domain.postings import WALK_IN
from chargeledger.services.payments.checkout import checkout_progress
from tests.integration.billing_world import all_documents
from tests.integration.ocpp_support import CP16, Station16, connected
from tests.integration.payment_world import PaymentWorld
from tests.unit.documents.proof_pages import PENDING, text_lines

HOLD = Decimal("23.74")
DECLINED_CARD = "4000000000000002"
PAY = f"/pay/{CP16}/1"


async def start(pw: PaymentWorld, token: str, key: str) -> tuple[int, dict[str, Any]]:
    """The checkout page's "start" button: POST the token with the attempt's key."""
    response = await pw.world.http.post(
        PAY, json={"token": token}, headers={"Idempotency-Key": key}
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_qr_checkout_holds_starts_captures_the_receipt_and_is_idempotent(
    pw: PaymentWorld,
) -> None:
    page = await pw.world.http.get(PAY)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"{HOLD} EUR" in page.text  # the hold is shown before the start
    token = await pw.tokenise()

    async with connected(pw.world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        status, first = await start(pw, token, "attempt-1")
        assert status == 201, first
        assert (first["status"], first["start"]) == ("authorised", "Accepted")
        assert (first["held"], first["captured"], first["receipt_url"]) == ("23.74", "0.00", None)
        [(action, remote)] = cp.received
        assert action == "RemoteStartTransaction"
        id_tag = remote["id_tag"]
        assert remote["connector_id"] == 1
        assert id_tag.startswith("QR")
        assert len(id_tag) <= 20

        # the station asks before starting (OCPP 1.6 §4.2): the idTag of a standing hold
        authorised = await cp.request(call.Authorize(id_tag))
        assert authorised.id_tag_info["status"] == "Accepted"
        tx = await cp.start_tx(id_tag, 50_000)
        await pw.runtime.quiesce()
        await cp.registers(tx, 1, (900, 55_000), (1800, 60_000))
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 60_000, 1800)
        await pw.runtime.quiesce()

        # one checkout pays for one session: once captured, its idTag opens nothing more
        spent = await cp.request(call.Authorize(id_tag))
        assert spent.id_tag_info["status"] == "Invalid"

        # a double tap (the same attempt's key) gets the first answer and holds nothing more
        again_status, again = await start(pw, token, "attempt-1")
        assert (again_status, again) == (201, first)
        assert len(cp.received) == 1  # no second RemoteStart

    [(payment, state)] = await pw.payments_of(PaymentMethodKind.CARD)
    assert payment.id_tag == id_tag
    assert payment.account_id is None
    assert state.status is PaymentStatus.CAPTURED
    assert (state.authorised, state.captured) == (HOLD, Decimal("6.25"))
    psp_side = await pw.at_psp(payment)
    assert (psp_side.authorised, psp_side.captured, psp_side.released) == (
        HOLD,
        Decimal("6.25"),
        False,
    )  # the 17.49 not captured lapses with the hold: no release call after a capture

    progress_response = await pw.world.http.get(f"/pay/checkouts/{payment.id}")
    assert progress_response.status_code == 200, progress_response.text
    progress = progress_response.json()
    assert progress["status"] == "captured"
    assert (progress["held"], progress["captured"]) == ("23.74", "6.25")
    assert progress["session_status"] == "completed"
    assert Decimal(progress["energy_kwh"]) == 10
    assert progress["receipt_url"] == f"/pay/checkouts/{payment.id}/receipt.pdf"
    pdf = await pw.world.http.get(progress["receipt_url"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    receipt = (await checkout_progress(pw.runtime.payments, payment.id)).receipt
    assert receipt is not None
    assert receipt.number is not None
    assert receipt.account_id is None
    assert receipt.gross_total == state.captured
    assert receipt.number.encode() in pdf.headers["content-disposition"].encode()
    printed = " ".join(text_lines(pdf.content))  # issue 15: its record hash, proof to come
    assert "Record hash (SHA-256): " in printed
    assert PENDING in printed
    assert len(await pw.entries(EntryKind.RECEIPT_ISSUED)) == 1
    captures = await pw.entries(EntryKind.CAPTURE)
    assert [sorted(p.units.amount for p in e.postings) for e in captures] == [
        [Decimal("-6.25"), Decimal("6.25")]
    ]
    assert await pw.balance(psp("sandbox")) == Decimal("30.00") + Decimal("6.25")  # + top-up
    assert await pw.balance(receivable(WALK_IN)) == 0
    await pw.assert_books_balance()

    # the operator refunds the walk-in in full: found by its idTag, the receipt is credited
    response = await pw.world.http.post(
        f"/api/v1/payments/{payment.id}/refunds",
        json={"reason": "Charging cable fault"},
        headers={**pw.world.admin, "Idempotency-Key": "refund-walk-in"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "refunded"
    await pw.runtime.quiesce()
    [note] = [d for d in await all_documents(pw.runtime) if d.kind is DocumentKind.CREDIT_NOTE]
    assert (note.original_number, note.gross_total) == (receipt.number, Decimal("6.25"))
    assert await pw.balance(psp("sandbox")) == Decimal("30.00")
    assert await pw.balance(receivable(WALK_IN)) == 0
    await pw.assert_books_balance()


async def test_a_declined_card_starts_nothing(pw: PaymentWorld) -> None:
    token = await pw.tokenise(DECLINED_CARD)
    async with connected(pw.world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        status, answer = await start(pw, token, "declined-1")
        await pw.runtime.quiesce()
        assert cp.received == []  # no RemoteStartTransaction
    assert status == 201, answer
    assert (answer["status"], answer["decline_code"], answer["start"]) == (
        "failed",
        "card_declined",
        None,
    )
    assert (answer["held"], answer["captured"]) == ("0.00", "0.00")
    [(payment, state)] = await pw.payments_of(PaymentMethodKind.CARD)
    assert state.status is PaymentStatus.FAILED
    assert payment.id_tag is not None
    async with connected(pw.world.url, Station16) as cp:
        # its idTag opens nothing: no hold stands behind it
        refused = await cp.request(call.Authorize(payment.id_tag))
    assert refused.id_tag_info["status"] == "Invalid"
    assert await pw.entries(EntryKind.CAPTURE) == []
    await pw.assert_books_balance()


async def test_a_remote_start_that_fails_releases_the_hold(pw: PaymentWorld) -> None:
    """The station rejects the RemoteStartTransaction, or is not connected at all: either
    way the driver's hold is released at once instead of waiting for the janitor."""
    token = await pw.tokenise()
    async with connected(pw.world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        cp.answers["RemoteStartTransaction"] = "Rejected"
        status, answer = await start(pw, token, "rejected-1")
        await pw.runtime.quiesce()
        [(action, remote)] = cp.received
        assert action == "RemoteStartTransaction"
        refused = await cp.request(call.Authorize(remote["id_tag"]))
    assert status == 201, answer
    assert (answer["status"], answer["start"]) == ("released", "Rejected")
    assert refused.id_tag_info["status"] == "Invalid"  # a released hold starts nothing

    await pw.world.wait_closed_on_server(CP16)
    status, offline = await start(pw, token, "offline-1")
    await pw.runtime.quiesce()
    assert status == 201, offline
    assert (offline["status"], offline["start"]) == ("released", "Unreachable")

    checkouts = await pw.payments_of(PaymentMethodKind.CARD)
    assert len(checkouts) == 2
    for payment, state in checkouts:
        assert state.status is PaymentStatus.RELEASED
        assert (state.authorised, state.captured) == (HOLD, Decimal(0))
        assert (await pw.at_psp(payment)).released
    assert await pw.balance(psp("sandbox")) == Decimal("30.00")  # only the wallet's top-up
    await pw.assert_books_balance()


async def test_a_quarantined_checkout_session_is_under_review_without_figures(
    pw: PaymentWorld,
) -> None:
    """Issue 11 item 9: the station reports a zero start and a lifetime stop (48,213 kWh in
    30 minutes): the session is quarantined, and the checkout's status page shows it under
    review, with no energy figure and nothing captured, instead of the meter's lifetime."""
    token = await pw.tokenise()
    async with connected(pw.world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        status, first = await start(pw, token, "lifetime-1")
        assert status == 201, first
        [(_, remote)] = cp.received
        tx = await cp.start_tx(remote["id_tag"], 0)
        await pw.runtime.quiesce()
        await cp.stop_tx(tx, 48_213_000, 1800)
        await pw.runtime.quiesce()
    [(payment, state)] = await pw.payments_of(PaymentMethodKind.CARD)
    assert (state.status, state.captured) == (PaymentStatus.AUTHORISED, Decimal(0))
    answer = await pw.world.http.get(f"/pay/checkouts/{payment.id}")
    assert answer.status_code == 200, answer.text
    progress = answer.json()
    assert progress["session_status"] == "under_review"
    assert (progress["energy_kwh"], progress["captured"], progress["receipt_url"]) == (
        None,
        "0.00",
        None,
    )
