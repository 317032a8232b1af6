"""The demo's tamper-evident books (issue 15): the day's records chained and checkpointed,
``audit verify`` clean, and then an attacker's edit in a copy of the database named by it.

The attacker is played with the standard library's ``sqlite3`` on a copy, as someone with
the database file and a SQL shell would: both legs of a chargeback's journal entry are
halved, so the entry still balances and ``ledger check`` stays clean — only the chain sees it.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.table import Table

from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.cli.common import console
from chargeledger.config import Settings
from chargeledger.domain.audit_verification import AuditReport
from chargeledger.services.audit.auditor import close_days, seal_all, verify
from chargeledger.services.billing.books import checked_ledger
from chargeledger.services.transactions import reading

DATABASE = "chargeledger.sqlite3"


@dataclass(frozen=True, slots=True)
class _AfterMidnight:
    """The clock of the night job that closes today: a minute into tomorrow (UTC)."""

    now_at: datetime

    def now(self) -> datetime:
        return self.now_at


@dataclass(slots=True)
class AuditDemo:
    sealed: int
    checkpoints: list[tuple[str, str, Path]]  # day, Merkle root, file
    clean: AuditReport
    edited_entry: str
    ledger_clean_after_edit: bool
    tampered: AuditReport


async def audit_at_close(runtime: Runtime, output_dir: Path) -> AuditDemo:
    sealed = await seal_all(runtime.auditor)
    tomorrow = (runtime.clock.now().astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=1, second=0, microsecond=0
    )
    night = replace(runtime.auditor, clock=_AfterMidnight(tomorrow))
    closed = await close_days(night)
    clean = await verify(runtime.auditor)
    copy = output_dir / "tampered" / DATABASE
    edited = _halve_a_chargeback(output_dir / DATABASE, copy)
    key_file, checkpoint_dir = runtime.settings.audit.paths(runtime.settings.data_dir)
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(copy.parent),
            "CHARGELEDGER_LOG_LEVEL": "WARNING",
            "CHARGELEDGER_AUDIT_KEY_FILE": str(key_file),
            "CHARGELEDGER_AUDIT_CHECKPOINT_DIR": str(checkpoint_dir),
        }
    )
    attacked = build_runtime(settings)
    try:
        ledger = await reading(attacked.uow, checked_ledger)
        tampered = await verify(attacked.auditor)
    finally:
        await attacked.aclose()
    return AuditDemo(
        sealed=sealed,
        checkpoints=[(str(c.day), c.merkle_root, path) for c, path in closed],
        clean=clean,
        edited_entry=edited,
        ledger_clean_after_edit=not ledger.problems,
        tampered=tampered,
    )


def _halve_a_chargeback(database: Path, copy: Path) -> str:
    """Copy the database (SQLite's backup: a consistent snapshot, WAL included) and halve
    both legs of the first chargeback's journal entry in the copy; its entry id."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.unlink(missing_ok=True)
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as db:
        row = db.execute(
            "SELECT id FROM journal_entries WHERE kind = 'chargeback' ORDER BY created_at LIMIT 1"
        ).fetchone()
        if row is None:
            row = db.execute("SELECT id FROM journal_entries LIMIT 1").fetchone()
        entry = row[0]
        db.execute(
            "UPDATE postings SET amount_minor = amount_minor / 2 WHERE entry_id = ?", (entry,)
        )
    return str(uuid.UUID(str(entry)))


def print_audit(report: AuditDemo) -> None:
    table = Table(title="Tamper-evident books", title_justify="left")
    table.add_column("what")
    table.add_column("result")
    table.add_row("records chained", f"{report.sealed:,}")
    for day, root, path in report.checkpoints:
        table.add_row(f"checkpoint {day}", f"Merkle root {root[:16]}…, Ed25519-signed: {path.name}")
    table.add_row(
        "audit verify",
        "clean" if report.clean.ok else f"NOT CLEAN: {report.clean.first}",
    )
    table.add_row(
        "ledger check after the edit",
        "clean (the entry still balances)" if report.ledger_clean_after_edit else "problems",
    )
    first = report.tampered.first
    table.add_row(
        "audit verify after the edit",
        "clean (the edit went unseen!)" if first is None else first.describe(),
    )
    console.print(table)
    console.print(
        f"The edit: both legs of journal entry {report.edited_entry} halved in a copy of the "
        "database (demo-output/tampered/)."
    )
