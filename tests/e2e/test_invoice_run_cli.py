"""Two ``chargeledger invoice run`` processes at once on one database, SQLite file and
PostgreSQL (issue 11 item 12): both exit 0, one bills the month, the other waits for it and
reports everything as already invoiced; no document twice, numbers without gaps.

Before, the second process on PostgreSQL hit the charges' unique key and ended with
``error [duplicate]`` and exit 1. The processes are real ones of the installed command; when
they happen not to overlap, the second still has to find everything done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chargeledger.adapters.db.engine import create_engine
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings, sqlite_url
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.services.billing import ledger
from tests.conftest import POSTGRES_URL_VARIABLE, fast_hasher
from tests.integration.billing_api import OPERATOR, uncharged_session
from tests.integration.billing_world import OPERATOR_TZ, all_documents, utc
from tests.integration.test_numbering import fleet_world

CHARGELEDGER = str(Path(sys.executable).with_name("chargeledger"))
ACCOUNTS, AD_HOC, UNCHARGED = 30, 2, 6


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own: a SQLite file, or a new PostgreSQL database (the command takes
    no schema)."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "chargeledger.sqlite3")
        return
    server = os.environ[POSTGRES_URL_VARIABLE]
    name = f"cli_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server)
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await engine.dispose()


def open_runtime(url: str, data_dir: Path) -> Runtime:
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(data_dir), "CHARGELEDGER_DATABASE_URL": url}
    )
    return build_runtime(settings, hasher=fast_hasher())


async def january(url: str, data_dir: Path) -> None:
    """``ACCOUNTS`` postpaid accounts with a January charge each, ``AD_HOC`` ad hoc charges
    and ``UNCHARGED`` completed ad hoc sessions still to be charged."""
    runtime = open_runtime(url, data_dir)
    try:
        await runtime.migrate()
        world = await fleet_world(runtime, ACCOUNTS, ad_hoc=AD_HOC)
        for i in range(UNCHARGED):
            started = utc("2026-01-20T10:00") + timedelta(hours=i)
            await uncharged_session(runtime, world.de, started)
    finally:
        await runtime.aclose()


def start_run(url: str, data_dir: Path) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(data_dir),
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "CHARGELEDGER_OPERATOR_TIME_ZONE": OPERATOR_TZ,
        "COLUMNS": "200",
        **{f"CHARGELEDGER_OPERATOR_{k.upper()}": v for k, v in OPERATOR.items()},
    }
    return subprocess.Popen(
        [CHARGELEDGER, "invoice", "run", "--period", "2026-01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


async def test_two_invoice_run_processes_at_once(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await january(database_url, data_dir)

    processes = [start_run(database_url, data_dir) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    said = sorted(" ".join(out.split()) for out, _ in outputs)
    billed = f"{ACCOUNTS} invoices issued, 0 drafts, {AD_HOC} receipts, 0 already invoiced"
    waited = f"0 invoices issued, 0 drafts, 0 receipts, {ACCOUNTS} already invoiced"
    assert billed in said[1], said
    assert waited in said[0], said

    runtime = open_runtime(database_url, data_dir)
    try:
        documents = await all_documents(runtime)
        async with runtime.uow() as uow:
            series = await uow.billing.series()
            assert await uow.billing.sessions_to_charge(limit=100) == []
            assert await ledger.check_ledger(uow) == []
    finally:
        await runtime.aclose()
    for kind, count in (
        (DocumentKind.INVOICE, ACCOUNTS),
        (DocumentKind.RECEIPT, AD_HOC + UNCHARGED),
    ):
        found = sorted(d.number or "" for d in documents if d.kind is kind)
        prefix = found[0].rsplit("-", 1)[0]  # the series of the year the runs issued in
        assert found == [f"{prefix}-{n:06d}" for n in range(1, count + 1)], found
        assert series[prefix] == count
