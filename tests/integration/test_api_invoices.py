"""The invoicing routes over HTTP (issue 5): a month invoiced by ``POST /invoice-runs`` as
finance, the documents read back as JSON, EN 16931 XML and Factur-X PDF, corrected by credit
notes, the books after it, who sees which document, and that nothing changes an issued one.

The month is ``billing_api.charged_month`` (amounts by hand: VAT = net × rate half-up per
(category, rate) of a document); the operator's details are set on the runtime's settings and
the clock stands at 2 February 2026 once the users have logged in (see ``billing_api``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from chargeledger.adapters.documents import check_en16931
from chargeledger.bootstrap import Runtime
from chargeledger.domain.ledger import receivable, unbilled
from chargeledger.domain.payment_references import creditor_reference
from tests.conftest import LoginAs
from tests.integration.billing_api import (
    API,
    Books,
    amounts,
    billing_state,
    credit,
    documents,
    embedded_xml,
    error_code,
    get,
    ids,
    money,
    open_books,
    run,
)
from tests.integration.billing_world import REVERSE_CHARGE_NOTE, SELLER


@pytest.fixture
async def books(runtime: Runtime, login_as: LoginAs) -> Books:
    return await open_books(runtime, login_as)


async def test_an_invoice_run_issues_the_month_once(
    client: httpx.AsyncClient, books: Books
) -> None:
    result = await run(client, books)
    assert (result["period_start"], result["period_end"]) == ("2026-01-01", "2026-02-01")
    assert sorted(result["issued"]) == [f"INV-2026-00000{n}" for n in (1, 2, 3)]
    assert (result["drafts"], result["receipts"], result["already_invoiced"]) == (
        [],
        ["RCT-2026-000001"],
        0,
    )
    found = await documents(client, books)
    assert {(i["kind"], i["status"]) for i in found.values()} == {
        ("invoice", "open"),
        ("receipt", "paid"),  # a receipt confirms a payment made at the station
    }
    anna, lusa, m = found["anna"], found["lusa"], books.month
    assert anna["payment_reference"] == creditor_reference(anna["number"])
    assert Decimal(anna["outstanding"]) == Decimal(anna["gross_total"])
    assert anna == await get(client, f"invoices/{anna['id']}", books.finance)
    assert (anna["number"] in result["issued"], anna["issue_date"], anna["due_date"]) == (
        True,
        "2026-02-02",
        "2026-02-16",
    )
    assert (anna["seller"]["name"], anna["seller"]["vat_id"]) == (SELLER.name, SELLER.vat_id)
    assert (anna["buyer"]["name"], anna["currency"], anna["layout"]) == (
        "Anna Becker",
        "EUR",
        "per_session",
    )
    assert (anna["period_start"], anna["period_end"]) == ("2026-01-01", "2026-02-01")
    # a3 started at 00:10 on 1 February in Berlin: February's, not on this invoice.
    assert [line["session_id"] for line in anna["lines"]] == [
        str(m.charges[name].session_id) for name in ("a1", "a2")
    ]
    components = anna["lines"][0]["components"]
    assert {name: money(amount) for name, amount in components.items()} == {
        "Energy": "9.20",
        "Time": "1.25",
        "Parking": "0.00",
        "Fixed": "0.00",
        "Reservation": "0.00",
    }
    assert amounts(anna) == (
        [("S", "19", "10.45"), ("S", "19", "20.45")],
        [("S", "19", "30.90", "5.87")],  # 5.871, not the charges' 1.99 + 3.89
        ["30.90", "5.87", "36.77"],
    )
    # Lusa (PT, VAT id): reverse charge at the DE site, PT VAT at the PT site.
    assert (lusa["buyer"]["vat_id"], lusa["due_date"]) == ("PT501964843", "2026-03-04")
    assert amounts(lusa) == (
        [("AE", "0", "42.50"), ("S", "23", "8.13")],
        [("AE", "0", "42.50", "0.00"), ("S", "23", "8.13", "1.87")],
        ["50.63", "1.87", "52.50"],
    )
    assert [s["note"] for s in lusa["vat"]] == [REVERSE_CHARGE_NOTE, None]
    assert amounts(found["bea"])[2] == ["6.00", "1.14", "7.14"]
    assert amounts(found["walk-in"])[2] == ["4.20", "0.80", "5.00"]
    assert found["walk-in"]["number"] == "RCT-2026-000001"

    listing = await get(client, "invoices", books.finance)
    again = await run(client, books)
    assert (again["issued"], again["receipts"], again["already_invoiced"]) == ([], [], 3)
    assert await get(client, "invoices", books.finance) == listing
    assert ids(await get(client, "invoices", books.finance, kind="receipt")) == [
        uuid.UUID(found["walk-in"]["id"])
    ]
    assert ids(await get(client, "invoices", books.finance, account_id=str(m.lusa.id))) == [
        uuid.UUID(lusa["id"])
    ]


async def test_pdf_and_xml_carry_one_valid_en16931_invoice(
    client: httpx.AsyncClient, books: Books
) -> None:
    await run(client, books)
    for document in (await documents(client, books)).values():
        path, number = f"{API}/invoices/{document['id']}", document["number"]
        xml = await client.get(f"{path}/xml", headers=books.finance)
        assert xml.status_code == 200, xml.text
        assert xml.headers["content-type"].startswith("application/xml")
        assert f'filename="{number}.xml"' in xml.headers["content-disposition"]
        check_en16931(xml.content)  # the Factur-X EN 16931 XSD and the arithmetic rules
        assert f"<ram:ID>{number}</ram:ID>".encode() in xml.content
        pdf = await client.get(f"{path}/pdf", headers=books.finance)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert f'filename="{number}.pdf"' in pdf.headers["content-disposition"]
        assert pdf.content.startswith(b"%PDF-")
        assert embedded_xml(pdf.content) == xml.content


async def test_credit_notes_and_the_books(client: httpx.AsyncClient, books: Books) -> None:
    await run(client, books)
    found = await documents(client, books)
    anna, lusa, bea = found["anna"], found["lusa"], found["bea"]
    # Corrections come later the same day (entries of one instant have no defined order).
    books.month.world.clock.current += timedelta(hours=3)

    by_lines = await credit(client, books, lusa, reason="wrong connector", positions=[1])
    assert (by_lines["kind"], by_lines["number"], by_lines["status"]) == (
        "credit_note",
        "CN-2026-000001",
        "issued",
    )
    assert (by_lines["original_number"], by_lines["reason"]) == (lusa["number"], "wrong connector")
    assert by_lines["lines"][0]["session_id"] == lusa["lines"][0]["session_id"]
    assert amounts(by_lines)[2] == ["42.50", "0.00", "42.50"]

    by_amount = await credit(client, books, anna, reason="goodwill", net_amount="5.00")
    assert amounts(by_amount) == (
        [("S", "19", "5.00")],
        [("S", "19", "5.00", "0.95")],
        ["5.00", "0.95", "5.95"],
    )
    whole = await credit(client, books, bea, reason="meter fault")
    assert amounts(whole)[2] == amounts(bea)[2]

    before = await billing_state(books.month.world.runtime)
    path = f"{API}/invoices/{anna['id']}/credit-notes"
    refused = {
        # 25.90 net is left on Anna's invoice
        (409, "credit_exceeds_invoice"): {"reason": "too much", "net_amount": "25.91"},
        (422, "invalid_credit_note"): {"reason": "both", "positions": [1], "net_amount": "1.00"},
        (422, "unknown_invoice_line"): {"reason": "no such line", "positions": [3]},
        (422, "invalid_amount"): {"reason": "fractions", "net_amount": "0.001"},
        (422, "invalid_request"): {"reason": "", "net_amount": "1.00"},
    }
    for (status, code), body in refused.items():
        response = await client.post(path, json=body, headers=books.finance)
        assert (response.status_code, error_code(response)) == (status, code), response.text
    for body in ({"reason": "   "}, {"net_amount": "1.00"}):
        response = await client.post(path, json=body, headers=books.finance)
        assert (response.status_code, error_code(response)) == (422, "invalid_request"), body
    two_rates = await client.post(
        f"{API}/invoices/{lusa['id']}/credit-notes",
        json={"reason": "amount on two rates", "net_amount": "1.00"},
        headers=books.finance,
    )
    assert (two_rates.status_code, error_code(two_rates)) == (422, "invalid_credit_note")
    of_a_note = await client.post(
        f"{API}/invoices/{whole['id']}/credit-notes", json={"reason": "x"}, headers=books.finance
    )
    assert (of_a_note.status_code, error_code(of_a_note)) == (409, "not_creditable")
    assert await billing_state(books.month.world.runtime) == before

    statuses = {
        k: (await get(client, f"invoices/{v['id']}", books.finance))["status"]
        for k, v in (("anna", anna), ("lusa", lusa), ("bea", bea))
    }
    assert statuses == {"anna": "open", "lusa": "open", "bea": "credited"}

    balance = await get(client, "ledger/trial-balance", books.finance)
    assert {currency: money(total) for currency, total in balance["totals"].items()} == {
        "EUR": "0.00"
    }
    check = await get(client, "ledger/check", books.finance)
    assert (check["ok"], check["problems"]) == (True, [])
    assert check["entries"] > 0

    # Anna's statement: her receivable (the invoice, less the credit note) and what is not
    # invoiced yet (February's 5.00 + 0.95).
    for reader in (books.finance, books.anna):
        # Anna has no credit (nothing paid beyond her invoices): no third statement.
        receivables, pending = await get(
            client, f"accounts/{books.month.anna.id}/statement", reader
        )
        assert receivables["account"] == receivable(books.month.anna.id)
        assert [(line["kind"], money(line["amount"])) for line in receivables["lines"]] == [
            ("invoice_issued", "36.77"),
            ("credit_note_issued", "-5.95"),
        ]
        assert money(receivables["closing"]) == "30.82"
        assert (pending["account"], money(pending["closing"])) == (
            unbilled(books.month.anna.id),
            "5.95",
        )
    ledger = await get(
        client, "ledger/statement", books.finance, account=receivable(books.month.anna.id)
    )
    assert ledger == [receivables]


async def test_a_driver_sees_only_their_own_documents(
    client: httpx.AsyncClient, books: Books
) -> None:
    """Another account's documents (and ad hoc receipts) answer 404 like missing ones."""
    await run(client, books)
    found = await documents(client, books)
    await credit(client, books, found["anna"], reason="goodwill", net_amount="1.00")
    anna_docs = ids(
        await get(client, "invoices", books.finance, account_id=str(books.month.anna.id))
    )
    assert len(anna_docs) == 2  # the invoice and its credit note
    assert ids(await get(client, "invoices", books.anna)) == anna_docs
    assert ids(await get(client, "invoices", books.bea)) == [uuid.UUID(found["bea"]["id"])]
    assert ids(await get(client, "invoices", books.bea, kind="receipt")) == []
    for name in ("anna", "walk-in"):
        for suffix in ("", "/pdf", "/xml"):
            hidden = await client.get(
                f"{API}/invoices/{found[name]['id']}{suffix}", headers=books.bea
            )
            assert (hidden.status_code, error_code(hidden)) == (404, "invoice_not_found"), suffix
    for suffix in ("", "/pdf", "/xml"):
        own = await client.get(f"{API}/invoices/{found['bea']['id']}{suffix}", headers=books.bea)
        assert own.status_code == 200, own.text
    other = await client.get(f"{API}/accounts/{books.month.anna.id}/statement", headers=books.bea)
    assert (other.status_code, error_code(other)) == (404, "account_not_found")


async def test_a_driver_filtering_by_another_account_gets_nothing(
    client: httpx.AsyncClient, books: Books
) -> None:
    """Like ``GET /tokens?account_id=<theirs>`` (test_access_control): a filter on another
    account finds nothing. Fails while ``services.billing.invoicing.list_visible`` replaces the
    filter with the caller's own account and so answers with the caller's documents instead."""
    await run(client, books)
    theirs = str(books.month.anna.id)
    assert ids(await get(client, "invoices", books.bea, account_id=theirs)) == []


async def test_a_credit_note_is_never_overdue(client: httpx.AsyncClient, books: Books) -> None:
    """A credit note is owed to the customer, not by them: it cannot fall overdue. Fails while
    ``payment_status`` treats it like an invoice due on its issue date (payment terms 0), so
    it reads "overdue" from the next day on."""
    await run(client, books)
    invoice = (await documents(client, books))["anna"]
    note = await credit(client, books, invoice, reason="goodwill", net_amount="1.00")
    assert note["status"] == "issued"
    books.month.world.clock.current += timedelta(days=1)
    assert (await get(client, f"invoices/{invoice['id']}", books.finance))["status"] == "open"
    assert (await get(client, f"invoices/{note['id']}", books.finance))["status"] != "overdue"


async def test_no_api_changes_an_issued_invoice(
    client: httpx.AsyncClient, runtime: Runtime, books: Books
) -> None:
    """There is no PUT, PATCH or DELETE; issuing again and running the month again are refused
    or do nothing. Afterwards the JSON, the embedded e-invoice and the books are unchanged."""
    await run(client, books)
    invoice = (await documents(client, books))["anna"]
    path = f"{API}/invoices/{invoice['id']}"

    async def snapshot() -> tuple[object, ...]:
        pdf = await client.get(f"{path}/pdf", headers=books.finance)
        xml = await client.get(f"{path}/xml", headers=books.finance)
        assert pdf.status_code == xml.status_code == 200
        return (
            await get(client, f"invoices/{invoice['id']}", books.finance),
            embedded_xml(pdf.content),
            xml.content,
            await get(client, "ledger/trial-balance", books.finance),
            await billing_state(runtime),
        )

    before = await snapshot()
    assert before[0] == invoice
    assert before[1] == before[2]  # the PDF carries the XML route's e-invoice
    junk = {"gross_total": "0.01", "number": "INV-2026-999999", "status": "draft", "lines": []}
    for headers in (books.finance, books.admin):
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            response = await client.request(method, path, json=junk, headers=headers)
            assert (response.status_code, error_code(response)) == (405, "method_not_allowed")
            assert response.headers["allow"] == "GET", method
        for suffix in ("/pdf", "/xml"):
            response = await client.request(
                "PUT", f"{path}{suffix}", content=b"%PDF-", headers=headers
            )
            assert response.status_code == 405, suffix
        again = await client.post(f"{path}/issue", headers=headers)
        assert (again.status_code, error_code(again)) == (409, "invoice_issued")
        junk_issue = await client.post(f"{path}/issue", json=junk, headers=headers)
        assert (junk_issue.status_code, error_code(junk_issue)) == (409, "invoice_issued")
    rerun = await run(client, books)
    assert (rerun["issued"], rerun["receipts"], rerun["already_invoiced"]) == ([], [], 3)
    layout = await run(client, books, {"period": "2026-01", "layout": "per_site"})
    assert (layout["issued"], layout["already_invoiced"]) == ([], 3)
    assert await snapshot() == before


async def test_unknown_documents_and_bad_requests(client: httpx.AsyncClient, books: Books) -> None:
    unknown = f"{API}/invoices/{uuid.uuid4()}"
    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/pdf", None),
        ("GET", "/xml", None),
        ("POST", "/issue", None),
        ("POST", "/credit-notes", {"reason": "nothing there"}),
    ]:
        response = await client.request(method, unknown + suffix, json=body, headers=books.finance)
        assert (response.status_code, error_code(response)) == (404, "invoice_not_found"), suffix
    not_an_id = await client.get(f"{API}/invoices/INV-2026-000001", headers=books.finance)
    assert (not_an_id.status_code, error_code(not_an_id)) == (422, "invalid_request")
    for run_body in (
        {},
        {"period": "2026-01", "layout": "sideways"},
        {"period": "2026-01", "x": 1},
    ):
        response = await client.post(f"{API}/invoice-runs", json=run_body, headers=books.finance)
        assert (response.status_code, error_code(response)) == (422, "invalid_request"), run_body
