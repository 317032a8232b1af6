"""The office's contract pages (issue 16) on SQLite and PostgreSQL: two fleet contracts made
through the REST API (``test_contracts_api``'s terms, 2026 with a 12-month renewal and 90 days'
notice), one signed with its PDF, read on 10 March 2026: the list with its filters and CSV,
the contract page with its parties, terms, documents, milestones, performance and invoices,
and who may read them."""

from __future__ import annotations

import csv
import io
import re

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.identity import Role
from tests.conftest import LoginAs, make_account
from tests.integration.office_world import KEY, office_login
from tests.integration.test_contracts_api import PDF, fleet_contract, setup
from tests.integration.test_office_http import csrf_of

LIST = "/office/contracts"
ROW = re.compile(r'data-contract="([0-9a-f-]{36})"')


async def test_the_list_filters_downloads_and_shows_a_contract(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await office_login(runtime, client, Role.DRIVER)
    assert (await client.get(LIST)).status_code == 403
    await office_login(runtime, client, Role.OPERATOR)  # on the real clock: JWTs use it
    finance, fleet = await setup(runtime, client, login_as)
    other = await make_account(runtime, "Other Fleet AG", AccountKind.BUSINESS)
    created = await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    assert created.status_code == 201, created.text
    signed_id = created.json()["id"]
    draft = await client.post(
        "/api/v1/contracts", json=fleet_contract(other.id, "FL-2026-002"), headers=finance
    )
    assert draft.status_code == 201, draft.text
    sign = await client.post(
        f"/api/v1/contracts/{signed_id}/sign", json={"signed_on": "2026-01-05"}, headers=finance
    )
    assert sign.status_code == 200, sign.text
    uploaded = await client.post(
        f"/api/v1/contracts/{signed_id}/documents",
        params={"version": 1, "filename": "signed.pdf"},
        content=PDF,
        headers=finance,
    )
    assert uploaded.status_code == 201, uploaded.text

    page = await client.get(LIST)
    assert page.status_code == 200
    assert '<a href="/office/contracts" aria-current="page">Contracts</a>' in page.text
    assert ROW.findall(page.text) == [signed_id, draft.json()["id"]]
    shown = {"status=active": 1, "status=draft": 1, "kind=fleet": 2, "kind=roaming": 0}
    for query, count in shown.items():
        filtered = await client.get(f"{LIST}?{query}")
        assert (filtered.status_code, len(ROW.findall(filtered.text))) == (200, count), query
    for bad in ("status=sleeping", "kind=spaceship"):
        refused = await client.get(f"{LIST}?{bad}")
        assert refused.status_code == 422, bad
        assert "<code>invalid_filter</code>" in refused.text
    download = await client.get(f"{LIST}?status=active&format=csv")
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][:5] == ["Contract", "Number", "Kind", "Title", "Status"]
    assert [line[1:5] for line in lines[1:]] == [
        ["FL-2026-001", "fleet", "Fleet charging", "active"]
    ]

    detail = await client.get(f"{LIST}/{signed_id}")
    assert detail.status_code == 200, detail.text
    assert '<dd id="contract-status">active</dd>' in detail.text
    assert '<dd id="notice-deadline">2026-10-02</dd>' in detail.text
    assert str(fleet) in detail.text
    assert "Ida Fleet (signatory)" in detail.text
    assert "&#34;marginal&#34;" in detail.text  # the terms, as stored
    assert 'data-milestone="notice_deadline"' in detail.text
    assert 'id="performance"' in detail.text
    assert "2026-03" in detail.text
    assert "No invoices yet." in detail.text
    assert 'id="sign-form"' not in detail.text  # signed already, and operators only read
    link = re.search(r'href="(/office/contracts/[^"]+/documents/[^"]+)"', detail.text)
    assert link is not None
    document = await client.get(link.group(1))
    assert (document.status_code, document.content) == (200, PDF)

    missing = await client.get(f"{LIST}/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.headers["x-error-code"]) == (404, "contract_not_found")


async def test_finance_records_a_signature_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await office_login(runtime, client, Role.FINANCE)  # on the real clock: JWTs use it
    finance, fleet = await setup(runtime, client, login_as)
    created = await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    contract_id = created.json()["id"]
    url = f"{LIST}/{contract_id}/sign"
    page = await client.get(f"{LIST}/{contract_id}")
    assert '<dd id="contract-status">draft</dd>' in page.text
    refusals = [
        ({"signed_on": "2026-03-01"}, 422, "confirmation_required"),
        ({"signed_on": "2026-13-01", "confirm": "yes"}, 422, "invalid_date"),
        ({"signed_on": "2026-04-01", "confirm": "yes"}, 422, "signed_in_future"),
    ]
    for fields, status, code in refusals:
        page = await client.post(url, data=form_of(page, **fields))
        assert page.status_code == status, (code, page.text)
        assert f'<code class="error-code">{code}</code>' in page.text, page.text
    form = form_of(page, signed_on="2026-03-01", confirm="yes")
    first = await client.post(url, data=form)
    second = await client.post(url, data=form)  # a double submit
    assert (first.status_code, second.status_code) == (303, 303), second.text
    signed = await client.get(first.headers["location"])
    assert 'id="notice"' in signed.text
    assert '<dd id="contract-status">active</dd>' in signed.text
    assert "<dd>2026-03-01</dd>" in signed.text
    assert 'id="sign-form"' not in signed.text
    again = await client.post(url, data={**form, "idempotency_key": "another-form"})
    assert again.status_code == 409
    assert '<code class="error-code">contract_signed</code>' in again.text


def form_of(page: httpx.Response, **fields: str) -> dict[str, str]:
    start = page.text.index('id="sign-form"')
    form = page.text[start : page.text.index("</form>", start)]
    key = KEY.search(form)
    assert key is not None, form
    return {"csrf": csrf_of(page), "idempotency_key": key.group(1), **fields}
