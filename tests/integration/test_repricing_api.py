"""``POST /api/v1/sessions/{id}/reprice`` and ``GET .../repricings`` (issue 15) over the real
app on SQLite and PostgreSQL: finance re-prices with an ``Idempotency-Key`` (the same request
again is answered the same, re-pricing nothing more), the refusals answer with their stable
codes, operators read and drivers do not. Amounts: ``repricing_world``."""

from __future__ import annotations

from typing import Any

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.conftest import LoginAs
from tests.integration.refund_world import captured_session
from tests.integration.repricing_world import repricing_world, repricings_of

Json = dict[str, Any]


async def post(
    client: httpx.AsyncClient, path: str, body: Json, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/api/v1{path}", json=body, headers=headers)


async def test_finance_reprices_once_per_idempotency_key(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    world = await repricing_world(runtime)
    session = await world.charged_session()
    finance = await login_as(Role.FINANCE)
    body = {"reason": "display showed 60 kWh", "corrected_meter_stop_wh": "60000"}
    keyed = {**finance, "Idempotency-Key": "ticket-42"}

    first = await post(client, f"/sessions/{session.id}/reprice", body, keyed)
    again = await post(client, f"/sessions/{session.id}/reprice", body, keyed)

    assert first.status_code == 201, first.text
    answer = first.json()
    assert (answer["outcome"], answer["amount"], answer["sequence"]) == (
        "next_invoice",
        "-11.66",
        1,
    )
    assert answer["before"]["gross"] == "47.06"
    assert (answer["after"]["meter_stop_wh"], answer["after"]["gross"]) == ("60000", "35.40")
    assert answer["created_by"].startswith("user:")
    assert (again.status_code, again.json()) == (201, answer)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await repricings_of(runtime, session.id)) == 1

    listed = await client.get(
        f"/api/v1/sessions/{session.id}/repricings", headers=await login_as(Role.OPERATOR)
    )
    assert listed.status_code == 200
    assert listed.json() == [answer]

    # without a key, the same request again finds nothing to re-price
    plain = await post(client, f"/sessions/{session.id}/reprice", body, finance)
    assert (plain.status_code, plain.json()["error"]["code"]) == (422, "nothing_to_reprice")


async def test_refusals_answer_with_their_codes(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    world = await repricing_world(runtime)
    charged = await world.charged_session()
    waiting = await world.charged_session(charge=False)
    finance = await login_as(Role.FINANCE)
    cases = [
        (waiting.id, {"corrected_meter_stop_wh": "60000"}, 409, "session_not_charged"),
        (charged.id, {"corrected_meter_start_wh": "90000"}, 422, "negative_energy"),
        (charged.id, {"corrected_meter_stop_wh": "1e13"}, 422, "invalid_meter_reading"),
        (charged.id, {"tariff_id": str(world.account.id)}, 404, "tariff_not_found"),
        (charged.id, {"corrected_meter_stop_wh": "80000"}, 422, "nothing_to_reprice"),
    ]
    for session_id, asked, status, code in cases:
        response = await post(
            client, f"/sessions/{session_id}/reprice", {"reason": "check", **asked}, finance
        )
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), asked
    driver = await login_as(Role.DRIVER, world.account.id)
    for method, path in (("POST", "reprice"), ("GET", "repricings")):
        response = await client.request(
            method,
            f"/api/v1/sessions/{charged.id}/{path}",
            json={"reason": "mine", "corrected_meter_stop_wh": "1"} if method == "POST" else None,
            headers=driver,
        )
        assert response.status_code == 403, path
    assert await repricings_of(runtime, charged.id) == []


async def test_a_card_session_is_refunded_through_the_route(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured = await captured_session(runtime)
    finance = await login_as(Role.FINANCE)
    path = f"/sessions/{captured.payment.session_id}/reprice"

    response = await post(
        client,
        path,
        {"reason": "display showed 60 kWh", "corrected_meter_stop_wh": "60000"},
        {**finance, "Idempotency-Key": "refund-1"},
    )

    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["outcome"], answer["amount"]) == ("refund", "-11.66")
    assert answer["refund"] == {
        "payment_id": str(captured.payment.id),
        "status": "refunded",
        "refunded": "11.66",
    }
    assert answer["credit_note"]["kind"] == "credit_note"
    assert answer["credit_note"]["gross_total"] == "11.66"
    await runtime.quiesce()


async def test_the_correction_and_the_credit_note_are_valid_e_invoices(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """The invoice billing a charge and its (negative) correction, and a re-pricing's credit
    note, render as PDF and as CII e-invoices that pass EN 16931 (XSD and business rules)."""
    world = await repricing_world(runtime)
    lowered = await world.charged_session()
    credited = await world.charged_session()
    finance = await login_as(Role.FINANCE)
    body = {"reason": "display showed 60 kWh", "corrected_meter_stop_wh": "60000"}
    assert (await post(client, f"/sessions/{lowered.id}/reprice", body, finance)).is_success
    [invoice] = await world.run_invoices()
    answer = await post(client, f"/sessions/{credited.id}/reprice", body, finance)
    note = answer.json()["credit_note"]
    assert (answer.json()["outcome"], note["gross_total"]) == ("credit_note", "11.66")

    for document_id in (invoice.id, note["id"]):
        for kind in ("pdf", "xml"):
            response = await client.get(f"/api/v1/invoices/{document_id}/{kind}", headers=finance)
            assert response.status_code == 200, response.text
        runtime.documents.check(response.content)
