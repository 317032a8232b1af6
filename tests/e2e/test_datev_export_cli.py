"""``chargeledger export ledger --format datev --output F`` as an accountant runs it (issue 13):
the installed command, a real process, on SQLite and PostgreSQL with a month of booked
charges (19 %, reverse charge, Portuguese VAT), their invoices and receipts, a credit note, a
wallet top-up and a PSP payout with its fee.

The file must be a Buchungsstapel DATEV reads (Windows-1252, the header by position, 125
columns) whose bookings balance and, once DATEV has split the VAT off the gross revenue,
carry exactly the revenue and the VAT of the ledger's entries of the period.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from decimal import Decimal
from pathlib import Path

from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.ledger import JournalEntry
from chargeledger.domain.payment_postings import captured, paid_out
from chargeledger.domain.payments import Payment, PaymentMethodKind, PaymentPurpose
from chargeledger.money import Money
from chargeledger.services.billing import books
from tests.e2e.test_invoice_run_cli import CHARGELEDGER, database_url, open_runtime
from tests.integration.billing_world import (
    OPERATOR_TZ,
    all_documents,
    credit,
    day,
    run_month,
    standard_world,
    utc,
)
from tests.unit.exports.datev_books import movements, read

__all__ = ["database_url"]  # the fixture: a SQLite file or a PostgreSQL database of its own

# What the operator's tax advisor set up beside SKR03: Portuguese revenue and its VAT.
OVERRIDES = """
[accounts]
"Liabilities:VAT:PT" = 1779

[[revenue]]
country = "PT"
percent = 23
account = 8320
vat_account = 1779
"""
REVENUE_ACCOUNTS = {"8400", "8336", "8320"}
VAT_ACCOUNTS = {"1776", "1779"}


async def book_january(url: str, data_dir: Path) -> None:
    """billing_world's standard month invoiced on 2 February, Anna's first session credited,
    a top-up of the prepaid wallet and a payout of the PSP; Anna's customer number 10042."""
    runtime = open_runtime(url, data_dir)
    try:
        await runtime.migrate()
        world = await standard_world(runtime)
        anna = world.accounts["anna"]
        async with runtime.uow() as uow:
            await uow.accounts.update(dataclasses.replace(anna, reference="10042"))
            await uow.commit()
        await run_month(world, "2026-01")
        invoice = next(
            d
            for d in await all_documents(runtime)
            if d.account_id == anna.id and d.kind is DocumentKind.INVOICE
        )
        world.clock.current = utc("2026-02-05T09:00")
        await credit(world, invoice, positions=(1,))
        top_up = Payment(
            purpose=PaymentPurpose.TOP_UP,
            method=PaymentMethodKind.CARD,
            gateway="sandbox",
            currency="EUR",
            account_id=world.accounts["prepaid"].id,
        )
        payments: list[JournalEntry | None] = [
            captured(top_up, Decimal("20.00"), day("2026-02-06")),
            paid_out(
                "sandbox",
                "po_0001",
                Money.of("20.00", "EUR"),
                Money.of("0.53", "EUR"),
                day("2026-02-16"),
            ),
        ]
        async with runtime.uow() as uow:
            await uow.ledger.add([e for e in payments if e is not None], world.clock.now())
            await uow.commit()
    finally:
        await runtime.aclose()


def export_ledger(
    url: str, data_dir: Path, output: Path | None, **settings: str
) -> subprocess.CompletedProcess[bytes]:
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(data_dir),
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "CHARGELEDGER_OPERATOR_NAME": "Ladenetz Betrieb GmbH",
        "CHARGELEDGER_OPERATOR_TIME_ZONE": OPERATOR_TZ,
        "COLUMNS": "200",
        **{f"CHARGELEDGER_DATEV_{name.upper()}": value for name, value in settings.items()},
    }
    written = [] if output is None else ["--output", str(output)]
    return subprocess.run(
        [CHARGELEDGER, "export", "ledger", "--format", "datev", "--from", "2026-01-01",
         "--to", "2026-03-01", *written],
        capture_output=True,
        env=environment,
        timeout=600,  # a safety bound against a hang, never a schedule
        check=False,
    )  # fmt: skip


async def ledger_of_the_period(url: str, data_dir: Path) -> list[JournalEntry]:
    runtime = open_runtime(url, data_dir)
    try:
        async with runtime.uow() as uow:
            return await books.journal(uow, day("2026-01-01"), day("2026-03-01"))
    finally:
        await runtime.aclose()


async def test_export_ledger_as_a_datev_batch(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await book_january(database_url, data_dir)
    overrides = tmp_path / "datev.toml"
    overrides.write_text(OVERRIDES, encoding="utf-8")
    output = tmp_path / "EXTF_Buchungsstapel.csv"
    client = {"consultant": "29098", "client": "55003"}

    unmapped = export_ledger(database_url, data_dir, output, **client)
    assert unmapped.returncode == 1
    assert "[datev_unmapped_vat] no DATEV revenue account for S 23 % VAT in PT" in " ".join(
        unmapped.stderr.decode().split()
    )
    assert not output.exists()

    done = export_ledger(database_url, data_dir, output, **client, accounts_file=str(overrides))

    assert done.returncode == 0, done.stderr
    assert f"wrote the ledger (datev) to {output}" in " ".join(done.stdout.decode().split())
    written = output.read_bytes()
    batch = read(written.decode("cp1252"))
    header = batch.header
    assert header[:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"]
    assert len(header[5]) == 17
    assert header[5].isdigit()
    assert header[10:16] == ["29098", "55003", "20260101", "4", "20260101", "20260228"]
    assert (header[16], header[21], header[26]) == ("Ladenetz Betrieb GmbH", "EUR", "03")
    assert len(batch.columns) == 125
    assert {len(row) for row in batch.rows} == {125}

    moved = movements(batch, "SKR03")
    assert sum(moved.values()) == 0  # debits = credits, VAT included
    entries = await ledger_of_the_period(database_url, data_dir)
    postings = [p for entry in entries for p in entry.postings]
    revenue = sum((p.units.amount for p in postings if p.account.startswith("Income:")), Decimal(0))
    vat = sum(
        (p.units.amount for p in postings if p.account.startswith("Liabilities:VAT:")), Decimal(0)
    )
    assert sum(moved.get(a, Decimal(0)) for a in REVENUE_ACCOUNTS) == revenue
    assert sum(moved.get(a, Decimal(0)) for a in VAT_ACCOUNTS) == vat
    assert revenue < 0
    assert vat < 0

    documents = [
        batch.values(row, "Konto", "Belegfeld 1", "Soll/Haben-Kennzeichen") for row in batch.rows
    ]
    anna = [d for d in documents if d[0] == "10042"]
    assert any(number.startswith("INV-") and side == "S" for _, number, side in anna)
    assert any(number.startswith("CN-") and side == "H" for _, number, side in anna)
    assert any(number.startswith("RCT-") for _, number, _ in documents)
    columns = ("Umsatz (ohne Soll/Haben-Kz)", "Konto", "Gegenkonto (ohne BU-Schlüssel)")
    lines = {batch.values(row, *columns) for row in batch.rows}
    assert ("20,00", "1360", "1700") in lines  # the top-up
    assert {("19,47", "1200", "1360"), ("0,53", "4970", "1360")} <= lines  # the payout

    # Without --output the same bytes go to stdout (only the creation time differs).
    printed = export_ledger(database_url, data_dir, None, **client, accounts_file=str(overrides))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.split(b"\r\n")[1:] == written.split(b"\r\n")[1:]


async def test_without_consultant_and_client_the_command_refuses(
    database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "EXTF_Buchungsstapel.csv"
    done = export_ledger(database_url, tmp_path / "data", output)
    assert done.returncode == 1
    assert b"[datev_not_configured]" in done.stderr
    assert not output.exists()
