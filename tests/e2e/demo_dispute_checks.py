"""What the demo's disputes left behind (issue 15), checked from its database and files."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
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
