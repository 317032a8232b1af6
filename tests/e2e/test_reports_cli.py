"""``chargeledger reports aging|revenue|collections`` as finance runs them (issue 13): a table on
the terminal, CSV on stdout, an XLSX workbook and JSON in files; a workbook without a file and
a period that is none are refused with their codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import openpyxl

from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url, open_runtime
from tests.integration.report_world import receivables_world

__all__ = ["database_url"]  # the fixture this module's tests use


def reports(url: str, data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return chargeledger_on(
        url,
        data_dir,
        "reports",
        *arguments,
        columns=250,
        CHARGELEDGER_OPERATOR_TIME_ZONE="Europe/Berlin",
    )


async def test_the_reports_as_a_table_csv_xlsx_and_json(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runtime = open_runtime(database_url, data_dir)
    try:
        await runtime.migrate()
        await receivables_world(runtime)
    finally:
        await runtime.aclose()

    table = reports(database_url, data_dir, "aging", "--as-of", "2026-02-20")
    assert table.returncode == 0, table.stderr
    assert "Receivables aging on 2026-02-20" in table.stdout
    [anna] = [line for line in table.stdout.splitlines() if "Anna Becker" in line]
    cells = [cell.strip() for cell in anna.split("│")]
    assert cells[5:11] == ["0.00", "11.90", "18.80", "10.71", "0.00", "41.41"], anna
    assert "53.31" in table.stdout

    as_csv = reports(database_url, data_dir, "aging", "--as-of", "2026-02-20", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0][:4] == ["account", "account_id", "currency", "invoices"]
    assert [row[0] for row in rows[1:]] == ["Anna Becker", "Dora Dietz", "total"]

    refused = reports(database_url, data_dir, "aging", "--format", "xlsx")
    assert refused.returncode == 1
    assert "[output_required]" in refused.stderr
    workbook = tmp_path / "aging.xlsx"  # the format follows the file's extension
    written = reports(database_url, data_dir, "aging", "--as-of", "2026-02-20", "-o", str(workbook))
    assert written.returncode == 0, written.stderr
    sheet = openpyxl.load_workbook(workbook)["aging"]
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == [
        "account",
        "Anna Becker",
        "Dora Dietz",
        "total",
    ]
    as_json = tmp_path / "aging.json"
    written = reports(
        database_url,
        data_dir,
        "aging",
        "--as-of",
        "2026-02-20",
        "--format",
        "json",
        "-o",
        str(as_json),
    )
    assert written.returncode == 0, written.stderr
    assert json.loads(as_json.read_text())["totals"][0]["net"] == "41.41"

    wrong = reports(database_url, data_dir, "aging", "--period", "soon")
    assert wrong.returncode == 1
    assert "[invalid_period]" in wrong.stderr

    # Revenue booked on the stops' dates: Anna's December session and Dora's, 30.00 net.
    revenue = reports(database_url, data_dir, "revenue", "--period", "2025-12", "--by", "account")
    assert revenue.returncode == 0, revenue.stderr
    assert "Revenue 2025-12" in revenue.stdout
    [dora] = [line for line in revenue.stdout.splitlines() if "Dora Dietz" in line]
    assert [cell.strip() for cell in dora.split("│")][-2:-1] == ["10.00"], dora
    by_month = reports(
        database_url,
        data_dir,
        "revenue",
        "--period",
        "2025-Q4",
        "--grain",
        "month",
        "--by",
        "",
        "--format",
        "csv",
    )
    assert by_month.returncode == 0, by_month.stderr
    rows = list(csv.reader(io.StringIO(by_month.stdout)))
    assert [(row[0], row[-1]) for row in rows[1:]] == [
        ("2025-11", "10.00"),
        ("2025-12", "30.00"),
        ("2025-Q4", "40.00"),
    ]
    top = reports(database_url, data_dir, "revenue", "--by", "account", "--top", "0")
    assert top.returncode == 2  # refused by the option's bound

    collected = reports(database_url, data_dir, "collections", "--period", "2026-02")
    assert collected.returncode == 0, collected.stderr
    assert "Collections 2026-02" in collected.stdout
    [returned] = [line for line in collected.stdout.splitlines() if "2026-02-05" in line]
    assert [cell.strip() for cell in returned.split("│")][-3:-1] == ["11.90", "-11.90"], returned

    waiting = reports(database_url, data_dir, "unbilled", "--format", "json")
    assert waiting.returncode == 0, waiting.stderr
    assert json.loads(waiting.stdout)["totals"] == []  # every charge is on an invoice
