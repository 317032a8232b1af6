"""The simulated stations' Eichrecht meters: each signs its transactions as OCMF records.

Issue 15 needs real signed meter data over real OCPP for the demo and the tests, so every
simulated station carries a meter that behaves like a calibrated one (PTB-A 50.7, OCMF rev
1.4): at the stop it signs one record holding the begin and the end reading of the
transaction (S.A.F.E.'s "MR" shape, ``shared/notes/ocmf-notes.md`` §2) with ECDSA over
secp256r1 and SHA-256 (OCMF table 23, the default ``SA``).

Everything about a meter is a pure function of the simulation seed and the charge point id
(``meter_identity``), so the demo can register each station's key and serial without reading
the simulator's state, and the same seed gives the same records byte for byte (RFC 6979
deterministic ECDSA).

The ``tampered_meter`` fault signs the honest record, then raises the end reading's ``RV`` in
the payload it sends, as if someone had edited the record afterwards: it still parses, its
energy no longer matches the station's OCPP numbers, and its signature no longer verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chargeledger.sim.faults import tampered_by
from chargeledger.sim.live import Live
from chargeledger.sim.model import FaultKind, TokenSpec, TokenType

SIGNING_ALGORITHM = "ECDSA-secp256r1-SHA256"  # OCMF table 23; the default SA since OCMF 0.4
FORMAT_VERSION = "1.0"
GATEWAY_ID = "chargeledger-sim SimCharger"  # GI: maker and model of the signing gateway
IMPORT_REGISTER = "1-b:1.8.0"  # OBIS active energy import (OCMF table 7, RI)
# SEC 2 v2.0 §2.4.2: the order n of secp256r1's base point; a private scalar lies in 1..n-1.
SECP256R1_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# OCMF table 7 (IT): how the driver identified; OCPP's central (app) starts are CENTRAL.
_ID_TYPES = {TokenType.RFID: "ISO14443", TokenType.APP: "CENTRAL"}


class MeterIdentity(NamedTuple):
    """What an operator would copy off a meter's type plate: its serial and public key
    (lowercase hex of the SubjectPublicKeyInfo DER, the registry's stored form)."""

    serial: str
    public_key_hex: str


@dataclass(frozen=True, slots=True)
class MeteredTransaction:
    """One transaction as the meter measured it: true register values in Wh and the station
    clock's times (aware). ``pagination`` is the meter's transaction counter (PG ``T<n>``)."""

    meter_serial: str
    gateway_serial: str
    pagination: int
    id_tag: str
    id_type: str
    evse: str
    started_at: datetime
    start_wh: int
    stopped_at: datetime
    stop_wh: int


def _digest(seed: int, charge_point_id: str, purpose: str) -> bytes:
    """SHA-256 of ``<seed>:<charge point id>:<purpose>`` (the separators keep seed 1 with
    "2X" apart from seed 12 with "X")."""
    return hashlib.sha256(f"{seed}:{charge_point_id}:{purpose}".encode()).digest()


def meter_key(seed: int, charge_point_id: str) -> ec.EllipticCurvePrivateKey:
    """The station's signing key: private scalar = SHA-256("<seed>:<charge point id>:meter-key")
    mod n (1 should that be zero). A simulation key, guessable by design: never a real
    meter's."""
    scalar = int.from_bytes(_digest(seed, charge_point_id, "meter-key"), "big") % SECP256R1_ORDER
    return ec.derive_private_key(scalar or 1, ec.SECP256R1())


def public_key_hex(key: ec.EllipticCurvePrivateKey) -> str:
    """The public half as lowercase hex of its SubjectPublicKeyInfo DER (RFC 5480)."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der.hex()


def meter_serial(seed: int, charge_point_id: str) -> str:
    """A meter serial of 13 characters (OCPP 1.6 ``meterSerialNumber`` allows 25)."""
    return "SIM" + _digest(seed, charge_point_id, "meter-serial").hex()[:10].upper()


def oca_public_key(public_key_hex: str) -> str:
    """The key as the OCA application note "Signed Meter Values in OCPP" v1.0 §3.2.2 wants it
    in a ``publicKey`` field or a ``MeterPublicKey<n>`` / ``FiscalMetering.PublicKey`` value:
    base64 of ``oca:base16:asn1:<the key as printed on the meter>``, printed here in groups of
    four hex digits as meters' labels do."""
    printed = " ".join(public_key_hex[i : i + 4] for i in range(0, len(public_key_hex), 4))
    return base64.b64encode(f"oca:base16:asn1:{printed}".encode("ascii")).decode("ascii")


def meter_identity(seed: int, charge_point_id: str) -> MeterIdentity:
    """The serial and public key of the station's meter, without running anything."""
    return MeterIdentity(
        meter_serial(seed, charge_point_id), public_key_hex(meter_key(seed, charge_point_id))
    )


def ocmf_time(moment: datetime) -> str:
    """OCMF table 7 ``TM``: local time with comma milliseconds, offset without colon, then
    the clock status (S: synchronised). Stated in UTC here."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S},{utc.microsecond // 1000:03d}+0000 S"


def kwh_text(wh: int) -> str:
    """A register in kWh with exactly three decimals (``RV`` states its own resolution)."""
    sign = "-" if wh < 0 else ""
    return f"{sign}{abs(wh) // 1000}.{abs(wh) % 1000:03d}"


class _Number(str):
    """A JSON number written exactly as this text (``1234.500`` keeps its zeros)."""


def _json(value: object) -> str:
    """Compact JSON in the order given; numbers of ``_Number`` written as they are."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(k)}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ",".join(_json(item) for item in value) + "]"
    return json.dumps(value)


def _payload(transaction: MeteredTransaction, end_wh: int) -> str:
    """The payload section (OCMF tables 1-7): one record with the begin (B) and end (E)
    readings of the import register."""
    reading = {"RI": IMPORT_REGISTER, "RU": "kWh", "ST": "G"}
    return _json(
        {
            "FV": FORMAT_VERSION,
            "GI": GATEWAY_ID,
            "GS": transaction.gateway_serial,
            "PG": f"T{transaction.pagination}",
            "MS": transaction.meter_serial,
            "IS": True,
            "IT": transaction.id_type,
            "ID": transaction.id_tag,
            "CT": "EVSEID",
            "CI": transaction.evse,
            "RD": [
                {
                    "TM": ocmf_time(transaction.started_at),
                    "TX": "B",
                    "RV": _Number(kwh_text(transaction.start_wh)),
                    **reading,
                },
                {
                    "TM": ocmf_time(transaction.stopped_at),
                    "TX": "E",
                    "RV": _Number(kwh_text(end_wh)),
                    **reading,
                },
            ],
        }
    )


def signed_record(
    key: ec.EllipticCurvePrivateKey,
    transaction: MeteredTransaction,
    *,
    tampered_by_wh: int = 0,
    forged: bool = False,
) -> str:
    """``OCMF|{payload}|{"SA":...,"SD":<hex DER>}``, signed over the payload's exact bytes.

    With ``tampered_by_wh`` the honest payload is signed and a payload whose end reading is
    that much higher is sent with that signature (the ``tampered_meter`` fault); ``forged``
    signs the honest payload with a key that is not the meter's (``bad_meter_signature``)."""
    honest = _payload(transaction, transaction.stop_wh)
    if forged:
        key = meter_key(0, f"forger of {transaction.meter_serial}")
    signature = key.sign(
        honest.encode("utf-8"), ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    )
    sent = (
        honest
        if not tampered_by_wh
        else _payload(transaction, transaction.stop_wh + tampered_by_wh)
    )
    return f"OCMF|{sent}|{_json({'SA': SIGNING_ALGORITHM, 'SD': signature.hex().upper()})}"


def id_type(token: TokenSpec) -> str:
    return _ID_TYPES.get(token.type, "CENTRAL")


class StationMeter:
    """The meter of one simulated station: its key, serial and transaction counter (PG
    ``T<n>``, +1 per record, OCMF table 2: gaps and repeats are what a verifier looks for)."""

    def __init__(self, seed: int, charge_point_id: str) -> None:
        self.charge_point_id = charge_point_id
        self.key = meter_key(seed, charge_point_id)
        self.serial = meter_serial(seed, charge_point_id)
        self.public_key_hex = public_key_hex(self.key)
        self.records = 0

    def sign(self, live: Live, station_time: Callable[[int], datetime]) -> str:
        """The record of a stopped session: the true start and stop registers, at the times
        of the station's clock (``station_time`` of a simulated second)."""
        plan = live.plan
        if live.meter_stop_wh is None or live.stop_offset_s is None:
            raise ValueError(f"session {live.key} has not stopped")
        self.records += 1
        transaction = MeteredTransaction(
            meter_serial=self.serial,
            gateway_serial=self.charge_point_id,
            pagination=self.records,
            id_tag=plan.token.uid,
            id_type=id_type(plan.token),
            evse=f"{self.charge_point_id}*{plan.evse.evse_id}",
            started_at=station_time(plan.start_s),
            start_wh=live.meter_start_wh,
            stopped_at=station_time(plan.start_s + live.stop_offset_s),
            stop_wh=live.meter_stop_wh,
        )
        forged = plan.fault is FaultKind.BAD_METER_SIGNATURE
        return signed_record(self.key, transaction, tampered_by_wh=tampered_by(plan), forged=forged)
