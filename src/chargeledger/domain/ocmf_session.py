"""Whether a session's signed OCMF records belong to the session we bill (notes §4.3-4.5):
the same meter, a gap-free pagination, readings inside the transaction's time, and the signed
energy equal to the billed energy at the meter's resolution.

Pure; the caller loads the session, the station's registered meter serial and the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from chargeledger.domain.meter_checks import BILLED_RESOLUTION_KWH
from chargeledger.domain.ocmf import OcmfError, OcmfRecord
from chargeledger.domain.ocmf_energy import OcmfIssue, SignedEnergy, signed_energy

# Station clocks drift; OCPP timestamps and the meter's own clock are two clocks. Five minutes
# is the window the S.A.F.E. guidance gives for synchronised meters (status S).
CLOCK_SKEW = timedelta(minutes=5)
_UNSYNCED = frozenset("UI")  # OCMF table 7: unsynchronised, informative: not legally usable


def session_issues(
    records: Sequence[OcmfRecord],
    *,
    started_at: datetime,
    stopped_at: datetime | None,
    meter_start_wh: Decimal,
    meter_stop_wh: Decimal | None,
    station_meter_serial: str | None,
    skew: timedelta = CLOCK_SKEW,
) -> tuple[SignedEnergy | None, tuple[OcmfIssue, ...]]:
    """The signed energy of the records (None when they hold no begin/end pair) and every
    reason they do not match the session."""
    issues = _meter_issues(records, station_meter_serial) + _pagination_issues(records)
    issues += _time_issues(records, started_at, stopped_at, skew)
    try:
        energy: SignedEnergy | None = signed_energy(records)
    except OcmfError:
        energy = None
    if energy is not None:
        issues += list(energy.issues)
        if meter_stop_wh is not None:
            billed = (meter_stop_wh - meter_start_wh) / 1000
            tolerance = max(energy.resolution_kwh, BILLED_RESOLUTION_KWH)
            if abs(energy.kwh - billed) > tolerance:
                issues.append(
                    OcmfIssue(
                        "signed_energy_mismatch",
                        f"signed {energy.kwh} kWh, billed {billed} kWh (tolerance {tolerance} kWh)",
                    )
                )
    return energy, tuple(issues)


def _meter_issues(records: Sequence[OcmfRecord], registered: str | None) -> list[OcmfIssue]:
    serials = {record.meter_serial for record in records if record.meter_serial}
    issues = []
    if len(serials) > 1:
        issues.append(OcmfIssue("meter_serial_changed", f"several meters: {sorted(serials)}"))
    if registered and serials and serials != {registered}:
        issues.append(
            OcmfIssue(
                "meter_serial_mismatch",
                f"the records name meter {sorted(serials)}, the station's meter is {registered}",
            )
        )
    return issues


def _pagination_issues(records: Sequence[OcmfRecord]) -> list[OcmfIssue]:
    """OCMF table 3 (PG): the counter rises by exactly 1 per record in its context, so a gap
    is a record we never got and a repeat with other content is a second story."""
    issues = []
    seen: dict[tuple[str | None, int], bytes] = {}
    counters = []
    for record in records:
        if record.pagination_counter is None:
            continue
        key = (record.pagination_context, record.pagination_counter)
        if key in seen and seen[key] != record.signed_bytes:
            issues.append(
                OcmfIssue("pagination_repeated", f"two records with PG {record.pagination}")
            )
        seen[key] = record.signed_bytes
        counters.append(key)
    for (context, first), (other, second) in pairwise(
        sorted(set(counters), key=lambda k: (k[0] or "", k[1]))
    ):
        if context == other and second - first > 1:
            issues.append(
                OcmfIssue(
                    "pagination_gap",
                    f"records {context}{first + 1} to {context}{second - 1} are missing",
                )
            )
    return issues


def _time_issues(
    records: Sequence[OcmfRecord], started: datetime, stopped: datetime | None, skew: timedelta
) -> list[OcmfIssue]:
    issues: list[OcmfIssue] = []
    readings = [reading for record in records for reading in record.readings if reading.time]
    if any(reading.time_status in _UNSYNCED for reading in readings):
        issues.append(
            OcmfIssue(
                "time_not_synchronised",
                "a reading's time is unsynchronised "
                "or informative (TM status U/I): not usable for time billing",
            )
        )
    end = (stopped or started) + skew
    outside = [
        reading.raw_time
        for reading in readings
        if reading.time_status not in _UNSYNCED
        and reading.time is not None
        and not (started - skew <= reading.time <= end)
    ]
    if outside:
        issues.append(
            OcmfIssue(
                "time_outside_session",
                f"readings outside the transaction's time: {', '.join(str(t) for t in outside)}",
            )
        )
    return issues
