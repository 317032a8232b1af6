"""The office's invoices pages (issue 16) on SQLite and PostgreSQL, over January 2026 of
``billing_api.charged_month`` invoiced by the real run (Anna, Lusa and Bea invoiced, the ad
hoc charge receipted; the clock on 2 February 2026 in Berlin): the list's filters and CSV, the
detail page, its PDF and XML under the cookie (the REST's files), the credit note in two steps
and exactly once, the roles and CSRF of ``ReadBilling`` / ``WriteBilling``.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from lxml import etree

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.receivables import Settlement, SettlementKind
from chargeledger.money import Money
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoice_runs import run_month
from chargeledger.services.ports import Clock
from tests.integration.billing_api import Month, charged_month, configure_operator, embedded_xml
from tests.integration.billing_world import utc
from tests.integration.office_world import KEY, office_login
from tests.integration.test_office_http import csrf_of

LIST = "/office/invoices"
ROW = re.compile(r'data-invoice="([0-9a-f-]{36})"')
CII = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"


@dataclass(frozen=True)
class Invoiced:
    month: Month
    anna: str  # Anna's invoice id
    receipt: str  # the ad hoc charge's receipt id
    system_clock: Clock  # the runtime's own, for logins


async def login(
    runtime: Runtime, client: httpx.AsyncClient, invoiced: Invoiced, role: Role
) -> None:
    """Logged in under the system clock (PyJWT checks it), then back on the world's clock."""
    saved, runtime.clock = runtime.clock, invoiced.system_clock
    try:
        await office_login(runtime, client, role)
    finally:
        runtime.clock = saved


@pytest.fixture
async def invoiced(runtime: Runtime) -> Invoiced:
    system_clock = runtime.clock
    configure_operator(runtime)
    month = await charged_month(runtime)
    runtime.clock = month.world.clock
    await run_month(runtime.invoicer(), "2026-01")
    async with runtime.uow() as uow:
        page = await uow.billing.list_invoices(InvoiceFilter(), limit=100, offset=0)
    by_account = {d.account_id: d for d in page.items}
    receipt = next(d for d in page.items if d.kind is DocumentKind.RECEIPT)
    return Invoiced(month, str(by_account[month.anna.id].id), str(receipt.id), system_clock)


def rows(page: httpx.Response) -> list[str]:
    return ROW.findall(page.text)


async def test_the_list_filters_pages_and_downloads_as_csv(
    runtime: Runtime, client: httpx.AsyncClient, invoiced: Invoiced
) -> None:
    await login(runtime, client, invoiced, Role.OPERATOR)  # ReadBilling: operators read
    everything = await client.get(LIST)
    assert everything.status_code == 200, everything.text
    assert len(rows(everything)) == 4  # three invoices, one receipt
    assert "INV-2026-" in everything.text
    receipts = await client.get(LIST, params={"kind": "receipt"})
    assert rows(receipts) == [invoiced.receipt]
    open_ones = await client.get(LIST, params={"payment": "open", "kind": "invoice"})
    assert len(rows(open_ones)) == 3
    assert rows(await client.get(LIST, params={"payment": "paid", "kind": "invoice"})) == []
    assert rows(await client.get(LIST, params={"q": "Anna Becker"})) == [invoiced.anna]
    by_id = await client.get(LIST, params={"q": str(invoiced.month.anna.id)})
    assert rows(by_id) == [invoiced.anna]
    several = await client.get(LIST, params={"q": "example.org"})
    assert 'id="account-choices"' in several.text
    assert rows(several) == []
    assert "Anna Becker" in several.text
    issued = await client.get(LIST, params={"from": "2026-02-02", "to": "2026-02-02"})
    assert len(rows(issued)) == 4
    assert rows(await client.get(LIST, params={"to": "2026-02-01"})) == []
    bad = await client.get(LIST, params={"kind": "bill"})
    assert bad.status_code == 422
    assert "<code>invalid_filter</code>" in bad.text
    assert (
        'id="csv-download" href="/office/invoices?kind=invoice&amp;format=csv"'
        in (await client.get(LIST, params={"kind": "invoice"})).text
    )
    download = await client.get(LIST, params={"kind": "invoice", "format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="invoices-2026-02-02.csv"' in download.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(download.text)))
    assert table[0][:4] == ["Id", "Number", "Kind", "Payment status"]
    assert len(table) == 4
    assert {r[2] for r in table[1:]} == {"invoice"}
    anna = next(r for r in table if r[0] == invoiced.anna)
    assert (anna[5], anna[6], anna[9]) == ("Anna Becker", "2026-02-02", "EUR")
    assert anna[4] == str(invoiced.month.anna.id)


async def test_the_detail_page_and_its_files(
    runtime: Runtime, client: httpx.AsyncClient, invoiced: Invoiced
) -> None:
    await login(runtime, client, invoiced, Role.FINANCE)
    page = await client.get(f"{LIST}/{invoiced.anna}")
    assert page.status_code == 200, page.text
    assert 'id="payment-status">open<' in page.text
    assert 'id="gross-total">' in page.text
    assert "Nothing settled on this document." in page.text
    assert 'id="credit-form"' in page.text  # finance may credit an issued invoice
    paid_in_part = Settlement(
        invoice_id=uuid.UUID(invoiced.anna),
        account_id=invoiced.month.anna.id,
        kind=SettlementKind.BANK_TRANSFER,
        amount=Money.of("5.00", "EUR"),
        source="bank_entry:statement-1",
        booked_at=utc("2026-02-02T07:30"),
        booked_on=utc("2026-02-02T07:30").date(),
        note="SEPA credit transfer",
    )
    async with runtime.uow() as uow:
        assert await uow.billing.add_settlement(paid_in_part)
        await uow.commit()
    settled = await client.get(f"{LIST}/{invoiced.anna}")
    assert 'id="payment-status">partially_paid<' in settled.text
    assert (
        "<tr><td>2026-02-02T08:30:00+01:00</td><td>bank_transfer</td>"
        '<td class="num">5.00 EUR</td><td>bank_entry:statement-1</td>'
        "<td>SEPA credit transfer</td></tr>"
    ) in settled.text
    pdf = await client.get(f"{LIST}/{invoiced.anna}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "INV-2026-" in pdf.headers["content-disposition"]
    embedded = etree.fromstring(embedded_xml(pdf.content))  # Factur-X, checked by its XSD
    xml = await client.get(f"{LIST}/{invoiced.anna}/xml")
    assert xml.headers["content-type"] == "application/xml"
    root = etree.fromstring(xml.content)
    assert root.tag == embedded.tag == CII
    api = await client.get(f"{LIST}/{invoiced.anna}/docx")
    assert api.status_code == 404
    unknown = await client.get(f"{LIST}/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    receipt = await client.get(f"{LIST}/{invoiced.receipt}")
    assert receipt.status_code == 200
    assert 'id="payment-status">paid<' in receipt.text


async def test_a_credit_note_is_confirmed_then_issued_once(
    runtime: Runtime, client: httpx.AsyncClient, invoiced: Invoiced
) -> None:
    await login(runtime, client, invoiced, Role.FINANCE)
    page = await client.get(f"{LIST}/{invoiced.anna}")
    key = KEY.search(page.text)
    assert key is not None
    form = {"csrf": csrf_of(page), "idempotency_key": key.group(1)}
    form |= {"reason": "meter fault on EVSE 2", "net_amount": "5.00"}
    review = await client.post(f"{LIST}/{invoiced.anna}/credit-note", data=form)
    assert review.status_code == 200, review.text
    assert 'name="confirm" value="yes"' in review.text
    assert "5.00 EUR net" in review.text
    async with runtime.uow() as uow:
        assert await uow.billing.credit_notes_of(uuid.UUID(invoiced.anna)) == []
    first = await client.post(
        f"{LIST}/{invoiced.anna}/credit-note", data={**form, "confirm": "yes"}
    )
    again = await client.post(
        f"{LIST}/{invoiced.anna}/credit-note", data={**form, "confirm": "yes"}
    )
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    async with runtime.uow() as uow:
        notes = await uow.billing.credit_notes_of(uuid.UUID(invoiced.anna))
    assert len(notes) == 1
    assert notes[0].net_total == 5
    note_page = await client.get(first.headers["location"])
    assert note_page.status_code == 200
    assert 'id="credited"' in note_page.text
    assert "meter fault on EVSE 2" in note_page.text
    assert 'id="credit-form"' not in note_page.text
    after = await client.get(f"{LIST}/{invoiced.anna}")
    assert 'id="payment-status">open<' in after.text  # less is owed, nothing was paid
    # The same key with other values is refused, shown in the form.
    other = await client.post(
        f"{LIST}/{invoiced.anna}/credit-note", data={**form, "net_amount": "6", "confirm": "yes"}
    )
    assert other.status_code == 422
    assert "idempotency_key_reused" in other.text
    # Too much to credit: the REST's code, in the form, with what was typed.
    fresh = KEY.search(after.text)
    assert fresh is not None
    too_much = {**form, "idempotency_key": fresh.group(1), "net_amount": "9999", "confirm": "yes"}
    refused = await client.post(f"{LIST}/{invoiced.anna}/credit-note", data=too_much)
    assert refused.status_code == 409  # the REST's ConflictError
    assert '<code class="error-code">credit_exceeds_invoice</code>' in refused.text
    assert 'id="credit-error"' in refused.text
    assert 'value="9999"' in refused.text
    no_reason = await client.post(
        f"{LIST}/{invoiced.anna}/credit-note", data={**form, "reason": " ", "idempotency_key": "x1"}
    )
    assert no_reason.status_code == 422
    assert "reason_required" in no_reason.text


async def test_roles_and_csrf(
    runtime: Runtime, client: httpx.AsyncClient, invoiced: Invoiced
) -> None:
    await login(runtime, client, invoiced, Role.OPERATOR)
    page = await client.get(f"{LIST}/{invoiced.anna}")
    assert page.status_code == 200
    assert 'id="credit-form"' not in page.text
    form = {"csrf": csrf_of(page), "idempotency_key": "k1", "reason": "r", "confirm": "yes"}
    refused = await client.post(f"{LIST}/{invoiced.anna}/credit-note", data=form)
    assert (refused.status_code, refused.headers["x-error-code"]) == (403, "permission_denied")
    await login(runtime, client, invoiced, Role.FINANCE)
    forged = await client.post(
        f"{LIST}/{invoiced.anna}/credit-note", data={**form, "csrf": "0" * 64}
    )
    assert (forged.status_code, forged.headers["x-error-code"]) == (403, "csrf_failed")
    await login(runtime, client, invoiced, Role.DRIVER)
    driver = await client.get(LIST)
    assert (driver.status_code, driver.headers["x-error-code"]) == (403, "permission_denied")
    assert (await client.get(f"{LIST}/{invoiced.anna}/pdf")).status_code == 403
    client.cookies.clear()
    anonymous = await client.get(f"{LIST}/{invoiced.anna}/pdf")
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/office/login")


async def test_a_billed_session_links_its_invoice(
    runtime: Runtime, client: httpx.AsyncClient, invoiced: Invoiced
) -> None:
    await login(runtime, client, invoiced, Role.FINANCE)
    session_id = invoiced.month.charges["a1"].session_id
    page = await client.get(f"/office/sessions/{session_id}")
    assert page.status_code == 200, page.text
    assert 'id="session-document"' in page.text
    assert f'<a href="/office/invoices/{invoiced.anna}">INV-2026-' in page.text
    assert f'href="/office/invoices/{invoiced.anna}/pdf"' in page.text
    detail = await client.get(f"{LIST}/{invoiced.anna}")
    assert f'<a href="/office/sessions/{session_id}">' in detail.text  # and back
