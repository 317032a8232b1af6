"""The installed ``chargeledger`` command, run as a user would: real processes, real files."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import facturx
import openpyxl  # type: ignore[import-untyped]
import pytest

from chargeledger.adapters.documents import check_en16931
from tests.e2e.demo_dispute_checks import check_audit, check_disputes

CHARGELEDGER = str(Path(sys.executable).with_name("chargeledger"))


def run_cli(
    *args: str, data_dir: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the installed command line; ``timeout`` is a safety bound against a hang, never a
    schedule (a busy machine makes a command slower, not wrong)."""
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(data_dir),
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
        **env,
    }
    environment.pop("CHARGELEDGER_DATABASE_URL", None)
    return subprocess.run(
        [CHARGELEDGER, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    first = run_cli("migrate", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "migrated from empty" in first.stdout
    second = run_cli("migrate", data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already at revision" in second.stdout


def test_users_create_refuses_a_weak_password(tmp_path: Path) -> None:
    weak = run_cli(
        "users",
        "create",
        "--email",
        "root@example.com",
        "--role",
        "admin",
        data_dir=tmp_path,
        CHARGELEDGER_NEW_USER_PASSWORD="short",
    )
    assert weak.returncode == 1
    assert "[weak_password]" in weak.stderr
    good = run_cli(
        "users",
        "create",
        "--email",
        "root@example.com",
        "--role",
        "admin",
        data_dir=tmp_path,
        CHARGELEDGER_NEW_USER_PASSWORD="a long enough password",
    )
    assert good.returncode == 0, good.stderr
    listed = run_cli("users", "list", data_dir=tmp_path)
    assert "root@example.com" in listed.stdout
    assert "admin" in listed.stdout


def test_bad_catalog_input_exits_non_zero_and_stores_nothing(tmp_path: Path) -> None:
    site = [
        "sites",
        "add",
        "--name",
        "Depot",
        "--street",
        "Main St 1",
        "--postal-code",
        "10115",
        "--city",
        "Berlin",
        "--country",
        "DE",
        "--latitude",
        "52.5",
        "--longitude",
        "13.4",
    ]
    bad = run_cli(*site, "--time-zone", "Mars/Olympus_Mons", data_dir=tmp_path)
    assert bad.returncode == 1
    assert "[unknown_time_zone]" in bad.stderr
    assert "Depot" not in run_cli("sites", "list", data_dir=tmp_path).stdout

    good = run_cli(*site, "--time-zone", "Europe/Berlin", data_dir=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "Depot" in run_cli("sites", "list", data_dir=tmp_path).stdout


@pytest.mark.parametrize(
    ("vat_id", "currency", "code"),
    [("DE123456789", "EUR", "invalid_vat_id"), ("DE136695976", "EUX", "unknown_currency")],
)
def test_accounts_add_reports_the_stable_code(
    tmp_path: Path, vat_id: str, currency: str, code: str
) -> None:
    result = run_cli(
        "accounts",
        "add",
        "--kind",
        "business",
        "--name",
        "Fleet GmbH",
        "--email",
        "fleet@example.com",
        "--street",
        "Ring 2",
        "--postal-code",
        "80331",
        "--city",
        "München",
        "--country",
        "DE",
        "--vat-id",
        vat_id,
        "--currency",
        currency,
        data_dir=tmp_path,
    )
    assert result.returncode == 1
    assert f"[{code}]" in result.stderr
    assert "Fleet GmbH" not in run_cli("accounts", "list", data_dir=tmp_path).stdout


def _table_rows(stdout: str) -> dict[str, str]:
    """First and last cell of every table row of the demo's output."""
    return {
        line.strip("│ ").split("│")[0].strip(): line.strip("│ ").split("│")[-1].strip()
        for line in stdout.splitlines()
        if line.count("│") >= 3
    }


def test_demo_runs_a_day_of_charging_and_matches_the_truth(tmp_path: Path) -> None:
    """The demo end to end: seeded operator, real server, simulator over real OCPP websockets
    (with faults), captured energy equal to the simulator's truth, every data fault held."""
    output = tmp_path / "demo-output"
    # The simulated day takes as long as the server needs (issue 11 item 21): a generous
    # bound only catches a hang.
    result = run_cli("demo", "--output-dir", str(output), data_dir=tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr
    rows = _table_rows(result.stdout)
    assert rows["stations"] == "20"
    assert rows["EVSEs"] == "40"
    assert rows["connectors"] == "40"
    assert rows["accounts"] == "50"
    assert "Europe/Lisbon" in result.stdout
    assert "Europe/Berlin" in result.stdout
    assert "http://127.0.0.1:8000/office" in result.stdout  # the back office, with its logins
    assert "http://127.0.0.1:8000/app" in result.stdout  # the driver app, with its login

    ran = int(rows["sessions the stations ran"])
    assert ran > 50
    assert rows["refused by the server"] == "0"
    assert rows["captured"] == str(ran)
    assert rows["not captured"] == "0"
    assert rows["still open"] == "0"
    assert rows["billable sessions"] == rows["equal to the truth to the Wh"]
    assert rows["difference (Wh)"] in ("0", "0.000")
    for reason in (
        "zero_start_lifetime_stop",
        "non_monotonic_register",
        "negative_energy",
        "energy_above_max_power",
        "no_stop_received",
        "signed_energy_mismatch",  # a signed record edited after signing (issue 15)
    ):
        injected, caught = _reason_row(result.stdout, reason)
        assert injected > 0
        assert caught == injected, reason

    # Every completed session is priced from the tariff it started under (issue 4).
    assert Decimal(rows["total"]) > 0
    assert Decimal(rows["idle fee"]) > 0
    assert Decimal(rows["session fees"]) > 0
    priced = dict(
        part.rsplit(" ", 1)
        for part in result.stdout.split("sessions per tariff: ")[1].splitlines()[0].split(", ")
    )
    assert {"TOU-DE", "FLAT-049", "DC-IDLE"} <= set(priced)
    assert any(name.startswith("DYN-") for name in priced)
    assert sum(int(n) for n in priced.values()) == int(rows["completed"])

    assert (output / "chargeledger.sqlite3").exists()
    stations = run_cli("stations", "list", data_dir=output)
    assert stations.stdout.count("-CLG-") == 20
    quarantined = run_cli("sessions", "list", "--status", "quarantined", data_dir=output)
    assert quarantined.returncode == 0, quarantined.stderr
    assert "no_stop_received" in quarantined.stdout
    _check_month_end(rows, output)
    _check_contracts(rows, output)
    _check_bank_days(rows, output)
    _check_weeks_after(rows, output)
    _check_payments(result.stdout, output)
    _check_wallets(result.stdout, output)
    _check_no_card_data(output, result.stdout + result.stderr)
    check_disputes(output)
    check_audit(output, run_cli)


def _check_month_end(rows: dict[str, str], output: Path) -> None:
    """Issue 5: every completed session charged, an invoice per postpaid account, a second
    run that changes nothing, every e-invoice valid EN 16931 CII, a Beancount ledger that
    bean-check accepts, and a trial balance of zero."""
    assert rows["sessions that could not be priced"] == "0"
    assert int(rows["sessions charged (priced and booked)"]) == int(rows["completed"])
    invoices = int(rows["invoices issued (gross EUR)"].split()[0])
    notes = int(rows["credit notes issued (gross EUR)"].split()[0])
    assert invoices > 10
    # The goodwill note, the one that goes with the demo's refund, and the refunded dispute's.
    assert notes == 3
    assert rows["new documents from a second run of the same month"] == "0"
    assert rows["ledger check"] == "clean"
    assert rows["trial balance EUR"] == "0.00"
    documents = sorted((output / "invoices").glob("*.xml"))
    receipts = int(rows["receipts issued (gross EUR)"].split()[0])
    self_billed = int(rows["self-billed invoices issued (gross EUR)"].split()[0])
    assert self_billed == 1  # the site host's revenue share (issue 14)
    assert len(documents) == invoices + notes + receipts + self_billed
    for xml in documents:
        check_en16931(xml.read_bytes())  # raises on any schema or EN 16931 rule error
        assert (
            facturx.get_facturx_xml_from_pdf(xml.with_suffix(".pdf").read_bytes(), check_xsd=False)[
                1
            ]
            == xml.read_bytes()
        )
    bean_check = Path(sys.executable).with_name("bean-check")
    checked = subprocess.run(
        [str(bean_check), str(output / "ledger.beancount")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ledger = run_cli("ledger", "check", data_dir=output)
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr


def _check_contracts(rows: dict[str, str], output: Path) -> None:
    """Issue 14: the fleet's invoice carries its tier adjustment, card fees and the shortfall
    of the commitment it missed (and its order and contract references); the site host got a
    self-billed invoice (type 389); the car maker's allowance was sold and drawn."""
    contracts = {
        key[-3:]: value for key, value in rows.items() if re.fullmatch(r"K-\d{4}-\d{3}", key)
    }
    fleet, host, bundle = contracts["001"], contracts["002"], contracts["003"]
    assert "Volume tiers (marginal) -" in fleet, fleet
    assert "Fleet card" in fleet, fleet
    assert "Minimum commitment 1500.00 EUR" in fleet, fleet
    assert host.startswith("self-billed SB-"), host
    assert bundle.startswith("allowance sold on INV-"), bundle
    assert "kWh drawn" in bundle, bundle
    invoice = fleet.split(":")[0]
    xml = (output / "invoices" / f"{invoice}.xml").read_text()
    assert "<ram:IssuerAssignedID>PO-2026-118</ram:IssuerAssignedID>" in xml  # BT-13
    assert "<ram:ID>FLEET-OPS</ram:ID>" in xml  # BT-133
    self_billed = host.split()[1].rstrip(":")
    assert (
        "<ram:TypeCode>389</ram:TypeCode>"
        in (output / "invoices" / f"{self_billed}.xml").read_text()
    )


def _check_bank_days(rows: dict[str, str], output: Path) -> None:
    """Issue 13: the demo's bank writes two camt.053 statements (valid against the official
    schema, or the import would refuse them); importing them pays most invoices, one in part,
    reopens the returned one, leaves an unknown payer unmatched and confirms the payout."""
    files = sorted((output / "bank").glob("camt053-*.xml"))
    assert len(files) == 2
    first, second = (rows[f.name] for f in files)
    assert "unmatched 1" in first, first
    assert "returned 1" in second, second
    assert "reference" in rows[f"{files[0].stem}: matched by"]
    assert "payout 1" in rows[f"{files[0].stem}: matched by"]
    payouts = [value for key, value in rows.items() if key.startswith("payout po_")]
    assert len(payouts) == 1, rows
    assert payouts[0].endswith("items, reconciled"), payouts  # each item and the bank line
    assert rows["invoices partially_paid"] == "1"
    assert int(rows["invoices paid"]) > 5
    assert int(rows["invoices open"]) >= 3  # two never paid, one returned
    assert Decimal(rows["still to collect (EUR)"].replace(",", "")) > 0
    workbooks = sorted((output / "reports").glob("*.xlsx"))
    assert [w.name.split("-")[0] for w in workbooks] == ["aging", "revenue"]
    aging = openpyxl.load_workbook(workbooks[0]).active
    assert aging is not None
    assert aging.max_row > 3  # a row per account that owes something, and the totals


def _check_weeks_after(rows: dict[str, str], output: Path) -> None:
    """Issue 13: what stays unpaid is dunned at three levels, each notice a PDF, and the
    final one blocks the account's tokens at Authorize; the month goes out as a DATEV batch."""
    runs = [value for key, value in rows.items() if key.startswith("dunning run ")]
    assert len(runs) == 3, rows
    notices = [int(run.split(", ")[1].split()[0]) for run in runs]
    assert all(n >= 3 for n in notices), runs  # two never paid, one in part, one returned
    pdfs = sorted((output / "dunning").glob("*-reminder-*.pdf"))
    assert len(pdfs) == sum(notices)
    assert all(pdf.read_bytes().startswith(b"%PDF-") for pdf in pdfs)
    answers = [value for key, value in rows.items() if key.startswith("Authorize ")]
    assert "Blocked" in answers, answers
    batches = sorted((output / "datev").glob("EXTF_Buchungsstapel-*.csv"))
    assert len(batches) == 1
    lines = batches[0].read_bytes().decode("cp1252").splitlines()
    header = lines[0].split(";")
    assert header[:5] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13"]
    assert header[10:12] == ["1001", "1"]  # the demo's consultant and client
    bookings = list(csv.reader(lines[2:], delimiter=";"))
    assert len(bookings) > 50
    assert all(b[6] and b[7] and b[1] in ("S", "H") for b in bookings)  # Konto, Gegenkonto
    assert any(b[10].startswith("INV-") for b in bookings)  # Belegfeld 1: invoice numbers


def _reason_row(stdout: str, reason: str) -> tuple[int, int]:
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells[0] == reason:
            return int(cells[1]), int(cells[2])
    raise AssertionError(f"no row for {reason}")


def _check_payments(stdout: str, output: Path) -> None:
    """Issue 6: the demo's sessions use every way of paying; nothing is left in doubt."""
    with sqlite3.connect(output / "chargeledger.sqlite3") as db:
        by_method = dict(
            db.execute("SELECT method, count(*) FROM payments GROUP BY method").fetchall()
        )
        captured = {
            row[0]
            for row in db.execute(
                "SELECT DISTINCT p.method FROM payments p JOIN payment_events e "
                "ON e.payment_id = p.id WHERE e.kind = 'captured'"
            )
        }
        unknown = db.execute(
            "SELECT count(*) FROM payment_events WHERE kind = 'unknown'"
        ).fetchone()[0]
        top_ups = db.execute("SELECT count(*) FROM payments WHERE purpose = 'top_up'").fetchone()[0]
        kinds = {row[0] for row in db.execute("SELECT DISTINCT kind FROM journal_entries")}
    assert {"app", "card", "wallet"} <= set(by_method)
    assert {"app", "card", "wallet"} <= captured
    assert unknown == 0
    assert top_ups >= 8
    assert {"capture", "wallet_top_up", "wallet_debit", "refund", "payout"} <= kinds
    assert "Payments by method and state" in stdout
    assert "Prepaid wallets" in stdout
    assert stdout.count("QR checkout") == 4  # three started, one declined card


def _wallet_rows(stdout: str) -> dict[str, dict[str, str]]:
    """The rows of the demo's "Prepaid wallets" table, by account, cell by column."""
    lines = stdout.split("Prepaid wallets", 1)[1].splitlines()
    header = next(line for line in lines if "account" in line and "┃" in line)
    columns = [cell.strip() for cell in header.strip("┃ ").split("┃")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[lines.index(header) + 1 :]:
        if line.startswith("└"):
            break
        if "│" in line:
            cells = [cell.strip().replace(",", "") for cell in line.strip("│ ").split("│")]
            rows[cells[0]] = dict(zip(columns, cells, strict=True))
    return rows


def _check_wallets(stdout: str, output: Path) -> None:
    """Issue 11: no wallet ends below its minimum beyond the bound of live credit control:
    one meter interval's cost, plus what stations delivered after the meter value that called
    for their stop (the simulated day runs far faster than a busy server answers, so a stop
    often reaches a station after the session is over). Balances and minimums are read back
    from the database (the ledger's wallet accounts, the operator's default floor of 5.00)."""
    rows = _wallet_rows(stdout)
    with sqlite3.connect(output / "chargeledger.sqlite3") as db:
        wallets = db.execute(
            "SELECT a.name, w.minimum_balance, w.floor, "
            "(SELECT -coalesce(sum(p.amount_minor), 0) FROM postings p "
            " WHERE p.account = 'Liabilities:Wallets:C' || upper(a.id)) "
            "FROM accounts a JOIN wallet_settings w ON w.account_id = a.id "
            "WHERE a.billing_mode = 'prepaid'"
        ).fetchall()
    assert len(wallets) >= 5
    assert sorted(rows) == sorted(name for name, *_ in wallets)
    for name, own, floor, balance_minor in wallets:
        row = rows[name]
        balance = Decimal(balance_minor) / 100
        minimum = max(Decimal(floor or "5.00"), Decimal(own or 0))
        assert (Decimal(row["balance"]), Decimal(row["minimum"])) == (balance, minimum)
        below = max(minimum - balance, Decimal(0))
        assert Decimal(row["below"]) == below
        assert below <= Decimal(row["interval"]) + Decimal(row["after stop"]), row
    assert "one interval + after stop: every wallet" in stdout


# A card number: 13-19 digits, not part of a longer hex run (ids), passing the Luhn check.
_PAN = re.compile(r"(?<![0-9A-Fa-f])\d{13,19}(?![0-9A-Fa-f])")


def _card_numbers(text: str) -> list[str]:
    """The digit runs of `text` that could be card numbers: they pass the Luhn check and are not
    a timestamp such as DATEV's "erzeugt am" (YYYYMMDDHHMMSSfff), one in ten of which passes
    Luhn by chance. No card scheme issues numbers starting with "20" (ISO/IEC 7812 IINs)."""
    return [m for m in _PAN.findall(text) if _luhn(m) and not _is_timestamp(m)]


def _is_timestamp(digits: str) -> bool:
    try:
        datetime.strptime(digits[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return digits.startswith("20")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _check_no_card_data(output: Path, logs: str) -> None:
    """DESIGN §2: no card number or CVC is stored or logged. Every text and blob cell of the
    demo's database, and everything the demo printed, is scanned."""
    found: list[str] = []
    with sqlite3.connect(output / "chargeledger.sqlite3") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            assert not any("cvc" in c.lower() or c.lower() == "pan" for c in columns), table
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    text = cell.decode("utf-8", "replace") if isinstance(cell, bytes) else cell
                    if isinstance(text, str) and _card_numbers(text):
                        found.append(f"{table}: {text[:80]}")
    for path in output.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".beancount", ".csv"):
            text = path.read_text(errors="replace")
            found += [f"{path.name}: {m}" for m in _card_numbers(text)]
    found += [f"output: {m}" for m in _card_numbers(logs)]
    assert not found, found
    assert '"cvc"' not in logs


def test_tariffs_assign_refuses_vat_that_is_not_due_at_the_site(tmp_path: Path) -> None:
    """Issue 11 item 8 on the command line: a GBP tariff stating 20 % VAT cannot apply at a
    German site (19 %): ``error [tariff_vat_mismatch]``, exit 1; the same prices stating 19 %
    can."""
    site = run_cli(
        *("sites", "add", "--name", "Depot", "--street", "Main St 1", "--postal-code", "10115"),
        *("--city", "Berlin", "--country", "DE", "--latitude", "52.5", "--longitude", "13.4"),
        *("--time-zone", "Europe/Berlin"),
        data_dir=tmp_path,
    )
    assert site.returncode == 0, site.stderr
    site_id = re.findall(r"\(([0-9a-f-]{36})\)", site.stdout)
    assert len(site_id) == 1, site.stdout
    imported = {}
    for vat in (20, 19):
        component = {"type": "ENERGY", "price": 0.45, "vat": vat, "step_size": 1}
        path = tmp_path / f"gbp-{vat}.json"
        path.write_text(
            json.dumps(
                {
                    "id": f"GBP-{vat}",
                    "currency": "GBP",
                    "elements": [{"price_components": [component]}],
                }
            )
        )
        done = run_cli("tariffs", "import", str(path), data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        imported[vat] = done.stdout.split()[-1]
    refused = run_cli(
        *("tariffs", "assign", imported[20], "--scope", "site", "--scope-id", site_id[0]),
        data_dir=tmp_path,
    )
    assert refused.returncode == 1
    assert "[tariff_vat_mismatch]" in refused.stderr
    accepted = run_cli(
        *("tariffs", "assign", imported[19], "--scope", "site", "--scope-id", site_id[0]),
        data_dir=tmp_path,
    )
    assert accepted.returncode == 0, accepted.stderr
