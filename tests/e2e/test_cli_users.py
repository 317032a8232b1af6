"""``chargeledger users update`` run as an operator would (a real process, a real SQLite file):
the last active admin can be neither deactivated nor demoted (issue 11 item 6)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHARGELEDGER = str(Path(sys.executable).with_name("chargeledger"))
PASSWORD = "a long enough password"


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(data_dir),
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "CHARGELEDGER_NEW_USER_PASSWORD": PASSWORD,
        "COLUMNS": "200",
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


def test_the_last_active_admin_stays(tmp_path: Path) -> None:
    root = "root@example.com"
    created = run_cli("users", "create", "--email", root, "--role", "admin", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    for change in (["--inactive"], ["--role", "finance"]):
        refused = run_cli("users", "update", root, *change, data_dir=tmp_path)
        assert refused.returncode == 1, refused.stdout
        assert "[last_active_admin]" in refused.stderr

    second = "deputy@example.com"
    created = run_cli("users", "create", "--email", second, "--role", "admin", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    done = run_cli(
        "users", "update", root, "--inactive", "--name", "Former root", data_dir=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert f"{root}: admin, inactive" in done.stdout
    refused = run_cli("users", "update", second, "--inactive", data_dir=tmp_path)
    assert "[last_active_admin]" in refused.stderr
    missing = run_cli("users", "update", "nobody@example.com", "--active", data_dir=tmp_path)
    assert (missing.returncode, "[user_not_found]" in missing.stderr) == (1, True)
    reset = run_cli("users", "update", root, "--active", "--new-password", data_dir=tmp_path)
    assert reset.returncode == 0, reset.stderr
