"""The shared OCMF conformance data (``../shared/conformance/ocmf/``), read in place.

Never copied into this repository (its licences are the sources'); a missing directory fails
the tests that use it instead of skipping them: the conformance is the bar of issue 15.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONFORMANCE = Path(__file__).parents[2] / ".." / "shared" / "conformance" / "ocmf"
RECORD_FILES = (
    "safe_transparenzsoftware.jsonl",
    "ocmf_js_vectors.jsonl",
    "pyocmf_samples.jsonl",
)
OCPP_FILE = "ocpp_examples.jsonl"
OBSERVED_FILE = "observed_results.jsonl"


def rows(name: str) -> list[dict[str, Any]]:
    lines = (CONFORMANCE / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@cache
def by_id() -> dict[str, dict[str, Any]]:
    return {row["id"]: row for name in (*RECORD_FILES, OCPP_FILE) for row in rows(name)}


def row(row_id: str) -> dict[str, Any]:
    return by_id()[row_id]


def record_text(entry: dict[str, Any]) -> str:
    """The record as received: ``ocmf``, or for the ocmf-js vectors the composed record."""
    text = entry.get("ocmf") or entry.get("ocmf_composed") or entry.get("decoded_ocmf")
    assert isinstance(text, str), entry["id"]
    return text


def with_expectation() -> list[dict[str, Any]]:
    """Every row whose source states an outcome (``null`` = nobody said: left out)."""
    return [
        entry
        for name in (*RECORD_FILES, OCPP_FILE)
        for entry in rows(name)
        if entry["expected_signature_valid"] is not None
    ]
