"""The installed ``chargeledger`` command, run as a user would: real processes, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHARGELEDGER = str(Path(sys.executable).with_name("chargeledger"))


def run_cli(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
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
        timeout=120,
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


def test_demo_seeds_the_operator_and_prints_its_summary(tmp_path: Path) -> None:
    output = tmp_path / "demo-output"
    result = run_cli("demo", "--output-dir", str(output), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {
        line.strip("│ ").split("│")[0].strip(): line.strip("│ ").split("│")[-1].strip()
        for line in result.stdout.splitlines()
        if line.count("│") >= 3
    }
    assert lines["stations"] == "20"
    assert lines["EVSEs"] == "40"
    assert lines["connectors"] == "40"
    assert lines["accounts"] == "50"
    assert "Europe/Lisbon" in result.stdout
    assert "Europe/Berlin" in result.stdout
    assert (output / "chargeledger.sqlite3").exists()
    # The demo database is a normal database: the CLI reads it back.
    stations = run_cli("stations", "list", data_dir=output)
    assert stations.stdout.count("-CLG-") == 20
