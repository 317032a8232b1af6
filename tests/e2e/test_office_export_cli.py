"""An accounting export from the office's ``/office/exports`` is byte for byte the file the
installed ``chargeledger export ledger`` writes for the same format and period (issue 16), on
a SQLite file and a PostgreSQL database of its own; and the file is still served after the
server restarts (it is kept in the database, not in the memory of the process that made it).

The books: ``billing_world``'s standard month, invoiced on 2 February 2026.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.e2e.test_invoice_run_cli import CHARGELEDGER, database_url, open_runtime
from tests.integration.billing_world import OPERATOR_TZ, run_month, standard_world
from tests.integration.ocpp_support import bounded
from tests.integration.office_world import office_login
from tests.integration.test_office_http import csrf_of

__all__ = ["database_url"]  # the fixture: a SQLite file or a PostgreSQL database of its own

OPERATOR_NAME = "Ladenetz Betrieb GmbH"
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def book_january(url: str, data_dir: Path) -> None:
    runtime = open_runtime(url, data_dir)
    try:
        await runtime.migrate()
        world = await standard_world(runtime)
        await run_month(world, "2026-01")
    finally:
        await runtime.aclose()


def cli_export(url: str, data_dir: Path, format_name: str, output: Path) -> None:
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(data_dir),
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "CHARGELEDGER_OPERATOR_NAME": OPERATOR_NAME,
        "CHARGELEDGER_OPERATOR_TIME_ZONE": OPERATOR_TZ,
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [CHARGELEDGER, "export", "ledger", "--format", format_name, "--from", "2026-01-01",
         "--to", "2026-02-01", "--output", str(output)],
        capture_output=True,
        env=environment,
        timeout=600,  # a safety bound against a hang, never a schedule
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def office_runtime(url: str, data_dir: Path) -> Runtime:
    runtime = open_runtime(url, data_dir)
    runtime.settings = dataclasses.replace(
        runtime.settings, operator={"name": OPERATOR_NAME}, operator_time_zone=OPERATOR_TZ
    )
    return runtime


async def office_export(runtime: Runtime, format_name: str) -> tuple[str, bytes]:
    """The file's address and bytes of an export of January started from the office."""
    transport = httpx.ASGITransport(app=create_app(runtime, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await office_login(runtime, client, Role.FINANCE)
        form_page = await client.get("/office/exports")
        key = KEY.search(form_page.text)
        assert key is not None
        form = {
            "csrf": csrf_of(form_page),
            "idempotency_key": key.group(1),
            "format": format_name,
            "start": "2026-01-01",
            "end": "2026-02-01",
        }
        started = await client.post("/office/exports", data=form)
        assert started.status_code == 303, started.text
        await bounded(runtime.quiesce())
        got = await client.get(f"{started.headers['location']}/file")
        assert got.status_code == 200, got.text
        return f"{started.headers['location']}/file", got.content


async def download_after_restart(runtime: Runtime, address: str) -> bytes:
    transport = httpx.ASGITransport(app=create_app(runtime, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await office_login(runtime, client, Role.ADMIN)
        got = await client.get(address)
        assert got.status_code == 200, got.text
        return got.content


@pytest.mark.parametrize("format_name", ["beancount", "csv"])
async def test_the_office_export_is_the_clis_file_and_outlives_a_restart(
    database_url: str, tmp_path: Path, format_name: str
) -> None:
    data_dir = tmp_path / "data"
    await book_january(database_url, data_dir)
    written = tmp_path / f"january.{format_name}"
    cli_export(database_url, data_dir, format_name, written)
    runtime = office_runtime(database_url, data_dir)
    try:
        address, content = await office_export(runtime, format_name)
    finally:
        await runtime.aclose()
    assert content == written.read_bytes()
    assert len(content) > 200
    restarted = office_runtime(database_url, data_dir)  # a new process: nothing in memory
    try:
        assert await download_after_restart(restarted, address) == content
    finally:
        await restarted.aclose()
