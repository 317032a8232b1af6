"""OCMF signed meter data (Open Charge Metering Format, S.A.F.E. e.V., rev 1.4): one record
``OCMF|{payload}|{signature}`` exactly as a calibrated meter signed it.

Why it matters: under the German Eichrecht (PTB-A 50.7) the signed record, not the OCPP
numbers beside it, is the evidence of what a driver received. So the parser keeps the record
byte for byte (the signature covers the payload section's exact UTF-8 bytes, OCMF §5; any
re-serialisation would break it), reads numbers as ``Decimal`` (``RV`` 2935.600 states three
valid decimals, OCMF table 7), and survives what real meters send: quoted or space-padded
``RV``, ``FV`` as a number, vendor keys (U-Z, OCMF §3.2), legacy ``FV`` 0.1 layouts, ``IS``
as a string, readings that omit fields equal to the previous one (OCMF table 7: carry them
forward) and unsynchronised 1970 clocks (time status ``U``).

Pure: no I/O, no clock. Verifying the signature is an adapter's job
(``adapters/meter_signatures.py``); the session energy is :mod:`domain.ocmf_energy`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from chargeledger.errors import InvalidInputError

HEADER = "OCMF"
# OCMF table 8: SA defaults to ECDSA-secp256r1-SHA256 (since 0.4), SE to hex, SM to DER.
DEFAULT_ALGORITHM = "ECDSA-secp256r1-SHA256"
DEFAULT_ENCODING = "hex"
DEFAULT_MIME = "application/x-der"
# OCMF table 7 (TX): the reasons that end a transaction (end, local, remote, abort, power).
END_REASONS = frozenset("ELRAP")
ENERGY_UNITS = {"kWh": Decimal(1), "Wh": Decimal("0.001")}
# OCMF §5.3 spells brainpool curves "brainpool256r1"; NZR meters send RFC 5639's
# "brainpoolP256r1". Both name the same curve.
_CURVE_SPELLINGS = {
    "brainpool256r1": "brainpoolP256r1",
    "brainpool384r1": "brainpoolP384r1",
    "brainpoolp256r1": "brainpoolP256r1",
    "brainpoolp384r1": "brainpoolP384r1",
}
_TIME = re.compile(
    r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[,.](?P<fraction>\d{1,9}))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?(?:\s+(?P<status>[A-Za-z]))?\s*$"
)
_PAGINATION = re.compile(r"^(?P<context>[A-Za-z])(?P<counter>\d+)$")


class OcmfError(InvalidInputError):
    """The text is not a readable OCMF record; the message says what is wrong."""

    default_code = "ocmf_malformed"


class SignatureVerdict(StrEnum):
    """What a signature check concluded (issue 15: each signed reading gets one)."""

    VALID = "valid"
    INVALID_SIGNATURE = "invalid_signature"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """A verdict with the human reason behind it (shown to the operator and the driver)."""

    verdict: SignatureVerdict
    detail: str

    @property
    def valid(self) -> bool:
        return self.verdict is SignatureVerdict.VALID


@dataclass(frozen=True, slots=True)
class OcmfReading:
    """One entry of ``RD`` (OCMF table 7), after carrying omitted fields forward."""

    time: datetime | None  # TM, in UTC; None when the record states none
    time_status: str | None  # U unsynced, I informative, S synced, R relative
    reason: str | None  # TX: B begin, C charging, X exception, E/L/R/A/P end, S, T; None fiscal
    value: Decimal  # RV, as many decimals as the meter stated
    unit: str  # RU: kWh, Wh (energy), vendors also send sec, s, mOhm ...
    register: str | None  # RI, an OBIS id such as 1-b:1.8.0
    current_type: str | None  # RT: AC or DC
    error_flags: str  # EF: "E" energy unusable, "t" time unusable
    meter_state: str | None  # ST: G good, anything else is a fault or manipulation
    cumulated_loss: Decimal | None = None  # CL, cable loss (OCMF 1.2)
    raw_time: str | None = None

    @property
    def kwh(self) -> Decimal | None:
        """The value in kWh, or None when the unit is not energy."""
        factor = ENERGY_UNITS.get(self.unit)
        return None if factor is None else self.value * factor

    @property
    def resolution_kwh(self) -> Decimal | None:
        """The smallest step the meter stated (one unit of its last decimal), in kWh: the
        tolerance when comparing signed with billed energy."""
        factor = ENERGY_UNITS.get(self.unit)
        exponent = self.value.as_tuple().exponent
        if factor is None or not isinstance(exponent, int):
            return None
        return Decimal(1).scaleb(exponent) * factor


@dataclass(frozen=True, slots=True)
class OcmfRecord:
    """A parsed OCMF record. ``signed_bytes`` are the payload section's exact UTF-8 bytes as
    received: the only thing a signature is ever checked against."""

    raw: str
    signed_bytes: bytes
    payload: Mapping[str, Any] = field(compare=False)
    signature: Mapping[str, Any] = field(compare=False)
    readings: tuple[OcmfReading, ...]
    algorithm: str  # SA, defaulted
    encoding: str  # SE, defaulted
    mime: str  # SM, defaulted
    signature_data: str  # SD
    format_version: str | None  # FV
    gateway_id: str | None  # GI
    gateway_serial: str | None  # GS
    meter_vendor: str | None  # MV
    meter_model: str | None  # MM
    meter_serial: str | None  # MS
    pagination: str | None  # PG as sent
    pagination_context: str | None  # T transaction, F fiscal
    pagination_counter: int | None
    identified: bool | None  # IS
    identification_type: str | None  # IT
    identification: str | None  # ID
    charge_point_type: str | None  # CT
    charge_point_id: str | None  # CI
    appended_key: str | None = None  # a 4th section some tools append (out of spec)

    @property
    def curve(self) -> str | None:
        """The curve named by ``SA`` (spelling unified), None if ``SA`` is not ECDSA."""
        return algorithm_parts(self.algorithm)[0]

    @property
    def hash_name(self) -> str | None:
        return algorithm_parts(self.algorithm)[1]


def algorithm_parts(algorithm: str) -> tuple[str | None, str | None]:
    """``ECDSA-<curve>-<hash>`` (OCMF table 23) as (curve, hash), both None otherwise."""
    parts = algorithm.strip().split("-")
    if len(parts) != 3 or parts[0].upper() != "ECDSA":
        return None, None
    curve = _CURVE_SPELLINGS.get(parts[1].lower(), parts[1].lower())
    return curve, parts[2].upper()


def parse_ocmf(text: str) -> OcmfRecord:
    """Parse one record; :class:`OcmfError` when it is not OCMF or lacks a mandatory part.

    Sections are split at ``|``, which OCMF §3 forbids inside a section; a 4th section (a
    public key some tools append) is kept apart and never trusted."""
    raw = text.strip()
    sections = raw.split("|")
    if sections[0] != HEADER:
        raise OcmfError(f"the record does not start with '{HEADER}|'")
    if len(sections) not in (3, 4):
        raise OcmfError(
            f"an OCMF record has 3 sections separated by '|', this one has {len(sections)}"
        )
    payload = _json_object(sections[1], "payload")
    signature = _json_object(sections[2], "signature")
    signature_data = signature.get("SD")
    if not isinstance(signature_data, str) or not signature_data.strip():
        raise OcmfError("the signature section has no signature data (SD)")
    context, counter = _pagination(payload.get("PG"))
    return OcmfRecord(
        raw=raw,
        signed_bytes=sections[1].encode("utf-8"),
        payload=payload,
        signature=signature,
        readings=_readings(payload.get("RD")),
        algorithm=_text(signature.get("SA")) or DEFAULT_ALGORITHM,
        encoding=_text(signature.get("SE")) or DEFAULT_ENCODING,
        mime=_text(signature.get("SM")) or DEFAULT_MIME,
        signature_data=signature_data.strip(),
        format_version=_text(payload.get("FV")),
        gateway_id=_text(payload.get("GI")),
        gateway_serial=_text(payload.get("GS")),
        meter_vendor=_text(payload.get("MV")),
        meter_model=_text(payload.get("MM")),
        meter_serial=_text(payload.get("MS")),
        pagination=_text(payload.get("PG")),
        pagination_context=context,
        pagination_counter=counter,
        identified=_identified(payload.get("IS")),
        identification_type=_text(payload.get("IT")),
        identification=_text(payload.get("ID")),
        charge_point_type=_text(payload.get("CT")),
        charge_point_id=_text(payload.get("CI")),
        appended_key=(sections[3].strip() or None) if len(sections) == 4 else None,
    )


def parse_time(text: str) -> tuple[datetime, str | None]:
    """OCMF time ``2018-07-24T13:22:04,000+0200 S`` (ISO 8601 with comma millis and an
    offset without colon, then the status letter, OCMF table 7) as (UTC time, status)."""
    match = _TIME.match(text.strip())
    if match is None or match["offset"] is None:
        raise OcmfError(f"unreadable reading time (TM) {text!r}")
    try:
        stamp = datetime.fromisoformat(match["stamp"])
    except ValueError as exc:
        raise OcmfError(f"unreadable reading time (TM) {text!r}") from exc
    fraction = match["fraction"] or "0"
    stamp += timedelta(microseconds=int(Decimal(f"0.{fraction}") * 1_000_000))
    offset = match["offset"].replace(":", "")
    if offset == "Z":
        zone = UTC
    else:
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        zone = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
    status = match["status"].upper() if match["status"] else None
    return stamp.replace(tzinfo=zone).astimezone(UTC), status


def _json_object(section: str, name: str) -> dict[str, Any]:
    try:
        # strict=False: a record copied out of XML may carry line breaks inside strings; the
        # signature decides whether they belong there, not the parser.
        value = json.loads(section, parse_float=Decimal, strict=False)
    except ValueError as exc:
        raise OcmfError(f"the {name} section is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise OcmfError(f"the {name} section is not a JSON object")
    return value


def _readings(entries: Any) -> tuple[OcmfReading, ...]:
    if not isinstance(entries, list) or not entries:
        raise OcmfError("the payload has no readings (RD)")
    readings: list[OcmfReading] = []
    carried: dict[str, Any] = {}
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise OcmfError(f"reading {position} is not a JSON object")
        # OCMF table 7: a field equal to the previous reading's may be left out. The value
        # itself is never carried: every reading states its own.
        carried = {**carried, **{k: v for k, v in entry.items() if k != "RV"}}
        readings.append(_reading(position, entry.get("RV"), carried))
    return tuple(readings)


def _reading(position: int, value: Any, fields: Mapping[str, Any]) -> OcmfReading:
    if value is None:
        raise OcmfError(f"reading {position} has no value (RV)")
    unit = _text(fields.get("RU"))
    if unit is None:
        raise OcmfError(f"reading {position} has no unit (RU)")
    raw_time = _text(fields.get("TM"))
    time, status = parse_time(raw_time) if raw_time else (None, None)
    loss = fields.get("CL")
    return OcmfReading(
        time=time,
        time_status=status,
        reason=_text(fields.get("TX")),
        value=_decimal(value, f"reading {position} value (RV)"),
        unit=unit,
        register=_text(fields.get("RI")),
        current_type=_text(fields.get("RT")),
        error_flags=_text(fields.get("EF")) or "",
        meter_state=_text(fields.get("ST")),
        cumulated_loss=None if loss is None else _decimal(loss, f"reading {position} loss (CL)"),
        raw_time=raw_time,
    )


def _decimal(value: Any, what: str) -> Decimal:
    """A JSON number, or a quoted and space-padded one (DZG ``"      48.542"``, Isabellenhuette
    ``"00000000.000"``), as the exact Decimal the meter stated."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise OcmfError(f"{what} is not a number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise OcmfError(f"{what} is not a number: {value!r}") from exc
    if not number.is_finite():
        raise OcmfError(f"{what} is not a finite number: {value!r}")
    return number


def _text(value: Any) -> str | None:
    """A string field (or a number some meters send, e.g. ``"FV": 1.0``), stripped."""
    if value is None or isinstance(value, (bool, list, dict)):
        return None
    text = str(value).strip()
    return text or None


def _pagination(value: Any) -> tuple[str | None, int | None]:
    """``PG`` = context letter and counter (``T123``: transaction, ``F``: fiscal)."""
    text = _text(value)
    match = _PAGINATION.match(text) if text else None
    if match is None:
        return (text[0].upper() if text else None), None
    return match["context"].upper(), int(match["counter"])


def _identified(value: Any) -> bool | None:
    """``IS`` is a boolean; legacy records (FV 0.1) send the level as a string instead."""
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    return text.upper() not in ("FALSE", "0", "NONE", "UNKNOWN", "INVALID", "MISMATCH")
