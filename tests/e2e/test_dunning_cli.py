"""``chargeledger dunning run|show`` and ``chargeledger outbox list`` as finance runs them
(issue 13): the notices due on a day are sent once however often the run goes, a day after
today is refused with its code, and every notice waits in the outbox."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url, open_runtime
from tests.integration.test_dunning import overdue_world

__all__ = ["database_url"]  # the fixture this module's tests use


def chargeledger(url: str, data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return chargeledger_on(
        url, data_dir, *arguments, CHARGELEDGER_OPERATOR_TIME_ZONE="Europe/Berlin"
    )


async def test_a_dunning_run_sends_each_level_once(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runtime = open_runtime(database_url, data_dir)
    try:
        await runtime.migrate()
        _, anna, fleet = await overdue_world(runtime)
    finally:
        await runtime.aclose()

    first = chargeledger(database_url, data_dir, "dunning", "run", "--date", "2026-02-23")
    assert first.returncode == 0, first.stderr
    assert "2026-02-23: 2 overdue, 2 notices, 0 disputed" in first.stdout, first.stdout
    again = chargeledger(database_url, data_dir, "dunning", "run", "--date", "2026-02-23")
    assert "2 overdue, 0 notices" in again.stdout, again.stdout

    shown = chargeledger(database_url, data_dir, "dunning", "show", str(anna.number))
    assert shown.returncode == 0, shown.stderr
    assert "Payment reminder" in shown.stdout

    waive = ("dunning", "waive", str(fleet.number), "1", "--note", "goodwill")
    waived = chargeledger(database_url, data_dir, *waive)
    assert waived.returncode == 0, waived.stderr
    assert "level 1 claim waived (40.02 EUR)" in waived.stdout, waived.stdout
    twice = chargeledger(database_url, data_dir, *waive)
    assert twice.returncode == 1
    assert "[claim_already_waived]" in twice.stderr

    future = chargeledger(database_url, data_dir, "dunning", "run", "--date", "2999-01-01")
    assert future.returncode == 1
    assert "[dunning_date_in_future]" in future.stderr

    # Without SMTP nor webhooks nothing is delivered; the announcements wait in the outbox.
    delivered = chargeledger(database_url, data_dir, "outbox", "deliver")
    assert delivered.returncode == 0, delivered.stderr
    assert "0 deliveries made, 0 delivered" in delivered.stdout
