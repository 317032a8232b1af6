"""The energy a session's signed OCMF records prove, and why it might not be usable.

OCMF states readings, not a session's energy: the energy is the end reading minus the begin
reading of the same register (``shared/notes/ocmf-notes.md`` §2). Meters send them in one
record holding both (S.A.F.E. "MR", multiple reading) or in two records, begin and end ("SR").
Both shapes are read here; computed in Decimal, in kWh, at the meter's own resolution (the
last decimal it stated), which is the tolerance when the figure is held against what we bill.

A pair is unusable for billing (notes §2, OCMF table 7) when the end is below the begin, a
reading between has ``TX`` = X (exception) or the transaction was aborted (A), ``EF`` flags
the energy, ``ST`` is not G, or (two records) the meter, gateway, pagination context,
identification or key changes between begin and end, or the end's counter is not after the
begin's. Those come back as issues; only a missing begin/end pair raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chargeledger.domain.ocmf import (
    END_REASONS,
    OcmfError,
    OcmfReading,
    OcmfRecord,
    SignatureCheck,
    parse_ocmf,
)
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.station_link import SignedMeterValue

# OBIS C.D of the registers (IEC 62056-61; OCMF 1.4 table 7 RI): the transaction registers
# (B2/B3, and DZG's compensated 98.8) count from 0 at B and are what is billed; 1.8 and the
# B0/B1 mains and device registers are the import totals.
_TRANSACTION_REGISTERS = {("B2", "8"), ("B3", "8"), ("98", "8")}
_IMPORT_REGISTERS = {("1", "8"), ("B0", "8"), ("B1", "8")}


@dataclass(frozen=True, slots=True)
class OcmfIssue:
    """Why signed data cannot be taken at its word: a stable code and the human reason."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class SignedEnergy:
    """Begin and end of one register, the energy between them and what speaks against it."""

    kwh: Decimal
    begin: OcmfReading
    end: OcmfReading
    register: str | None
    resolution_kwh: Decimal
    issues: tuple[OcmfIssue, ...]

    @property
    def usable(self) -> bool:
        return not self.issues


@dataclass(frozen=True, slots=True)
class _Located:
    record: int
    reading: OcmfReading


def signed_energy(records: Sequence[OcmfRecord]) -> SignedEnergy:
    """The session energy the records prove; OcmfError when no register has a begin (TX B)
    and a later end (E, L, R, A, P) reading in an energy unit."""
    located = [
        _Located(index, reading)
        for index, record in enumerate(records)
        for reading in record.readings
    ]
    pair = _best_pair(located)
    if pair is None:
        raise OcmfError("the signed data has no begin and end reading of one energy register")
    begin, end, between = pair
    begin_kwh, end_kwh = _energy(begin.reading), _energy(end.reading)
    resolutions = (begin.reading.resolution_kwh, end.reading.resolution_kwh)
    issues = _reading_issues(begin, end, between)
    if begin.record != end.record:
        issues += _pair_issues(records[begin.record], records[end.record])
    return SignedEnergy(
        kwh=end_kwh - begin_kwh,
        begin=begin.reading,
        end=end.reading,
        register=begin.reading.register,
        resolution_kwh=max(r for r in resolutions if r is not None),
        issues=tuple(issues),
    )


def _energy(reading: OcmfReading) -> Decimal:
    kwh = reading.kwh
    if kwh is None:  # _best_pair takes energy readings only
        raise OcmfError(f"{reading.unit} is not an energy unit")
    return kwh


def signed_records(values: Sequence[SignedMeterValue]) -> list[OcmfRecord]:
    """The readable OCMF records among a session's signed values, in their order (another
    format or an unreadable record is kept as evidence but proves no energy)."""
    records: list[OcmfRecord] = []
    for value in values:
        try:
            records.append(parse_ocmf(unwrap(value).ocmf))
        except OcmfError:
            continue
    return records


def transaction_issues(
    records: Sequence[OcmfRecord],
    checks: Sequence[SignatureCheck],
    keys: Sequence[str | None],
) -> tuple[OcmfIssue, ...]:
    """Everything that keeps a begin/end transaction from being proven (S.A.F.E.'s checks:
    every record's signature valid, the same key throughout, a usable energy pair).
    ``checks`` and ``keys`` (normalised) go with ``records`` position by position."""
    issues = [
        OcmfIssue("signature_not_valid", f"record {n}: {check.verdict}: {check.detail}")
        for n, check in enumerate(checks, start=1)
        if not check.valid
    ]
    if len({key for key in keys}) > 1:
        issues.append(OcmfIssue("key_changed", "the records are signed with different keys"))
    try:
        issues.extend(signed_energy(records).issues)
    except OcmfError as exc:
        issues.append(OcmfIssue("no_energy_pair", exc.message))
    return tuple(issues)


def _obis_cd(register: str | None) -> tuple[str, str] | None:
    """C and D of an OBIS id (``1-b:1.8.0``, ``01-00:B2.08.00*FF`` ...), leading zeros off."""
    if not register:
        return None
    groups = register.split(":")[-1].replace("*", ".").split(".")
    if len(groups) < 2:
        return None
    return groups[0].upper().lstrip("0") or "0", groups[1].lstrip("0") or "0"


def _rank(register: str | None) -> int:
    cd = _obis_cd(register)
    if cd in _TRANSACTION_REGISTERS:
        return 0
    return 1 if cd in _IMPORT_REGISTERS else 2


def _best_pair(
    located: Sequence[_Located],
) -> tuple[_Located, _Located, list[_Located]] | None:
    """The first begin and last end of the most billable register that has both."""
    order: list[str | None] = []
    for item in located:
        if item.reading.register not in order:
            order.append(item.reading.register)
    for register in sorted(order, key=lambda r: (_rank(r), order.index(r))):
        readings = [
            (position, item)
            for position, item in enumerate(located)
            if item.reading.register == register and item.reading.kwh is not None
        ]
        begins = [(p, item) for p, item in readings if item.reading.reason == "B"]
        if not begins:
            continue
        start = begins[0][0]
        ends = [(p, i) for p, i in readings if p > start and i.reading.reason in END_REASONS]
        if ends:
            stop = ends[-1][0]
            between = [item for p, item in readings if start <= p <= stop]
            return begins[0][1], ends[-1][1], between
    return None


def _reading_issues(begin: _Located, end: _Located, between: Sequence[_Located]) -> list[OcmfIssue]:
    issues: list[OcmfIssue] = []
    if begin.reading.unit != end.reading.unit:
        issues.append(
            OcmfIssue(
                "unit_changed",
                f"begin in {begin.reading.unit}, end in {end.reading.unit} on the same register",
            )
        )
    begin_kwh, end_kwh = begin.reading.kwh, end.reading.kwh
    if begin_kwh is not None and end_kwh is not None and end_kwh < begin_kwh:
        issues.append(
            OcmfIssue(
                "energy_regression",
                f"the end reading ({end_kwh} kWh) is below the begin reading ({begin_kwh} kWh)",
            )
        )
    if any(item.reading.reason == "X" for item in between):
        issues.append(
            OcmfIssue(
                "exception_reading",
                "a reading reports an exception (TX X): the values after it are unusable",
            )
        )
    if end.reading.reason == "A":
        issues.append(OcmfIssue("transaction_aborted", "the transaction ended by an error (TX A)"))
    if any("E" in item.reading.error_flags for item in between):
        issues.append(
            OcmfIssue("energy_error_flag", "the meter flags the energy as unusable (EF E)")
        )
    states = {item.reading.meter_state for item in (begin, end)}
    if states != {"G"}:
        shown = ", ".join(sorted(str(state) for state in states))
        issues.append(OcmfIssue("meter_state", f"the meter state (ST) is {shown}, not G"))
    return issues


def _pair_issues(begin: OcmfRecord, end: OcmfRecord) -> list[OcmfIssue]:
    """Two records make one transaction only from the same meter, context and driver."""
    issues: list[OcmfIssue] = []
    for code, what, first, last in (
        ("meter_serial_changed", "meter serial (MS)", begin.meter_serial, end.meter_serial),
        ("gateway_serial_changed", "gateway serial (GS)", begin.gateway_serial, end.gateway_serial),
        ("identification_changed", "identification (ID)", begin.identification, end.identification),
        (
            "pagination_context_changed",
            "pagination context (PG)",
            begin.pagination_context,
            end.pagination_context,
        ),
    ):
        if first != last:
            issues.append(OcmfIssue(code, f"the {what} changes from {first!r} to {last!r}"))
    counters = (begin.pagination_counter, end.pagination_counter)
    if counters[0] is not None and counters[1] is not None and counters[1] <= counters[0]:
        issues.append(
            OcmfIssue(
                "pagination_order",
                f"the end record's counter ({counters[1]}) "
                f"is not after the begin record's ({counters[0]})",
            )
        )
    return issues
