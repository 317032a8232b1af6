"""``chargeledger audit seal | close-day | verify`` as an operator runs them (issue 15), on a
SQLite file and a PostgreSQL database: the installed command, its output and exit codes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import update

from chargeledger.adapters.db.billing_tables import postings
from chargeledger.domain.audit import RecordType
from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url, open_runtime
from tests.integration.audit_world import audit_world, chain_rows, tamper

__all__ = ["database_url"]  # the fixture: a database of its own per back end


async def run(url: str, data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(chargeledger_on, url, data_dir, *arguments)


async def test_seal_close_and_verify_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    runtime = open_runtime(database_url, data_dir)
    try:
        await runtime.migrate()
        await audit_world(runtime)
    finally:
        await runtime.aclose()

    sealed = await run(database_url, data_dir, "audit", "seal")
    assert sealed.returncode == 0, sealed.stderr
    assert "records chained" in sealed.stdout
    closed = await run(database_url, data_dir, "audit", "close-day")  # yesterday, UTC
    assert closed.returncode == 0, closed.stderr
    assert "closed: 0 entries" in closed.stdout  # everything was sealed today
    assert len(list((data_dir / "audit/checkpoints").glob("*.json"))) == 1
    too_soon = await run(database_url, data_dir, "audit", "close-day", "--day", "2999-01-01")
    assert too_soon.returncode == 1
    assert "day_not_over" in too_soon.stderr

    clean = await run(database_url, data_dir, "audit", "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "every record, link and checkpoint holds" in clean.stdout
    report = json.loads((await run(database_url, data_dir, "audit", "verify", "--json")).stdout)
    assert report["ok"] is True
    assert report["records"] == report["entries"] > 0
    assert report["rechecked"] == 0

    runtime = open_runtime(database_url, data_dir)
    try:
        row = (await chain_rows(runtime, RecordType.JOURNAL_ENTRY))[2]
        entry_id = uuid.UUID(row["record_id"])
        await tamper(
            runtime,
            update(postings)
            .where(postings.c.entry_id == entry_id)
            .values(amount_minor=postings.c.amount_minor * 2),
        )
    finally:
        await runtime.aclose()
    caught = await run(database_url, data_dir, "audit", "verify")
    assert caught.returncode == 1
    said = " ".join(caught.stdout.split())
    assert f"changed: journal_entry {entry_id} at #{row['seq']}" in said, caught.stdout
    as_json = await run(database_url, data_dir, "audit", "verify", "--json")
    assert as_json.returncode == 1
    first = json.loads(as_json.stdout)["first"]
    assert (first["kind"], first["record_id"], first["seq"]) == (
        "changed",
        str(entry_id),
        row["seq"],
    )
    ledger_check = await run(database_url, data_dir, "ledger", "check")
    assert ledger_check.returncode == 0, ledger_check.stdout  # both legs: still balanced
