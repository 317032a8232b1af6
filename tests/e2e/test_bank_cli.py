"""``chargeledger bank import|entries`` as an operator's finance clerk runs them (issue 13): a
camt.053 file imported twice books once; a damaged file is refused with its code."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from chargeledger.adapters.bank.camt053_writer import camt053_document
from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url, open_runtime
from tests.integration.test_bank_reconciliation import first_statement, world_with_invoices

__all__ = ["database_url"]  # the fixture this module's tests use


def bank(url: str, data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return chargeledger_on(url, data_dir, "bank", *arguments)


async def test_a_statement_imported_twice_books_once(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runtime = open_runtime(database_url, data_dir)
    try:
        await runtime.migrate()
        _, invoices = await world_with_invoices(runtime)
    finally:
        await runtime.aclose()
    statement = tmp_path / "camt053.xml"
    statement.write_bytes(
        camt053_document(
            [first_statement(invoices)],
            message_id="MSG-1",
            created_at=datetime(2026, 2, 3, 18, tzinfo=UTC),
            version="02",
        )
    )

    first = bank(database_url, data_dir, "import", str(statement))
    assert first.returncode == 0, first.stderr
    said = " ".join(first.stdout.split())
    assert "7 entries new, 0 already imported; 4 matched, 2 unmatched" in said, said
    again = bank(database_url, data_dir, "import", str(statement))
    assert "0 entries new, 7 already imported" in " ".join(again.stdout.split()), again.stdout

    queue = bank(database_url, data_dir, "entries", "--state", "unmatched")
    assert queue.returncode == 0, queue.stderr
    assert "Somebody Else" in queue.stdout
    assert "amount_and_name" in queue.stdout

    damaged = tmp_path / "damaged.xml"
    damaged.write_bytes(statement.read_bytes().replace(b"<Ntry>", b"<Entry>", 1))
    refused = bank(database_url, data_dir, "import", str(damaged))
    assert refused.returncode == 1
    assert "[invalid_statement]" in refused.stderr
