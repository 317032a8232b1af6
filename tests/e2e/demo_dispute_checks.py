"""What the demo's disputes and its tamper-evident books left behind (issue 15), checked from
its database, its files and the installed command line."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path


def check_disputes(output: Path) -> None:
    """Three cases: a driver's rejected with the evidence of a valid signed record, a driver's
    refunded because the record does not verify, a chargeback lost and booked; each with its
    evidence pack, whose manifest holds the hash of every file."""
    with sqlite3.connect(output / "chargeledger.sqlite3") as db:
        cases = db.execute(
            "SELECT number, origin, state, resolution FROM disputes ORDER BY number"
        ).fetchall()
        booked = db.execute(
            "SELECT count(*) FROM journal_entries WHERE kind = 'chargeback'"
        ).fetchone()[0]
    assert cases == [
        ("DSP-000001", "driver", "resolved", "rejected"),
        ("DSP-000002", "driver", "resolved", "refund"),
        ("DSP-000003", "psp", "lost", None),
    ], cases
    assert booked == 1
    verdicts = {}
    for number, *_ in cases:
        pdf = output / "disputes" / f"{number}-evidence.pdf"
        assert pdf.read_bytes().startswith(b"%PDF")
        with zipfile.ZipFile(output / "disputes" / f"{number}-evidence.zip") as archive:
            manifest = json.loads(archive.read("manifest.json"))
            for name, digest in _hashes(manifest["files"]).items():
                assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
            signed = json.loads(archive.read("signed_readings.json"))
        verdicts[number] = [r["verdict"] for r in _records(signed)]
    assert verdicts["DSP-000001"] == ["valid"], verdicts
    assert verdicts["DSP-000002"] == ["invalid_signature"], verdicts


def _hashes(files: list[dict[str, str]]) -> dict[str, str]:
    return {f["name"]: f["sha256"] for f in files}


def _records(signed: object) -> list[dict[str, object]]:
    assert isinstance(signed, list)
    return signed


def check_audit(output: Path, run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """The demo's books verify clean with the installed ``audit verify``; the tampered copy
    (both legs of a chargeback halved) keeps ``ledger check`` clean and fails ``audit verify``,
    which names the entry."""
    clean = run("audit", "verify", data_dir=output)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert list((output / "audit" / "checkpoints").glob("*.json"))
    with sqlite3.connect(output / "tampered" / "chargeledger.sqlite3") as db:
        [(entry,)] = db.execute(
            "SELECT DISTINCT entry_id FROM postings p JOIN journal_entries e ON e.id = p.entry_id"
            " WHERE e.kind = 'chargeback'"
        ).fetchall()
    keys = {
        "CHARGELEDGER_AUDIT_KEY_FILE": str(output / "audit" / "checkpoint-key.pem"),
        "CHARGELEDGER_AUDIT_CHECKPOINT_DIR": str(output / "audit" / "checkpoints"),
    }
    ledger = run("ledger", "check", data_dir=output / "tampered", **keys)
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    tampered = run("audit", "verify", data_dir=output / "tampered", **keys)
    assert tampered.returncode != 0
    assert "journal_entry" in tampered.stdout
    assert str(uuid.UUID(str(entry))) in tampered.stdout.replace("\n", ""), tampered.stdout
