"""Checking signed meter data (OCMF) offline: what ``chargeledger ocmf verify`` does with a
record a driver, an auditor or an operator hands in (issue 15).

The input may be any carrier a station uses (``domain.ocmf_carriers``), one per line when a
transaction came as a begin and an end record. The key given wins over the carrier's: a key
that arrives with the data is the station's word only (notes §4.1), yet it is all an offline
check of a record a customer holds can use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chargeledger.domain.ocmf import (
    OcmfError,
    OcmfRecord,
    SignatureCheck,
    SignatureVerdict,
    parse_ocmf,
)
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.ocmf_energy import OcmfIssue, SignedEnergy, signed_energy
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.services.ports import MeterSignatureVerifier


@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """One signed record with the verdict on it and the key it was checked with."""

    record: OcmfRecord
    check: SignatureCheck
    public_key: str | None


@dataclass(frozen=True, slots=True)
class SignedDataReport:
    """The records, the verdict on all of them (the first that is not valid decides) and
    the energy they prove, or why they prove none."""

    records: tuple[CheckedRecord, ...]
    energy: SignedEnergy | None
    energy_problem: OcmfIssue | None

    @property
    def check(self) -> SignatureCheck:
        failed = next((r.check for r in self.records if not r.check.valid), None)
        return failed or self.records[0].check

    @property
    def verdict(self) -> SignatureVerdict:
        return self.check.verdict


def check_record(
    verifier: MeterSignatureVerifier,
    carrier: str | SignedMeterValue,
    public_key: str | None = None,
) -> CheckedRecord:
    """Unwrap, parse and verify one carried record; OcmfError when there is no record."""
    unwrapped = unwrap(carrier)
    record = parse_ocmf(unwrapped.ocmf)
    key = public_key if public_key and public_key.strip() else unwrapped.public_key
    return CheckedRecord(record, verifier.check(record, key), key)


def check_signed_data(
    verifier: MeterSignatureVerifier, text: str, public_key: str | None = None
) -> SignedDataReport:
    """The whole input as one carrier, else one carrier per non-empty line; OcmfError when
    no record can be read from it."""
    try:
        checked: Sequence[CheckedRecord] = [check_record(verifier, text, public_key)]
    except OcmfError:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise
        checked = [check_record(verifier, line, public_key) for line in lines]
    return SignedDataReport(tuple(checked), *energy_of([c.record for c in checked]))


def energy_of(records: Sequence[OcmfRecord]) -> tuple[SignedEnergy | None, OcmfIssue | None]:
    try:
        return signed_energy(records), None
    except OcmfError as exc:
        return None, OcmfIssue("no_energy_pair", exc.message)
