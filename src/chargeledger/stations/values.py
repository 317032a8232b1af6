"""Turning OCPP payload values into domain values at the edge: timestamps into aware UTC
datetimes, numbers into Decimal (DESIGN §2), sampled values into MeterSample."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.exceptions import FormatViolationError, PropertyConstraintViolationError

from chargeledger.domain.charging import Measurand, MeterSample, ReadingContext
from chargeledger.domain.station_link import SignedMeterValue

_KNOWN_MEASURANDS = {m.value: m for m in Measurand}
_CONTEXTS = {c.value: c for c in ReadingContext}
# Measurand when a station leaves it out: OCPP 1.6 §7.31 and 2.0.1 both default to the
# energy import register.
DEFAULT_MEASURAND = Measurand.ENERGY_IMPORT_REGISTER
_DEFAULT_UNITS = {
    Measurand.ENERGY_IMPORT_REGISTER: "Wh",
    Measurand.POWER_IMPORT: "W",
    Measurand.CURRENT_IMPORT: "A",
    Measurand.SOC: "Percent",
}


def timestamp(value: Any, field: str = "timestamp") -> datetime:
    """OCPP timestamps are RFC 3339 in UTC; a missing offset is read as UTC."""
    if not isinstance(value, str):
        raise FormatViolationError(description=f"{field} must be an ISO 8601 timestamp")
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FormatViolationError(description=f"{field} {value!r} is not a timestamp") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def refuse_future_timestamps(payload: Mapping[str, Any], latest: datetime) -> None:
    """Refuse a message with any ``timestamp`` (1.6 StartTransaction, StopTransaction,
    StatusNotification, MeterValue; 2.0.1 TransactionEvent, StatusNotification, MeterValue)
    after ``latest``: station time drives billing periods and durations (DESIGN §2), and a
    time that has not happened yet is a clock fault, not a reading to bill. The station
    learns our time from every Heartbeat and BootNotification answer (1.6 §4.6, 2.0.1 G02)."""
    pending: list[Any] = [payload]
    while pending:
        item = pending.pop()
        values = item.items() if isinstance(item, Mapping) else enumerate(item)
        for key, value in values:
            if key == "timestamp" and isinstance(value, str):
                if timestamp(value) > latest:
                    raise PropertyConstraintViolationError(
                        description=f"timestamp {value} is ahead of the central system's "
                        f"clock by more than the tolerance (latest accepted: "
                        f"{wire_time(latest)})"
                    )
            elif isinstance(value, Mapping | list):
                pending.append(value)


def number(value: Any, field: str) -> Decimal:
    """A Decimal from a JSON number (already Decimal: parsed that way) or a 1.6 string."""
    if isinstance(value, bool):
        raise PropertyConstraintViolationError(description=f"{field} is not a number")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise PropertyConstraintViolationError(
            description=f"{field} {value!r} is not a number"
        ) from exc
    if not result.is_finite():
        raise PropertyConstraintViolationError(description=f"{field} is not a finite number")
    return result


def meter_samples(
    meter_values: Iterable[Mapping[str, Any]],
) -> tuple[list[MeterSample], list[SignedMeterValue]]:
    """Samples we keep from 1.6 meterValue / 2.0.1 meterValue lists (snake_case keys).

    Measurands we do not bill or show are skipped; signed data (1.6 format "SignedData",
    2.0.1 signedMeterValue) is kept raw as evidence.
    """
    samples: list[MeterSample] = []
    signed: list[SignedMeterValue] = []
    for meter_value in meter_values:
        at = timestamp(meter_value.get("timestamp"))
        for sampled in meter_value.get("sampled_value") or []:
            context = _CONTEXTS.get(sampled.get("context") or "", ReadingContext.SAMPLE_PERIODIC)
            if (sig := _signed(sampled, at, context)) is not None:
                signed.append(sig)
                if sampled.get("format") == "SignedData":
                    continue
            measurand = _KNOWN_MEASURANDS.get(sampled.get("measurand") or DEFAULT_MEASURAND)
            if measurand is None:
                continue
            value, unit = _value_and_unit(sampled, measurand)
            samples.append(
                MeterSample(
                    timestamp=at,
                    measurand=measurand,
                    value=value,
                    unit=unit,
                    context=context,
                    phase=sampled.get("phase"),
                    location=sampled.get("location"),
                )
            )
    return samples, signed


def _value_and_unit(sampled: Mapping[str, Any], measurand: Measurand) -> tuple[Decimal, str]:
    value = number(sampled.get("value"), "sampledValue.value")
    unit = sampled.get("unit")  # 1.6
    uom = sampled.get("unit_of_measure")  # 2.0.1: unit and a power-of-ten multiplier
    if isinstance(uom, Mapping):
        unit = uom.get("unit") or unit
        multiplier = int(uom.get("multiplier") or 0)
        value = value.scaleb(multiplier)
    unit = unit or _DEFAULT_UNITS[measurand]
    if unit == "kWh":
        value, unit = value * 1000, "Wh"
    elif unit == "kW":
        value, unit = value * 1000, "W"
    return value, unit


def _signed(
    sampled: Mapping[str, Any], at: datetime, context: ReadingContext
) -> SignedMeterValue | None:
    signed = sampled.get("signed_meter_value")  # 2.0.1 SignedMeterValueType
    if isinstance(signed, Mapping) and signed.get("signed_meter_data"):
        data = str(signed["signed_meter_data"])
        return SignedMeterValue(
            timestamp=at,
            context=context,
            format=_signed_format(data),
            data=data,
            signing_method=signed.get("signing_method"),
            encoding_method=signed.get("encoding_method"),
            public_key=signed.get("public_key"),
        )
    if sampled.get("format") == "SignedData" and sampled.get("value"):
        # OCA application note "Signed Meter Values in OCPP 1.6": the value is the signed
        # dataset (commonly OCMF) with format SignedData.
        data = str(sampled["value"])
        return SignedMeterValue(
            timestamp=at,
            context=context,
            format=_signed_format(data),
            data=data,
        )
    return None


def _signed_format(data: str) -> str:
    """OCMF, sent as is (common in 1.6) or base64-encoded (2.0.1 signedMeterData is base64);
    the data itself is always kept byte for byte as the station sent it."""
    if data.startswith("OCMF|"):
        return "OCMF"
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "other"
    return "OCMF" if decoded.startswith(b"OCMF|") else "other"


def wire_time(value: datetime) -> str:
    """A timestamp as OCPP expects it: UTC with ``Z`` and millisecond precision."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
