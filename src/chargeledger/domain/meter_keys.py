"""The public keys of a station's calibrated meters, with their history (issue 15).

Why a registry: a signature only proves something when the key is known from elsewhere than
the signed message (OCMF §5.4; notes §4.1). The operator registers the key from the meter's
type plate or the manufacturer's list at commissioning (source ``operator``); a key a station
sends with its signed data (source ``station``) or states in its configuration when it boots
(source ``station_config``: OCPP 1.6 ``MeterPublicKey<n>``, 2.0.1 ``FiscalMetering.PublicKey``,
see ``domain/configured_keys.py``) is recorded as what the station *reported*, never trusted on
its own: only an operator's key confirms a signature, and an operator may promote a reported
key to one after checking it against the type plate. A meter has one key in force at a time: a
new key for the same meter retires the previous one (a replaced meter or a new key pair), and
the old key stays for the records it signed before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from chargeledger.domain.ids import new_id
from chargeledger.domain.ocmf_keys import read_public_key
from chargeledger.domain.text import optional_text, required_text
from chargeledger.errors import InvalidInputError


class KeySource(StrEnum):
    OPERATOR = "operator"  # registered by the operator: trusted
    STATION = "station"  # reported by the station with signed data: shown, not trusted
    STATION_CONFIG = "station_config"  # stated in the station's configuration: not trusted

    @property
    def reported(self) -> bool:
        """The station's word (notes §4.1): shown and compared, never trusted."""
        return self is not KeySource.OPERATOR


@dataclass(frozen=True, slots=True)
class MeterKey:
    """``meter_serial`` is None only for a key a station's configuration stated for an EVSE
    without naming its meter (``evse_id`` then says where it was read)."""

    station_id: uuid.UUID
    meter_serial: str | None
    public_key: str  # lowercase hex of the SPKI DER (``domain.ocmf_keys``)
    curve: str  # e.g. secp256r1, brainpoolP256r1
    source: KeySource
    valid_from: datetime
    created_at: datetime
    evse_id: int | None = None
    retired_at: datetime | None = None
    note: str | None = None
    id: uuid.UUID = field(default_factory=new_id)

    def in_force_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.retired_at is None or at < self.retired_at)


def new_meter_key(
    *,
    station_id: uuid.UUID,
    meter_serial: str | None,
    public_key: str,
    source: KeySource,
    valid_from: datetime,
    now: datetime,
    evse_id: int | None = None,
    note: str | None = None,
    curve: str | None = None,
) -> MeterKey:
    """A key in our one stored form; ``invalid_public_key`` when it cannot be read or is on a
    curve OCMF does not sign with (``curve`` names it for a bare X||Y). An operator's key
    names its meter; a reported one names its meter or at least its EVSE."""
    if source is KeySource.OPERATOR or evse_id is None:
        serial: str | None = required_text(meter_serial or "", "meter_serial", 64)
    else:
        serial = optional_text(meter_serial, "meter_serial", 64)
    try:
        key = read_public_key(public_key, curve)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"not a meter public key: {exc.message}", code="invalid_public_key", field="public_key"
        ) from exc
    if key.curve is None:
        raise InvalidInputError(
            f"the key's curve ({key.curve_oid}) is not one OCMF signs with",
            code="invalid_public_key",
            field="public_key",
        )
    return MeterKey(
        station_id=station_id,
        meter_serial=serial,
        public_key=key.spki_hex,
        curve=key.curve,
        source=source,
        valid_from=valid_from,
        created_at=now,
        evse_id=evse_id,
        note=optional_text(note, "note", 500),
    )


def retired_by(new: MeterKey, existing: Sequence[MeterKey]) -> list[MeterKey]:
    """The keys of the same meter that ``new`` (an operator's key) retires: those still in
    force, retired as of the new key's ``valid_from``. A station's report retires nothing."""
    if new.source is not KeySource.OPERATOR:
        return []
    return [
        replace(key, retired_at=max(new.valid_from, key.valid_from))
        for key in existing
        if key.meter_serial == new.meter_serial
        and key.source is KeySource.OPERATOR
        and key.retired_at is None
        and key.id != new.id
    ]


def key_at(keys: Sequence[MeterKey], meter_serial: str, at: datetime) -> MeterKey | None:
    """The operator's key of ``meter_serial`` in force at ``at`` (None: the registry does
    not know it, so a signature cannot be confirmed)."""
    matches = [
        key
        for key in keys
        if key.meter_serial == meter_serial
        and key.source is KeySource.OPERATOR
        and key.in_force_at(at)
    ]
    return max(matches, key=lambda key: key.valid_from, default=None)


def reported_key_at(keys: Sequence[MeterKey], meter_serial: str, at: datetime) -> MeterKey | None:
    """The newest key the station reported for ``meter_serial`` that was not yet retired at
    ``at``: what a record can be compared with when its carrier brings no key (an OCPP 1.6
    ``SignedData`` value). Its ``valid_from`` is when we first heard of it, not when the meter
    got it, so it is not asked for; the answer is only ever "valid with the key the station
    reported", never a confirmation."""
    matches = [
        key
        for key in keys
        if key.meter_serial == meter_serial
        and key.source.reported
        and (key.retired_at is None or at < key.retired_at)
    ]
    return max(matches, key=lambda key: (key.valid_from, key.created_at), default=None)
