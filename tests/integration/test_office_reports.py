"""The office's reports page (issue 16) on SQLite and PostgreSQL, over the standard billing
world (tests/integration/billing_world.py) with January 2026 invoiced on 2 February and one of
Anna's lines credited, the clock on 20 February 2026 in Berlin: each report's table on the page
is the REST's (``/api/v1/reports/*``) for the same parameters, cell for cell; its CSV is the
REST's file; roles are ``ReadReports``'s; bad input is a 422 page with the stable code. A
contract's performance is compared the same way over the fleet contract of
``test_contract_performance``.
"""

from __future__ import annotations

import html
import io
import re
import uuid
from typing import Any

import httpx
import openpyxl
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.conftest import LoginAs
from tests.integration.billing_api import configure_operator
from tests.integration.billing_world import FixedClock, credit, run_month, standard_world, utc
from tests.integration.office_world import office_login
from tests.integration.test_contract_performance import fleet_world

PAGE = "/office/reports"
API = "/api/v1/reports"
NOW = utc("2026-02-20T10:00")
ROW = re.compile(r'<tr class="(row|total)">(.*?)</tr>', re.S)
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)


@pytest.fixture
async def api_headers(runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs) -> Any:
    """A booked world, a finance token for the REST and an operator in the office; then the
    clock on ``NOW`` (logins first: PyJWT checks the token against the system clock)."""
    configure_operator(runtime)
    world = await standard_world(runtime)
    invoiced = await run_month(world, "2026-01")
    [anna] = [i for i in invoiced.issued if i.account_id == world.accounts["anna"].id]
    await credit(world, anna, positions=(1,))
    headers = await login_as(Role.FINANCE)
    await office_login(runtime, client, Role.OPERATOR)
    runtime.clock = FixedClock(NOW)
    return headers


def page_table(page: httpx.Response) -> tuple[list[list[str]], list[list[str]]]:
    """(rows, total rows) of the page's report table, as their texts."""
    rows: list[list[str]] = []
    totals: list[list[str]] = []
    for kind, cells in ROW.findall(page.text):
        texts = [html.unescape(text) for text in CELL.findall(cells)]
        (rows if kind == "row" else totals).append(texts)
    return rows, totals


def rest_table(document: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    keys = [column["key"] for column in document["columns"]]

    def texts(records: list[dict[str, Any]]) -> list[list[str]]:
        return [["" if r[k] is None else str(r[k]) for k in keys] for r in records]

    return texts(document["rows"]), texts(document["totals"])


ASKED = [
    ("revenue", {}),  # the operator's current month, by site
    ("revenue", {"period": "2026-Q1", "by": "site,method", "grain": "month"}),
    ("revenue", {"period": "2026-01", "by": "account", "top": "2"}),
    ("revenue", {"period": "2026-W04", "by": "station,tariff", "grain": "day"}),
    ("collections", {"period": "2026-01"}),
    ("aging", {}),
    ("aging", {"as_of": "2026-02-28", "period": "2026-01"}),
    ("unbilled", {}),
]


async def test_each_report_is_the_rest_report(
    runtime: Runtime, client: httpx.AsyncClient, api_headers: dict[str, str]
) -> None:
    for report, params in ASKED:
        page = await client.get(PAGE, params={"report": report, **params})
        assert page.status_code == 200, (report, params, page.text)
        rest = await client.get(f"{API}/{report}", params=params, headers=api_headers)
        assert rest.status_code == 200, rest.text
        document = rest.json()
        assert f">{html.escape(document['title'])}</h2>" in page.text
        rows, totals = page_table(page)
        assert (rows, totals) == rest_table(document), (report, params)
        assert 'id="report-outcome"' in page.text
    january = await client.get(PAGE, params={"report": "revenue", "period": "2026-01"})
    rows, totals = page_table(january)
    # A month with charges: the comparisons above are not of empty tables.
    assert len(rows) > 1
    assert len(totals) == 1
    assert f"{len(rows)} rows and 1 total row" in january.text


async def test_the_downloads_are_the_rest_files(
    runtime: Runtime, client: httpx.AsyncClient, api_headers: dict[str, str]
) -> None:
    params = {"report": "revenue", "period": "2026-01", "by": "site,method"}
    page = await client.get(PAGE, params=params)
    link = "/office/reports?report=revenue&amp;period=2026-01&amp;by=site%2Cmethod"
    assert f'id="download-csv" href="{link}&amp;grain=period&amp;format=csv"' in page.text
    download = await client.get(PAGE, params={**params, "format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="revenue-2026-01.csv"' in download.headers["content-disposition"]
    rest = await client.get(
        f"{API}/revenue",
        params={"period": "2026-01", "by": "site,method", "format": "csv"},
        headers=api_headers,
    )
    assert download.content == rest.content
    workbook = await client.get(PAGE, params={**params, "format": "xlsx"})
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    cells = [str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value]
    assert "Berlin Depot" in cells


REFUSED = [
    ({"report": "revenue", "period": "2026-13"}, "invalid_period"),
    ({"report": "revenue", "period": "2026-01" * 20}, "invalid_period"),
    ({"report": "revenue", "by": "colour"}, "unknown_report_dimension"),
    ({"report": "revenue", "grain": "week"}, "invalid_filter"),
    ({"report": "revenue", "top": "0"}, "invalid_filter"),
    ({"report": "revenue", "top": "many"}, "invalid_filter"),
    ({"report": "revenue", "period": "2026", "grain": "day"}, "period_too_long"),
    ({"report": "aging", "as_of": "yesterday"}, "invalid_filter"),
    ({"report": "aging", "as_of": "0001-01-01"}, "invalid_date"),
    ({"report": "balance"}, "invalid_filter"),
    ({"report": "revenue", "format": "pdf"}, "invalid_filter"),
    ({"report": "revenue", "format": "json"}, "invalid_filter"),
]


async def test_bad_input_is_a_422_page_with_its_code(
    runtime: Runtime, client: httpx.AsyncClient, api_headers: dict[str, str]
) -> None:
    for params, code in REFUSED:
        page = await client.get(PAGE, params=params)
        assert page.status_code == 422, (params, page.text)
        assert f"<code>{code}</code>" in page.text, params
        assert 'id="report-error"' in page.text
        assert 'id="report-form"' in page.text  # the form again, as typed
        assert 'id="report-table"' not in page.text


async def test_the_form_alone_and_the_roles(runtime: Runtime, client: httpx.AsyncClient) -> None:
    client.cookies.clear()
    anonymous = await client.get(PAGE)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/office/login"
    for role in (Role.OPERATOR, Role.FINANCE, Role.ADMIN):
        await office_login(runtime, client, role)
        form = await client.get(PAGE)
        assert form.status_code == 200, form.text
        assert 'id="report-form"' in form.text
        assert '<label for="r-period">' in form.text
        assert 'id="report-table"' not in form.text
        assert 'href="/office/reports" aria-current="page"' in form.text
    for role in (Role.FLEET_MANAGER, Role.DRIVER):
        await office_login(runtime, client, role)
        refused = await client.get(PAGE, params={"report": "aging"})
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "permission_denied"


async def test_a_contracts_performance_is_the_rest_report(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """The fleet contract of tests/integration/test_contract_performance.py, January and
    February 2026, on the page and from ``/api/v1/contracts/{id}/performance``."""
    _, contract_id = await fleet_world(runtime)
    finance = await login_as(Role.FINANCE)
    await office_login(runtime, client, Role.OPERATOR)
    window = {"from": "2026-01", "to": "2026-02"}
    asked = {"report": "contract", "contract": str(contract_id), **window}

    page = await client.get(PAGE, params=asked)

    assert page.status_code == 200, page.text
    assert f'<option value="{contract_id}" selected>FL-P' in page.text
    rest = await client.get(
        f"/api/v1/contracts/{contract_id}/performance", params=window, headers=finance
    )
    assert rest.status_code == 200, rest.text
    rows, totals = page_table(page)
    assert [r[0] for r in rows] == ["2026-01", "2026-02"]
    assert (rows, totals) == rest_table(rest.json())
    download = await client.get(PAGE, params={**asked, "format": "csv"})
    rest_csv = await client.get(
        f"/api/v1/contracts/{contract_id}/performance",
        params={**window, "format": "csv"},
        headers=finance,
    )
    assert download.content == rest_csv.content
    assert "performance-FL-P.csv" in download.headers["content-disposition"]

    refusals = [
        ({"contract": "FL-P"}, 422, "invalid_filter"),
        ({"from": "2026-13"}, 422, "invalid_month"),
        ({"from": "2026-02", "to": "2026-01"}, 422, "invalid_period"),
        ({"contract": str(uuid.uuid4())}, 404, "contract_not_found"),
    ]
    for change, status, code in refusals:
        refused = await client.get(PAGE, params={**asked, **change})
        assert refused.status_code == status, (change, refused.text)
        assert f"<code>{code}</code>" in refused.text
