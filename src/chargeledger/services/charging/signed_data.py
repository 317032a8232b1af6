"""Checking signed meter data (OCMF), issue 15: offline (``chargeledger ocmf verify`` with a
record a driver, an auditor or an operator hands in) and for a stored session (each signed
value's verdict under the registry's key, and whether the records match the session).

The input may be any carrier a station uses (``domain.ocmf_carriers``), one per line when a
transaction came as a begin and an end record. The key given wins over the carrier's: a key
that arrives with the data is the station's word only (notes §4.1), yet it is all an offline
check of a record a customer holds can use.
"""

from __future__ import annotations

import uuid
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
from chargeledger.domain.ocmf_session import session_issues
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.errors import NotFoundError
from chargeledger.services.charging.meter_keys import key_for, reported_key_for
from chargeledger.services.ports import MeterSignatureVerifier, UnitOfWork

REPORTED_ONLY = "valid with the key the station reported; not confirmed by the registry"


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


@dataclass(frozen=True, slots=True)
class SignedReading:
    """One stored signed value: its record (None when unreadable), the verdict, and the key
    it was checked with (the registry's, else the one the station reported)."""

    value: SignedMeterValue
    record: OcmfRecord | None
    check: SignatureCheck
    public_key: str | None
    # "operator" (registry), "station" / "station_config" (reported: with signed data / in
    # its configuration), None: no key
    key_source: str | None


@dataclass(frozen=True, slots=True)
class SessionSignedData:
    readings: tuple[SignedReading, ...]
    energy: SignedEnergy | None
    issues: tuple[OcmfIssue, ...]


async def signed_readings_of(
    uow: UnitOfWork, verifier: MeterSignatureVerifier, session_id: uuid.UUID
) -> SessionSignedData:
    """Every signed value of the session with its verdict, and how the readable records
    match the session (pagination, meter serial, times, energy against what we bill)."""
    session = await uow.sessions.get(session_id)
    if session is None:
        raise NotFoundError(f"session {session_id} not found", code="session_not_found")
    station = await uow.stations.get(session.station_id)
    readings = [
        await _reading(uow, verifier, session.station_id, value)
        for value in await uow.sessions.signed_values(session.id)
    ]
    records = [r.record for r in readings if r.record is not None]
    if not records:
        return SessionSignedData(tuple(readings), None, ())
    energy, issues = session_issues(
        records,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        meter_start_wh=session.meter_start_wh,
        meter_stop_wh=session.meter_stop_wh,
        station_meter_serial=station.meter_serial if station else None,
    )
    return SessionSignedData(tuple(readings), energy, issues)


async def _reading(
    uow: UnitOfWork,
    verifier: MeterSignatureVerifier,
    station_id: uuid.UUID,
    value: SignedMeterValue,
) -> SignedReading:
    try:
        carried = unwrap(value)
        record = parse_ocmf(carried.ocmf)
    except OcmfError as exc:
        return SignedReading(
            value, None, SignatureCheck(SignatureVerdict.MALFORMED, exc.message), None, None
        )
    signed_at = next((r.time for r in record.readings if r.time), None) or value.timestamp
    registered = (
        await key_for(uow, station_id, record.meter_serial, signed_at)
        if record.meter_serial
        else None
    )
    if registered is not None:
        check = verifier.check(record, registered.public_key)
        return SignedReading(value, record, check, registered.public_key, "operator")
    reported_key, source = carried.public_key, "station"
    if reported_key is None and record.meter_serial:
        # An OCPP 1.6 SignedData value carries no key: the one the station reported for the
        # meter (its configuration at boot, or earlier signed data) is the next best word.
        reported = await reported_key_for(uow, station_id, record.meter_serial, signed_at)
        if reported is not None:
            reported_key, source = reported.public_key, reported.source.value
    if reported_key is None:
        detail = f"no key in the registry for meter {record.meter_serial or '(no MS)'}"
        return SignedReading(
            value, record, SignatureCheck(SignatureVerdict.UNKNOWN_KEY, detail), None, None
        )
    check = verifier.check(record, reported_key)
    if check.valid:
        check = SignatureCheck(SignatureVerdict.UNKNOWN_KEY, REPORTED_ONLY)
    elif check.verdict is SignatureVerdict.INVALID_SIGNATURE:
        check = SignatureCheck(
            SignatureVerdict.UNKNOWN_KEY,
            f"not valid with the key the station reported ({check.detail}); no registry key",
        )
    return SignedReading(value, record, check, reported_key, source)
