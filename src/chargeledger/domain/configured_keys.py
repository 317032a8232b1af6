"""Meter public keys a station states in its configuration, read when it boots (issue 15).

Where stations keep them, per the OCA application note "Signed Meter Values in OCPP" v1.0
(2025-02-10): OCPP 1.6 configuration key ``MeterPublicKey[ConnectorID]`` (§3.3.1, read-only:
``MeterPublicKey1`` for connector 1), OCPP 2.0.1 variable ``PublicKey`` of component
``FiscalMetering`` (§4.3.2; standard in OCPP 2.1 Part 2 §2.9.26 ``FiscalMeterPublicKey``),
typically at the EVSE tier, sometimes one at the station tier. Their value is the note's
``oca:<encoding>:<content-type>:<printed key>`` composition in base64 (§3.2.2); older firmware
writes the plain key (``domain.ocmf_keys`` reads both). The meter's serial comes from the
same tier's ``FiscalMetering`` variable ``SerialNumber[Meter]`` (OCPP 2.0.1 Part 2 Appendix
§3.2.32), else from the station's one meter serial (1.6 BootNotification ``meterSerialNumber``,
"the main electricity meter", or the catalog's).

What we make of them is the station's word, like a key sent with signed data (notes §4.1): a
``station_config`` key is shown and compared, never trusted. The configuration is the
station's current statement, so a key read again changes nothing, and another key read where
an earlier one was stated retires that one (a replaced meter).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from chargeledger.domain.meter_keys import KeySource, MeterKey, new_meter_key
from chargeledger.domain.ocmf import OcmfError
from chargeledger.domain.ocmf_keys import read_public_key
from chargeledger.domain.text import optional_text
from chargeledger.errors import InvalidInputError

SERIAL_LENGTH = 64  # meter_keys.meter_serial
NOTE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class KeyReading:
    """One key as the station's configuration states it. ``evse_id`` None: the station tier
    (2.0.1 ``FiscalMetering`` without an EVSE). ``name`` says where it was read
    (``MeterPublicKey1``, ``FiscalMetering[EVSE 1].PublicKey``); ``meter_serial`` is the
    same tier's ``SerialNumber[Meter]`` when the station told it."""

    evse_id: int | None
    public_key: str
    name: str
    meter_serial: str | None = None


@dataclass(frozen=True, slots=True)
class ConfiguredKey:
    """One distinct key of the configuration: our stored form, where it was stated and the
    meter it belongs to when that is known."""

    public_key: str  # lowercase hex SPKI DER
    curve: str
    evse_ids: tuple[int, ...]  # the EVSEs that stated it; empty: the station tier only
    meter_serial: str | None
    names: tuple[str, ...]

    @property
    def evse_id(self) -> int | None:
        """The EVSE the registry files it under: the first that stated it."""
        return min(self.evse_ids, default=None)


@dataclass(frozen=True, slots=True)
class ConfigurationChanges:
    added: tuple[ConfiguredKey, ...]
    retired: tuple[MeterKey, ...]


def configured_keys(
    readings: Sequence[KeyReading], station_serial: str | None
) -> list[ConfiguredKey]:
    """The distinct readable keys of ``readings``, in the order first stated.

    A key several EVSEs state is one meter's (the note §3.3.1: a dual connector serving one
    EVSE states one key twice). Unreadable values (a placeholder, a curve OCMF does not sign
    with) are left out. The serial is the tier's own; else, when the whole configuration
    names one key, the station's one meter serial (``station_serial``); else none, and the
    key is filed under its EVSE. A station-tier key whose meter no serial names is left out:
    the registry could not tell it from another."""
    grouped: dict[str, list[KeyReading]] = {}
    curves: dict[str, str] = {}
    for reading in readings:
        try:
            key = read_public_key(reading.public_key)
        except OcmfError:
            continue
        if key.curve is None:
            continue
        grouped.setdefault(key.spki_hex, []).append(reading)
        curves[key.spki_hex] = key.curve
    station_wide = _serial(station_serial) if len(grouped) == 1 else None
    found = []
    for spki, stated in grouped.items():
        own = next((s for s in (_serial(r.meter_serial) for r in stated) if s), None)
        evse_ids = tuple(sorted({r.evse_id for r in stated if r.evse_id is not None}))
        serial = own or station_wide
        if serial is None and not evse_ids:
            continue
        names = tuple(dict.fromkeys(r.name for r in stated))
        found.append(ConfiguredKey(spki, curves[spki], evse_ids, serial, names))
    return found


def configuration_changes(
    configured: Sequence[ConfiguredKey], existing: Sequence[MeterKey]
) -> ConfigurationChanges:
    """What the registry takes from a configuration read, given the station's keys.

    A key already in force (whoever recorded it: the operator, a signed value, an earlier
    read) adds nothing. A configured key still in force that the station no longer states
    where it stated it (the same EVSE, or anywhere when it was the station tier's) is retired.
    An empty read changes nothing: a station that cannot tell its keys has not replaced them."""
    if not configured:
        return ConfigurationChanges((), ())
    stated = {c.public_key for c in configured}
    evses = {evse for c in configured for evse in c.evse_ids}
    in_force = [key for key in existing if key.retired_at is None]
    retired = tuple(
        key
        for key in in_force
        if key.source is KeySource.STATION_CONFIG
        and key.public_key not in stated
        and (key.evse_id is None or key.evse_id in evses)
    )
    known = {key.public_key for key in in_force}
    added = tuple(c for c in configured if c.public_key not in known)
    return ConfigurationChanges(added, retired)


def configured_meter_key(key: ConfiguredKey, station_id: uuid.UUID, now: datetime) -> MeterKey:
    """The registry's record of ``key``: reported (``station_config``), in force from now."""
    note = f"stated in the station's configuration ({', '.join(key.names)})"
    return new_meter_key(
        station_id=station_id,
        meter_serial=key.meter_serial,
        public_key=key.public_key,
        source=KeySource.STATION_CONFIG,
        valid_from=now,
        now=now,
        evse_id=key.evse_id,
        note=note if len(note) <= NOTE_LENGTH else note[: NOTE_LENGTH - 1] + "…",
    )


def _serial(value: str | None) -> str | None:
    """A serial the registry can hold, else None: what a station sends is not checked
    elsewhere, and a bad one must not cost the key."""
    try:
        return optional_text(value, "meter_serial", SERIAL_LENGTH)
    except InvalidInputError:
        return None
