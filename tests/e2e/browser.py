"""What the browser tests share: Debian's Chromium driven by Playwright, offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# No outside network here: keep Chromium from calling home (connection storms otherwise).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000

# Where the browser tests save the pages they show: ``docs/screenshots`` (the README's
# pictures) when ``make screenshots`` runs them with CHARGELEDGER_SCREENSHOTS set to it; a
# scratch directory otherwise, so that a test run leaves the working tree as it was.
SCREENSHOTS = Path(
    os.environ.get("CHARGELEDGER_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "chargeledger-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
