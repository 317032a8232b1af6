"""OCMF verification against data written by others (issue 15, Done when): every shared record
with a stated outcome reaches it, one test per record named by its id.

``expected_signature_valid`` is ``true``, ``false`` or ``"error"`` (the source expects an
exception: a key on another curve than ``SA``); ``"error"`` counts as not authentic (README
"Row fields"). Where the source says *false* we insist on ``invalid_signature``: those records
are readable, and calling them ``malformed`` would hide a real tampering from the operator.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.adapters.meter_signatures import OcmfSignatureVerifier
from chargeledger.domain.ocmf import SignatureVerdict, parse_ocmf
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.ocmf_energy import signed_energy
from tests.unit.ocmf_samples import (
    OBSERVED_FILE,
    OCPP_FILE,
    RECORD_FILES,
    record_text,
    rows,
    with_expectation,
)

VERIFIER = OcmfSignatureVerifier()
CASES = with_expectation()


def test_every_source_row_is_here() -> None:
    """190 records of the three verifiers (the ids of our own observed results) plus the 3
    OCPP carrier examples; a row lost on the way would shrink the bar silently."""
    record_ids = [
        r["id"]
        for name in RECORD_FILES
        for r in rows(name)
        if r["expected_signature_valid"] is not None
    ]
    assert len(record_ids) == 190
    assert set(record_ids) == {r["id"] for r in rows(OBSERVED_FILE)}
    assert len(CASES) == 193
    assert len({case["id"] for case in CASES}) == 193


def _text_of(case: dict[str, Any]) -> str:
    if case["id"] in {r["id"] for r in rows(OCPP_FILE)}:
        # The OCPP rows carry the record inside the station's message: take it out of there.
        return unwrap(json.dumps(case["sampled_value"])).ocmf
    return record_text(case)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_the_record_reaches_its_expected_outcome(case: dict[str, Any]) -> None:
    record = parse_ocmf(_text_of(case))
    check = VERIFIER.check(record, case["public_key"])
    expected = case["expected_signature_valid"]
    if expected is True:
        assert check.verdict is SignatureVerdict.VALID, check.detail
    else:
        assert check.verdict is SignatureVerdict.INVALID_SIGNATURE, check.detail
    if expected == "error":  # pyocmf raises: the key is on another curve than SA
        assert "secp192r1" in check.detail
        assert "secp256r1" in check.detail


def test_the_energy_figures_of_the_ocpp_examples_come_from_the_signed_records() -> None:
    for case in rows(OCPP_FILE):
        energy = signed_energy([parse_ocmf(unwrap(json.dumps(case["sampled_value"])).ocmf)])
        assert energy.kwh == Decimal(case["signed_session_energy_kWh"]), case["id"]
        assert energy.usable, case["id"]
