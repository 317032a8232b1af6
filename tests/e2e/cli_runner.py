"""The installed command line run against a test database, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHARGELEDGER = str(Path(sys.executable).with_name("chargeledger"))


def chargeledger_on(
    url: str, data_dir: Path, *arguments: str, columns: int = 200, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``chargeledger ARGUMENTS`` with the database ``url``; ``settings`` are more
    environment variables. The timeout only bounds a hang (a busy machine is slower)."""
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(data_dir),
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "COLUMNS": str(columns),
        **settings,
    }
    return subprocess.run(
        [CHARGELEDGER, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
