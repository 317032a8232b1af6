"""The office's bank pages (issue 16) on SQLite and PostgreSQL, over the statement of
``test_bank_reconciliation`` (seven entries: four matched by the import's rules, ``e3`` and
``e5`` left unmatched, ``e6`` pending) written as a camt.053 file to the official schema:
uploaded through the page (twice from one form: one import job, ``test_office_bank_import``
has its pages), listed with its entries, and
the unmatched queue worked through — ``e3`` matched to Carla's invoice by a form sent twice
(matched once), ``e5`` set aside with a note."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from chargeledger.adapters.bank.camt053_writer import camt053_document
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import Invoice
from tests.conftest import LoginAs
from tests.integration.ocpp_support import bounded
from tests.integration.office_world import KEY, office_login
from tests.integration.test_bank_reconciliation import first_statement, world_with_invoices
from tests.integration.test_office_http import csrf_of

HOME = "/office/bank"
QUEUE = "/office/bank/entries"
ENTRY = re.compile(r'<tr data-entry="([0-9a-f-]{36})" data-state="([a-z]+)">\s*<td>([^<]*)</td>')


def entries(page: httpx.Response) -> dict[str, tuple[str, str]]:
    """Entry reference → (id, state) of the entries a page lists."""
    return {ref: (entry_id, state) for entry_id, state, ref in ENTRY.findall(page.text)}


def form_of(page: httpx.Response, form_id: str, **fields: str) -> dict[str, str]:
    start = page.text.index(f'id="{form_id}"')
    form = page.text[start : page.text.index("</form>", start)]
    key = KEY.search(form)
    assert key is not None, form
    return {"csrf": csrf_of(page), "idempotency_key": key.group(1), **fields}


async def imported_world(runtime: Runtime) -> tuple[dict[str, Invoice], bytes]:
    _, invoices = await world_with_invoices(runtime)
    camt = camt053_document(
        [first_statement(invoices)],
        message_id="MSG-20260203",
        created_at=datetime(2026, 2, 3, 18, tzinfo=UTC),
    )
    return invoices, camt


async def upload(
    client: httpx.AsyncClient, form: dict[str, str], content: bytes, name: str = "day.xml"
) -> httpx.Response:
    return await client.post(
        f"{HOME}/statements", data=form, files={"statement": (name, content, "application/xml")}
    )


async def test_a_statement_uploaded_twice_from_one_form_is_imported_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    _, camt = await imported_world(runtime)
    await office_login(runtime, client, Role.FINANCE)
    home = await client.get(HOME)
    assert home.status_code == 200
    assert "No statement imported yet." in home.text
    assert '<a href="/office/bank" aria-current="page">Bank</a>' in home.text
    form = form_of(home, "upload-form")

    empty = await client.post(f"{HOME}/statements", data=form)
    assert empty.status_code == 422
    assert '<code class="error-code">statement_missing</code>' in empty.text

    form = form_of(empty, "upload-form")  # a fresh form after the refusal
    first = await upload(client, form, camt)
    second = await upload(client, form, camt)  # a double click: the same import job
    assert first.status_code == second.status_code == 303, second.text
    assert first.headers["location"] == second.headers["location"]
    await bounded(runtime.quiesce())
    report = await client.get(first.headers["location"])
    assert 'id="import-report"' in report.text
    assert '<dd id="r-new">7</dd>' in report.text
    assert '<dd id="r-matched">4</dd>' in report.text
    assert 'id="r-unmatched"><a href="/office/bank/entries?state=unmatched">2</a>' in report.text
    again = await upload(client, form_of(await client.get(HOME), "upload-form"), camt)
    await bounded(runtime.quiesce())
    again = await client.get(again.headers["location"])  # another form: nothing new
    assert '<dd id="r-new">0</dd>' in again.text
    assert '<dd id="r-duplicates">7</dd>' in again.text
    again = await client.get(HOME)

    statements = re.findall(r'data-statement="([0-9a-f-]{36})"', again.text)
    assert len(statements) == 1
    detail = await client.get(f"{HOME}/statements/{statements[0]}")
    assert detail.status_code == 200
    assert "day.xml" in detail.text
    states = {ref: state for ref, (_, state) in entries(detail).items()}
    assert states == {
        "e1": "matched",
        "e2": "matched",
        "e3": "unmatched",
        "e4": "matched",
        "e5": "unmatched",
        "e6": "pending",
        "e7": "matched",
    }
    missing = await client.get(f"{HOME}/statements/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.headers["x-error-code"]) == (
        404,
        "bank_statement_not_found",
    )


async def test_the_queue_is_read_by_operators_and_decided_once_by_finance(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    invoices, camt = await imported_world(runtime)
    finance = await login_as(Role.FINANCE)
    imported = await client.post("/api/v1/bank/statements", content=camt, headers=finance)
    assert imported.status_code == 201, imported.text

    await office_login(runtime, client, Role.OPERATOR)
    queue = await client.get(QUEUE)
    assert queue.status_code == 200
    listed = entries(queue)
    assert set(listed) == {"e3", "e5"}
    assert 'id="match-' not in queue.text  # operators read; finance decides
    e3, e5 = listed["e3"][0], listed["e5"][0]
    assert len(entries(await client.get(f"{QUEUE}?state=any"))) == 7
    assert set(entries(await client.get(f"{QUEUE}?state=matched"))) == {"e1", "e2", "e4", "e7"}
    bad = await client.get(f"{QUEUE}?state=lost")
    assert bad.status_code == 422
    assert "<code>invalid_filter</code>" in bad.text
    download = await client.get(f"{QUEUE}?state=unmatched&format=csv")
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][:4] == ["Entry", "Reference", "Booked", "Amount"]
    assert sorted((r[1], r[3], r[6]) for r in lines[1:]) == [
        ("e3", "11.90", "unmatched"),
        ("e5", "7.77", "unmatched"),
    ]
    token = csrf_of(queue)
    denied = await client.post(
        f"{QUEUE}/{e3}/match",
        data={"csrf": token, "idempotency_key": "k1", "target": "x", "confirm": "yes"},
    )
    assert (denied.status_code, denied.headers["x-error-code"]) == (403, "permission_denied")

    await office_login(runtime, client, Role.FINANCE)
    queue = await client.get(QUEUE)
    carla = invoices["carla"]
    url = f"{QUEUE}/{e3}/match"
    refusals = [
        ({"target": str(carla.number)}, 422, "confirmation_required"),
        ({"target": "NOPE-1", "confirm": "yes"}, 404, "invoice_not_found"),
        ({"target": "", "confirm": "yes"}, 422, "invalid_invoice_reference"),
    ]
    page = queue
    for fields, status, code in refusals:
        page = await client.post(url, data=form_of(page, f"match-{e3}", **fields))
        assert page.status_code == status, (code, page.text)
        assert f'<code class="error-code">{code}</code>' in page.text, page.text
    form = form_of(page, f"match-{e3}", target=str(carla.number), note="name on it", confirm="yes")
    first = await client.post(url, data=form)
    second = await client.post(url, data=form)  # the same form sent again
    assert (first.status_code, second.status_code) == (303, 303), second.text
    after = await client.get(first.headers["location"])
    assert 'id="decided"' in after.text
    assert set(entries(after)) == {"e5"}
    shown = (await client.get(f"/api/v1/invoices/{carla.id}", headers=finance)).json()
    assert (shown["status"], Decimal(shown["outstanding"])) == ("paid", 0)
    fresh = await client.post(url, data={**form, "idempotency_key": "another-form"})
    assert fresh.status_code == 409
    assert '<code class="error-code">bank_entry_decided</code>' in fresh.text

    ignore = form_of(after, f"ignore-{e5}", note="", confirm="yes")
    silent = await client.post(f"{QUEUE}/{e5}/ignore", data=ignore)
    assert (silent.status_code, "invalid_note" in silent.text) == (422, True)
    ignore = form_of(silent, f"ignore-{e5}", note="a refund from our insurer", confirm="yes")
    assert (await client.post(f"{QUEUE}/{e5}/ignore", data=ignore)).status_code == 303
    assert entries(await client.get(QUEUE)) == {}
    ignored = entries(await client.get(f"{QUEUE}?state=ignored"))
    assert set(ignored) == {"e5"}


async def test_an_unmatched_receipt_kept_as_credit_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    invoices, camt = await imported_world(runtime)
    finance = await login_as(Role.FINANCE)
    imported = await client.post("/api/v1/bank/statements", content=camt, headers=finance)
    assert imported.status_code == 201, imported.text
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(QUEUE)
    e5 = entries(page)["e5"][0]
    url = f"{QUEUE}/{e5}/credit"
    refusals = [
        ({"target": "someone", "confirm": "yes"}, 422, "invalid_account_id"),
        (
            {"target": "00000000-0000-4000-8000-000000000000", "confirm": "yes"},
            404,
            "account_not_found",
        ),
    ]
    for fields, status, code in refusals:
        page = await client.post(url, data=form_of(page, f"credit-{e5}", **fields))
        assert page.status_code == status, (code, page.text)
        assert f'<code class="error-code">{code}</code>' in page.text, page.text
    account = str(invoices["eve"].account_id)
    form = form_of(page, f"credit-{e5}", target=account, note="prepaid", confirm="yes")
    answers = [await client.post(url, data=form) for _ in range(2)]  # a double submit
    assert [a.status_code for a in answers] == [303, 303]
    assert set(entries(await client.get(f"{QUEUE}?state=credited"))) == {"e5"}
    shown = await client.get("/api/v1/bank/entries?state=credited", headers=finance)
    [credited] = shown.json()["items"]
    assert (credited["account_id"], credited["note"]) == (account, "prepaid")


async def test_the_queue_pages_by_fifty_and_its_csv_has_every_entry(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await world_with_invoices(runtime)
    lines = ["account_iban,booking_date,amount,currency,counterparty_name,reference,entry_ref"]
    lines += [
        f"DE89370400440532013000,2026-02-03,{n}.01,EUR,Stranger {n},gift {n},r{n:02}"
        for n in range(1, 56)
    ]
    await office_login(runtime, client, Role.FINANCE)
    home = await client.get(HOME)
    content = "\n".join(lines).encode()
    started = await upload(client, form_of(home, "upload-form"), content, "export.csv")
    await bounded(runtime.quiesce())
    imported = await client.get(started.headers["location"])
    assert '<a href="/office/bank/entries?state=unmatched">55</a>' in imported.text, imported.text
    first = await client.get(QUEUE)
    assert len(entries(first)) == 50
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following is not None
    second = await client.get(following.group(1).replace("&amp;", "&"))
    assert len(entries(second)) == 5
    assert not set(entries(first)) & set(entries(second))
    assert 'rel="prev"' in second.text
    download = await client.get(f"{QUEUE}?state=unmatched&format=csv")
    assert len(list(csv.reader(io.StringIO(download.text)))) == 56  # the header and 55
