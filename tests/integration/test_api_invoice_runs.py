"""``POST /api/v1/invoice-runs`` and ``POST /invoices/{id}/issue`` over HTTP (issue 5):
drafts issued once, periods that are no month, a run without the operator's details, and what
a run reports and changes besides the invoices (the sessions it charges, their receipts).

The month is ``billing_api.charged_month``; see ``test_api_invoices`` for the documents.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from tests.conftest import LoginAs
from tests.integration.billing_api import (
    API,
    JANUARY,
    OPERATOR,
    Books,
    billing_state,
    error_code,
    get,
    open_books,
    run,
    uncharged_session,
)
from tests.integration.billing_world import utc


@pytest.fixture
async def books(runtime: Runtime, login_as: LoginAs) -> Books:
    return await open_books(runtime, login_as)


async def test_a_draft_is_issued_once(client: httpx.AsyncClient, books: Books) -> None:
    result = await run(client, books, {"period": "2026-01", "draft": True})
    assert (result["issued"], len(result["drafts"])) == ([], 3)
    draft = await get(client, f"invoices/{result['drafts'][0]}", books.finance)
    assert (draft["status"], draft["number"], draft["issue_date"]) == ("draft", None, None)
    for suffix in ("/pdf", "/xml"):  # only a numbered document is rendered
        response = await client.get(f"{API}/invoices/{draft['id']}{suffix}", headers=books.finance)
        assert (response.status_code, error_code(response)) == (409, "invoice_not_issued")
    issued = await client.post(f"{API}/invoices/{draft['id']}/issue", headers=books.finance)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert (body["status"], body["number"], body["issue_date"]) == (
        "open",  # issued, nothing paid yet
        "INV-2026-000001",
        "2026-02-02",
    )
    # Issuing numbers and dates the draft, gives it its RF reference and makes it payable.
    changed = ("status", "number", "issue_date", "due_date", "outstanding", "payment_reference")
    assert {k: v for k, v in body.items() if k not in changed} == {
        k: v for k, v in draft.items() if k not in changed
    }
    assert (body["payment_reference"], draft["payment_reference"]) == ("RF94INV2026000001", None)
    assert (body["outstanding"], draft["outstanding"]) == (body["gross_total"], "0.00")
    state = await billing_state(books.month.world.runtime)
    again = await client.post(f"{API}/invoices/{draft['id']}/issue", headers=books.finance)
    assert (again.status_code, error_code(again)) == (409, "invoice_issued")
    assert await billing_state(books.month.world.runtime) == state
    check = await get(client, "ledger/check", books.finance)
    assert (check["ok"], check["problems"]) == (True, [])


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "2026-W05", "January", ""])
async def test_a_run_for_no_month_is_refused(
    client: httpx.AsyncClient, books: Books, period: str
) -> None:
    before = await billing_state(books.month.world.runtime)
    response = await client.post(
        f"{API}/invoice-runs", json={"period": period}, headers=books.finance
    )
    assert (response.status_code, error_code(response)) == (422, "invalid_period")
    assert response.json()["error"]["field"] == "period"
    assert await billing_state(books.month.world.runtime) == before


async def test_a_run_without_the_operators_details_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, books: Books
) -> None:
    """The seller is required on every invoice (EN 16931 BG-4). The API answers 500 with a
    stable code naming the settings to set: the caller cannot fix it, the operator must."""
    before = await billing_state(runtime)
    incomplete = {k: v for k, v in OPERATOR.items() if k not in ("street", "city")}
    for operator in ({}, incomplete):
        runtime.settings = dataclasses.replace(runtime.settings, operator=operator)
        response = await client.post(f"{API}/invoice-runs", json=JANUARY, headers=books.finance)
        assert (response.status_code, error_code(response)) == (500, "operator_not_configured")
        assert "CHARGELEDGER_OPERATOR_STREET" in response.json()["error"]["message"]
        assert await billing_state(runtime) == before
    assert (await get(client, "invoices", books.finance))["items"] == []


async def test_a_refused_run_charges_nothing_and_issues_nothing(
    client: httpx.AsyncClient, runtime: Runtime, books: Books
) -> None:
    """A 422 must leave the books as they were. Fails while the route prices the completed
    sessions and issues their receipts (numbered, booked) before it reads the period."""
    await uncharged_session(runtime, books.month.world.de, utc("2026-01-20T10:00"))
    before = await billing_state(runtime)
    response = await client.post(
        f"{API}/invoice-runs", json={"period": "2026-13"}, headers=books.finance
    )
    assert (response.status_code, error_code(response)) == (422, "invalid_period")
    after = await billing_state(runtime)
    assert after[1] == before[1], "numbers were taken"
    assert after == before


async def test_a_run_reports_every_receipt_it_issues(
    client: httpx.AsyncClient, runtime: Runtime, books: Books
) -> None:
    """The ad hoc session charged by this run gets a receipt like the one charged before it
    (h1); the answer must list both. Fails while the route drops the receipts that charging
    issued and reports only those of charges found already priced."""
    await uncharged_session(runtime, books.month.world.de, utc("2026-01-20T10:00"))
    result = await run(client, books)
    receipts = await get(client, "invoices", books.finance, kind="receipt")
    numbers = sorted(item["number"] for item in receipts["items"])
    assert numbers == ["RCT-2026-000001", "RCT-2026-000002"]
    assert sorted(result["receipts"]) == numbers
