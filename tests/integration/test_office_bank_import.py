"""The bank statement import as a long job from the office (issue 16) on SQLite and
PostgreSQL, over the statement of ``test_bank_reconciliation`` (seven entries: four matched,
``e3`` and ``e5`` unmatched, ``e6`` pending) as a camt.053 file: the upload starts one job per
form, whose page shows its steps and then the report the REST import gives for the same file;
a broken file ends the job with its code; the import's progress is told per batch without
changing what it imports; a job whose process died shows as interrupted and is imported again
(no waits: jobs are stepped with ``runtime.quiesce()`` and the import lock, leases passed by
the clock a job was started with)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.services import bank_import_jobs as jobs
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.job_records import LEASE, RUNNING, JobLog
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.billing_world import FixedClock
from tests.integration.ocpp_support import bounded
from tests.integration.office_world import office_login
from tests.integration.test_office_bank import HOME, form_of, imported_world, upload
from tests.integration.test_office_http import csrf_of

IMPORTS = "/office/bank/imports"
JOB = re.compile(r"^/office/bank/imports/([0-9a-f-]{36})$")
REPORTED = ("statements", "new", "duplicates", "matched", "unmatched", "states", "rules")


def job_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    found = JOB.match(answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def figures(page: httpx.Response) -> dict[str, str]:
    return dict(re.findall(r'<dd id="r-([a-z]+)">(?:<a [^>]*>)?(\d+)<', page.text))


async def outcome(runtime: Runtime, job_id: str) -> dict[str, object]:
    job = await reading(runtime.uow, jobs.job_status, job_id)
    assert job is not None
    assert job.outcome is not None, job
    return {name: job.outcome[name] for name in REPORTED}


async def test_an_upload_is_one_job_whose_report_is_the_rests(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    _, camt = await imported_world(runtime)
    await office_login(runtime, client, Role.FINANCE)
    home = await client.get(HOME)
    empty = await client.post(f"{HOME}/statements", data=form_of(home, "upload-form"))
    assert empty.status_code == 422
    assert '<code class="error-code">statement_missing</code>' in empty.text

    form = form_of(empty, "upload-form")
    first = await upload(client, form, camt)
    second = await upload(client, form, camt)  # a double click: the same job
    assert job_of(first) == job_of(second)
    await bounded(runtime.quiesce())
    done = await client.get(first.headers["location"])
    assert done.status_code == 200
    assert "http-equiv" not in done.text
    assert 'id="import-report"' in done.text
    assert figures(done) == {
        "statements": "1",
        "new": "7",
        "duplicates": "0",
        "matched": "4",
        "unmatched": "2",
    }
    rows = re.findall(r'data-statement-link="([0-9a-f-]{36})"', done.text)
    assert len(rows) == 1
    assert (await client.get(f"{HOME}/statements/{rows[0]}")).status_code == 200
    assert 'href="/office/bank/entries?state=unmatched"' in done.text
    listed = await client.get(HOME)
    assert re.findall(r'data-statement="([0-9a-f-]{36})"', listed.text) == rows

    # The same file from another form, and through the REST: nothing new, the same report.
    again = job_of(await upload(client, form_of(listed, "upload-form"), camt))
    await bounded(runtime.quiesce())
    finance = await login_as(Role.FINANCE)
    rest = await client.post(
        "/api/v1/bank/statements?filename=day.xml", content=camt, headers=finance
    )
    assert rest.status_code == 201, rest.text
    rest_report = {name: rest.json()[name] for name in REPORTED}
    assert await outcome(runtime, again) == rest_report
    assert (rest_report["new"], rest_report["duplicates"]) == (0, 7)


async def test_a_broken_file_ends_its_job_with_the_code(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, camt = await imported_world(runtime)
    await office_login(runtime, client, Role.FINANCE)
    home = await client.get(HOME)
    broken = camt.replace(b"<Ntry>", b"<Entry>", 1)
    job = job_of(await upload(client, form_of(home, "upload-form"), broken))
    await bounded(runtime.quiesce())
    page = await client.get(f"{IMPORTS}/{job}")
    assert page.status_code == 200
    assert 'id="import-error"' in page.text
    assert '<code class="error-code">invalid_statement</code>' in page.text
    assert "http-equiv" not in page.text
    listed = await client.get(HOME)
    assert "No statement imported yet." in listed.text


async def test_the_import_tells_its_progress_per_batch_and_imports_the_same(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, camt = await imported_world(runtime)
    monkeypatch.setattr(bank, "PROGRESS_BATCH", 3)
    told: list[bank.ImportProgress] = []

    async def progress(step: bank.ImportProgress) -> None:
        told.append(step)

    report = await bank.import_statement_file(
        runtime.uow,
        runtime.locks,
        runtime.clock,
        runtime.settings.operator_time_zone,
        runtime.statements,
        camt,
        filename="day.xml",
        imported_by="finance",
        progress=progress,
    )
    assert [(p.read, p.total) for p in told] == [(3, 7), (6, 7), (7, 7)]
    assert told[-1].matched == report.matched == 4
    assert [p.matched for p in told] == sorted(p.matched for p in told)
    assert (report.new, report.unmatched, len({p.statement_row for p in told})) == (7, 2, 1)


async def test_the_job_keeps_its_progress_then_its_report(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notes the job writes to its store, in order: reading, importing (entries read and
    matched of the total, growing; notes told while one is being written are merged into the
    next), then the report."""
    _, camt = await imported_world(runtime)
    monkeypatch.setattr(bank, "PROGRESS_BATCH", 3)
    written: list[tuple[int, dict[str, Any]]] = []

    class WatchedLog(JobLog):
        async def note(self, status: int, content: dict[str, Any]) -> None:
            await super().note(status, content)
            written.append((status, content))

    monkeypatch.setattr(jobs, "JobLog", WatchedLog)
    job = await jobs.start(runtime.uow, runtime.clock, camt, "day.xml", "finance@example.org")
    zone = runtime.settings.operator_time_zone
    await jobs.perform(runtime.uow, runtime.locks, runtime.clock, zone, runtime.statements, job.id)
    steps = [content.get("step") for _, content in written]
    assert steps[0] == jobs.READING
    assert steps[-1] is None  # the outcome
    progress = [(c["read"], c["matched"], c["total"]) for _, c in written[1:-1]]
    assert progress
    assert set(steps[1:-1]) == {jobs.IMPORTING}
    assert progress == sorted(progress)
    assert progress[-1] == (7, 4, 7)
    assert written[-1][1]["new"] == 7


async def test_the_job_page_shows_each_step(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, camt = await imported_world(runtime)
    await office_login(runtime, client, Role.FINANCE)
    home = await client.get(HOME)
    async with runtime.locks.hold(bank.IMPORT_LOCK, 0):  # another import is under way
        job = job_of(await upload(client, form_of(home, "upload-form"), camt))
        queued = await client.get(f"{IMPORTS}/{job}")
        assert 'id="import-progress"' in queued.text
        assert '<meta http-equiv="refresh" content="2">' in queued.text

        async def reading_the_file() -> None:
            while True:
                found = await reading(runtime.uow, jobs.job_status, job)
                if found is not None and found.step == jobs.READING:
                    return
                await asyncio.sleep(0)  # the job's turn: no wall-clock wait

        await bounded(reading_the_file())
        waiting = await client.get(f"{IMPORTS}/{job}")
        assert 'data-step="reading"' in waiting.text
        assert "Reading the file" in waiting.text
    await bounded(runtime.quiesce())
    done = await client.get(f"{IMPORTS}/{job}")
    assert figures(done)["new"] == "7"


async def dead_job(runtime: Runtime, camt: bytes) -> str:
    """What a process that died mid-import leaves: the job at step ``importing``, three of
    seven entries read and two matched, its last beat two leases ago (its one transaction
    rolled back with it, so nothing of the file is stored)."""
    clock = FixedClock(datetime.now(UTC) - LEASE * 2)
    job = await jobs.start(runtime.uow, clock, camt, "day.xml", "finance@example.org")
    inputs = {"filename": "day.xml", "sha256": job.sha256, "file": job.id, "by": job.started_by}
    note = {"step": jobs.IMPORTING, "read": 3, "matched": 2, "total": 7, "statements": []}
    await JobLog(runtime.uow, clock, jobs.JOBS, job.id, inputs).note(RUNNING, note)
    return job.id


async def test_an_interrupted_import_is_imported_again_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, camt = await imported_world(runtime)
    await office_login(runtime, client, Role.FINANCE)
    dead = await dead_job(runtime, camt)
    page = await client.get(f"{IMPORTS}/{dead}")
    assert 'id="import-interrupted"' in page.text
    assert "http-equiv" not in page.text
    assert "Import it again" in page.text
    form = form_of(page, "import-again")
    first = await client.post(f"{IMPORTS}/{dead}/again", data=form)
    second = await client.post(f"{IMPORTS}/{dead}/again", data=form)  # a double click
    new = job_of(first)
    assert job_of(second) == new != dead
    await bounded(runtime.quiesce())
    done = await client.get(f"{IMPORTS}/{new}")
    assert (figures(done)["new"], figures(done)["matched"]) == ("7", "4")
    old = await client.get(f"{IMPORTS}/{dead}")
    assert '<code class="error-code">interrupted</code>' in old.text
    assert f'href="{IMPORTS}/{new}" id="restarted-as"' in old.text
    fresh = {"csrf": csrf_of(old), "idempotency_key": "another-form"}
    refused = await client.post(f"{IMPORTS}/{dead}/again", data=fresh)
    assert (refused.status_code, refused.headers["x-error-code"]) == (
        409,
        jobs.NOT_INTERRUPTED,
    )


async def test_a_running_job_shows_its_progress(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, camt = await imported_world(runtime)
    await office_login(runtime, client, Role.FINANCE)
    job = await jobs.start(runtime.uow, runtime.clock, camt, "day.xml", "finance@example.org")
    inputs = {"filename": "day.xml", "sha256": job.sha256, "file": job.id, "by": job.started_by}
    note = {"step": jobs.IMPORTING, "read": 3, "matched": 2, "total": 7, "statements": []}
    await JobLog(runtime.uow, runtime.clock, jobs.JOBS, job.id, inputs).note(RUNNING, note)
    page = await client.get(f"{IMPORTS}/{job.id}")
    assert '<meta http-equiv="refresh" content="2">' in page.text
    progress = dict(re.findall(r'<span id="p-([a-z]+)">(\d+)</span>', page.text))
    assert progress == {"read": "3", "total": "7", "matched": "2"}


async def test_only_finance_imports(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, camt = await imported_world(runtime)
    job = await jobs.start(runtime.uow, runtime.clock, camt, "day.xml", "finance@example.org")
    await office_login(runtime, client, Role.OPERATOR)
    home = await client.get(HOME)
    assert 'id="upload-form"' not in home.text
    token = csrf_of(home)
    refused = [
        await client.get(f"{IMPORTS}/{job.id}"),
        await upload(client, {"csrf": token, "idempotency_key": "k1"}, camt),
        await client.post(
            f"{IMPORTS}/{job.id}/again", data={"csrf": token, "idempotency_key": "k2"}
        ),
    ]
    for answer in refused:
        assert (answer.status_code, answer.headers["x-error-code"]) == (403, "permission_denied")
    await office_login(runtime, client, Role.FINANCE)
    unknown = await client.get(f"{IMPORTS}/00000000-0000-4000-8000-000000000000")
    assert (unknown.status_code, unknown.headers["x-error-code"]) == (404, jobs.NOT_FOUND)
    forged = await upload(client, {"csrf": "0", "idempotency_key": "k3"}, camt)
    assert (forged.status_code, forged.headers["x-error-code"]) == (403, "csrf_failed")
