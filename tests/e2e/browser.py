"""What the browser tests share: Debian's Chromium driven by Playwright, offline."""

from __future__ import annotations

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
