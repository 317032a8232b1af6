"""Accounting exports started from the office (issue 16) on SQLite and PostgreSQL, over the
books of ``billing_api.charged_month`` (January 2026 charged; the clock on 2 February 2026 in
Berlin): the form and its errors, one job per form, the job page while it runs and once it is
done, the file byte for byte the one ``chargeledger export ledger`` writes
(``ledger_exports.ledger_file``) for the same format and period, the file kept in the job
store, and a job whose process died shown as interrupted and started again (no waits: the
runtime's clock passes the lease).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import httpx
import pytest

from chargeledger.adapters.exports.datev_charts import load_chart
from chargeledger.adapters.exports.files import FileExports
from chargeledger.adapters.exports.registry import ExportSetup
from chargeledger.bootstrap import Runtime
from chargeledger.config.finance import DatevSettings
from chargeledger.domain.identity import Role
from chargeledger.services import export_jobs
from chargeledger.services.billing.ledger_exports import books_title, ledger_file
from chargeledger.services.job_records import LEASE
from chargeledger.services.ports import Clock
from tests.integration.billing_api import OPERATOR_TZ, Month, charged_month, configure_operator
from tests.integration.ocpp_support import bounded
from tests.integration.test_office_http import csrf_of
from tests.integration.test_office_invoice_runs import login

EXPORTS = "/office/exports"
JOB = re.compile(r"^/office/exports/([0-9a-f-]{36})$")
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
JANUARY = (date(2026, 1, 1), date(2026, 2, 1))


@pytest.fixture
async def month(runtime: Runtime) -> tuple[Month, Clock]:
    system_clock = runtime.clock
    configure_operator(runtime)
    found = await charged_month(runtime)
    return found, system_clock


def key_of(page: httpx.Response) -> str:
    found = KEY.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def as_finance(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, system = month
    await login(runtime, client, system, Role.FINANCE)
    runtime.clock = world.world.clock


async def cli_bytes(runtime: Runtime, format_name: str) -> bytes:
    """What ``chargeledger export ledger --format F --from 2026-01-01 --to 2026-02-01``
    writes (its command calls this function with these arguments)."""
    title = books_title(runtime.settings.operator)
    made = await ledger_file(runtime.uow, runtime.exports, format_name, *JANUARY, title)
    return made.content


async def test_an_export_runs_in_the_background_and_its_file_is_the_clis(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    await as_finance(runtime, client, month)
    form_page = await client.get(EXPORTS)
    assert form_page.status_code == 200
    assert '<label for="export-format">' in form_page.text
    assert 'id="export-start" name="start" type="date" value="2026-01-01"' in form_page.text
    assert 'id="export-end" name="end" type="date" value="2026-02-01"' in form_page.text
    for name in ("beancount", "csv", "datev"):
        assert f'<option value="{name}"' in form_page.text
    form = {
        "csrf": csrf_of(form_page),
        "idempotency_key": key_of(form_page),
        "format": "csv",
        "start": "2026-01-01",
        "end": "2026-02-01",
    }
    started = await client.post(EXPORTS, data=form)
    assert started.status_code == 303, started.text
    again = await client.post(EXPORTS, data=form)  # a double click: the same job
    assert again.headers["location"] == started.headers["location"]
    assert JOB.match(started.headers["location"]) is not None
    await bounded(runtime.quiesce())
    done = await client.get(started.headers["location"])
    assert done.status_code == 200
    assert "http-equiv" not in done.text
    assert 'id="export-done"' in done.text
    download = re.search(
        r'href="(/office/exports/[0-9a-f-]+/file)" id="export-download"', done.text
    )
    assert download is not None
    got = await client.get(download.group(1))
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="ledger-csv-2026-01-01_2026-02-01.csv"' in got.headers["content-disposition"]
    expected = await cli_bytes(runtime, "csv")
    assert got.content == expected
    assert b"\r\n" in got.content
    assert hashlib.sha256(expected).hexdigest() in done.text
    entries = re.search(r'id="export-entries">(\d+)<', done.text)
    assert entries is not None
    assert int(entries.group(1)) > 0


PT_REVENUE = """
[accounts]
"Liabilities:VAT:PT" = 1779

[[revenue]]
country = "PT"
percent = 23
account = 8320
vat_account = 1779
"""


async def start_january(client: httpx.AsyncClient, format_name: str) -> str:
    """The job page of a new export of January in ``format_name``, once it has ended."""
    form_page = await client.get(EXPORTS)
    form = {
        "csrf": csrf_of(form_page),
        "idempotency_key": key_of(form_page),
        "format": format_name,
        "start": "2026-01-01",
        "end": "2026-02-01",
    }
    started = await client.post(EXPORTS, data=form)
    assert started.status_code == 303, started.text
    return str(started.headers["location"])


async def test_a_datev_batch_from_the_office_is_the_clis_byte_for_byte(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock], tmp_path: Path
) -> None:
    """DATEV stamps its header with the time it was made: the runtime's clock, fixed here.
    Without an account for Portuguese VAT the job ends with DATEV's error, as the CLI does."""
    await as_finance(runtime, client, month)
    unmapped = DatevSettings(load_chart("SKR03"), 29098, 55003, (1, 1))
    runtime.exports = FileExports(ExportSetup(runtime.clock.now, OPERATOR_TZ, unmapped))
    failed_job = await start_january(client, "datev")
    await bounded(runtime.quiesce())
    failed = await client.get(failed_job)
    assert 'id="export-failed"' in failed.text
    assert '<code class="error-code">datev_unmapped_vat</code>' in failed.text
    no_file = await client.get(f"{failed_job}/file")
    assert no_file.status_code == 404

    overrides = tmp_path / "datev.toml"
    overrides.write_text(PT_REVENUE)
    chart = load_chart("SKR03", overrides=overrides)
    books = DatevSettings(chart, 29098, 55003, (1, 1))
    runtime.exports = FileExports(ExportSetup(runtime.clock.now, OPERATOR_TZ, books))
    job = await start_january(client, "DATEV")
    await bounded(runtime.quiesce())
    done = await client.get(job)
    assert 'id="export-done"' in done.text, done.text
    got = await client.get(f"{job}/file")
    assert got.headers["content-type"] == "text/csv; charset=windows-1252"
    assert got.content.startswith(b'"EXTF";700;21;')
    assert got.content == await cli_bytes(runtime, "datev")


async def test_bad_input_is_a_form_error_with_its_code(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    await as_finance(runtime, client, month)
    form_page = await client.get(EXPORTS)
    base = {"csrf": csrf_of(form_page), "start": "2026-01-01", "end": "2026-02-01"}
    cases = [
        ({"format": "xero"}, "unknown_export_format"),
        ({"format": "csv", "start": "1 Jan"}, "invalid_date"),
        ({"format": "csv", "start": "2026-02-01", "end": "2026-01-01"}, "invalid_period"),
        ({"format": "csv", "idempotency_key": ""}, "invalid_idempotency_key"),
    ]
    for number, (values, code) in enumerate(cases):
        data = {**base, "idempotency_key": f"bad-{number}", **values}
        refused = await client.post(EXPORTS, data=data)
        assert refused.status_code == 422, (code, refused.text)
        assert f'<code class="error-code">{code}</code>' in refused.text
        assert 'id="export-form"' in refused.text
    async with runtime.uow() as uow:
        assert await uow.payments.idempotency_record("export-job", "x") is None


async def test_an_interrupted_export_is_shown_so_and_started_again(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, _ = month
    await as_finance(runtime, client, month)
    clock = world.world.clock
    dead = await export_jobs.start(  # a process that died before it wrote anything more
        runtime.uow, clock, runtime.exports, "beancount", *JANUARY, "finance@example.org"
    )
    page = f"{EXPORTS}/{dead.id}"
    running = await client.get(page)
    assert 'id="export-progress"' in running.text
    assert '<meta http-equiv="refresh" content="2">' in running.text
    not_yet = await client.get(f"{page}/file")
    assert (not_yet.status_code, not_yet.headers["x-error-code"]) == (404, "export_not_found")
    clock.current += LEASE * 2
    interrupted = await client.get(page)
    assert 'id="export-interrupted"' in interrupted.text
    assert "http-equiv" not in interrupted.text
    form = {
        "csrf": csrf_of(interrupted),
        "idempotency_key": key_of(interrupted),
        "format": "beancount",
        "start": "2026-01-01",
        "end": "2026-02-01",
    }
    again = await client.post(EXPORTS, data=form)
    assert again.status_code == 303
    assert again.headers["location"] != page
    await bounded(runtime.quiesce())
    got = await client.get(f"{again.headers['location']}/file")
    assert got.status_code == 200
    assert got.content == await cli_bytes(runtime, "beancount")


async def test_only_finance_exports(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, system = month
    await login(runtime, client, system, Role.OPERATOR)
    runtime.clock = world.world.clock
    job = await export_jobs.start(
        runtime.uow, runtime.clock, runtime.exports, "csv", None, None, "x"
    )
    for path in (EXPORTS, f"{EXPORTS}/{job.id}", f"{EXPORTS}/{job.id}/file"):
        response = await client.get(path)
        assert (response.status_code, response.headers["x-error-code"]) == (
            403,
            "permission_denied",
        )
    overview = await client.get("/office")
    assert 'href="/office/exports"' not in overview.text
    await login(runtime, client, system, Role.FINANCE)
    runtime.clock = world.world.clock
    overview = await client.get("/office")
    assert 'href="/office/exports"' in overview.text
    forged = await client.post(EXPORTS, data={"format": "csv", "csrf": "0"})
    assert (forged.status_code, forged.headers["x-error-code"]) == (403, "csrf_failed")
    unknown = await client.get(f"{EXPORTS}/00000000-0000-4000-8000-000000000000")
    assert (unknown.status_code, unknown.headers["x-error-code"]) == (404, "export_not_found")
