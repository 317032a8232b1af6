"""``chargeledger payouts list|show`` as finance runs them (issue 13): a booked payout with an
item our books do not know shows its differences; an unknown payout is refused with its code."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from chargeledger.domain.payout_reconciliation import ItemKind, PayoutItem
from chargeledger.money import Money
from chargeledger.services.payments.gateway import Payout
from chargeledger.services.payments.webhooks import book_payout
from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url, open_runtime

__all__ = ["database_url"]  # the fixture this module's tests use


def payouts(url: str, data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return chargeledger_on(url, data_dir, "payouts", *arguments)


async def test_payouts_are_listed_and_shown_with_their_differences(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    runtime = open_runtime(database_url, data_dir)
    stray = PayoutItem(
        "txn_stray", ItemKind.CAPTURE, Money.of("20.00", "EUR"), Money.of("0.53", "EUR"), "pi_x"
    )
    payout = Payout(
        "po_cli", Money.of("20.00", "EUR"), Money.of("0.53", "EUR"), date(2026, 2, 3), (stray,)
    )
    try:
        await runtime.migrate()
        async with runtime.uow() as uow:
            assert await book_payout(uow, runtime.payments, "sandbox", payout)
            await uow.commit()
    finally:
        await runtime.aclose()

    listed = payouts(database_url, data_dir, "list")
    assert listed.returncode == 0, listed.stderr
    assert "po_cli" in listed.stdout
    assert "19.47 EUR" in listed.stdout
    assert "differences" in listed.stdout
    shown = payouts(database_url, data_dir, "show", "po_cli")
    assert shown.returncode == 0, shown.stderr
    said = " ".join(shown.stdout.split())
    assert "txn_stray" in said
    assert "unknown_to_us" in said
    assert "bank line: not seen yet" in said
    assert "capture txn_stray (pi_x): 20.00 EUR unknown to our books" in said
    missing = payouts(database_url, data_dir, "show", "po_nothing")
    assert missing.returncode == 1
    assert "[payout_not_found]" in missing.stderr
