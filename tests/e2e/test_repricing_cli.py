"""``chargeledger sessions reprice`` and ``sessions repricings`` (issue 15), the installed
command on a SQLite file: a postpaid session charged 47.06 is re-priced to the 60 kWh its meter
showed (35.40, 11.66 less on its next invoice); the same request again is nothing to re-price
(exit 1 with the code); the list shows the one re-pricing. Amounts: ``repricing_world``."""

from __future__ import annotations

import uuid
from pathlib import Path

from chargeledger.bootstrap import build_runtime
from chargeledger.config import Settings, sqlite_url
from tests.conftest import fast_hasher
from tests.e2e.cli_runner import chargeledger_on
from tests.integration.repricing_world import repricing_world


async def charged_session(url: str, data_dir: Path) -> uuid.UUID:
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(data_dir), "CHARGELEDGER_DATABASE_URL": url}
    )
    runtime = build_runtime(settings, hasher=fast_hasher())
    try:
        await runtime.migrate()
        world = await repricing_world(runtime)
        return (await world.charged_session()).id
    finally:
        await runtime.aclose()


async def test_reprice_from_the_command_line(tmp_path: Path) -> None:
    url, data_dir = sqlite_url(tmp_path / "chargeledger.sqlite3"), tmp_path / "data"
    session_id = await charged_session(url, data_dir)
    asked = ("--meter-stop", "60000", "--reason", "display showed 60 kWh")

    done = chargeledger_on(url, data_dir, "sessions", "reprice", str(session_id), *asked)
    again = chargeledger_on(url, data_dir, "sessions", "reprice", str(session_id), *asked)
    listed = chargeledger_on(url, data_dir, "sessions", "repricings", str(session_id))

    assert done.returncode == 0, done.stderr
    assert "80 kWh (0 → 80000 Wh), 47.06 EUR → 60 kWh (0 → 60000 Wh), 35.40 EUR" in done.stdout
    assert "next invoice, 11.66 EUR less" in done.stdout
    assert again.returncode == 1
    assert "[nothing_to_reprice]" in again.stderr
    assert listed.returncode == 0, listed.stderr
    assert "display showed 60 kWh" in listed.stdout
    assert listed.stdout.count("next invoice") == 1
