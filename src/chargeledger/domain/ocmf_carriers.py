"""What stations wrap around an OCMF record, taken off: the record text and the public key
that came with it, if any.

OCPP gives OCMF no one home (see ``shared/notes/ocmf-notes.md`` §3):
- OCPP 1.6 ``SampledValue`` with ``format = SignedData``: KEBA puts the plain ``OCMF|...`` in
  ``value``; the OCA Signed Meter Values application note puts a JSON *string*
  ``{"signedMeterData": base64(OCMF), "encodingMethod": "OCMF", "publicKey": ...}`` there;
  others send the record or key in a vendor ``DataTransfer`` (``{"vendorId", "messageId",
  "data"}``).
- OCPP 2.0.1 ``SignedMeterValueType`` (Part 2 §2.46): ``signedMeterData`` is base64 of the
  record, ``publicKey`` base64 (of DER, of hex text, or of ``{"UK": ...}``).
- Tools append the key as a 4th ``|`` section.

A key that comes this way is what the *station* says; it is compared with the registry,
never trusted on its own (notes §4.1).
"""

from __future__ import annotations

import base64
import binascii
import json
import string
from dataclasses import dataclass
from typing import Any

from chargeledger.domain.ocmf import HEADER, OcmfError, parse_ocmf
from chargeledger.domain.ocmf_keys import normalise_public_key
from chargeledger.domain.station_link import SignedMeterValue

_KEY_FIELDS = ("publicKey", "public_key", "PublicKey", "UK")
_NESTED_FIELDS = ("signedMeterValue", "signedMeterData", "value", "data", "ocmf")
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """The OCMF text and the carrier's key: normalised (hex SPKI DER) when readable, else as
    received, so that the verifier can say why it is not a key."""

    ocmf: str
    public_key: str | None


def unwrap(carrier: str | SignedMeterValue) -> Unwrapped:
    """Find the OCMF record in ``carrier``; OcmfError when there is none."""
    if isinstance(carrier, SignedMeterValue):
        found = _search(carrier.data, 0)
        key = carrier.public_key or (found[1] if found else None)
    else:
        found = _search(carrier, 0)
        key = found[1] if found else None
    if found is None:
        raise OcmfError(
            "no OCMF record found in the input (plain, base64, hex or an OCPP signed meter value)"
        )
    text = found[0]
    if key is None:
        key = _appended_key(text)
    return Unwrapped(ocmf=text, public_key=_normalised(key, text))


def _search(value: Any, depth: int) -> tuple[str, str | None] | None:
    """(OCMF text, key as received) inside ``value``, or None."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return _search_object(value, depth)
    if isinstance(value, list):
        for item in value:
            found = _search(item, depth + 1)
            if found is not None:
                return found
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith(HEADER + "|"):
        return text, None
    if text[:1] in '{["':
        try:
            return _search(json.loads(text), depth + 1)
        except ValueError:
            return None
    decoded = _decoded(text)
    return None if decoded is None else _search(decoded, depth + 1)


def _search_object(value: dict[str, Any], depth: int) -> tuple[str, str | None] | None:
    key = next((value[name] for name in _KEY_FIELDS if isinstance(value.get(name), str)), None)
    for name in _NESTED_FIELDS:
        if name in value:
            found = _search(value[name], depth + 1)
            if found is not None:
                return found[0], found[1] or (key.strip() or None if key else None)
    for name, item in value.items():  # a DataTransfer or message body of another shape
        if name not in _NESTED_FIELDS and isinstance(item, (dict, list)):
            found = _search(item, depth + 1)
            if found is not None:
                return found[0], found[1] or (key.strip() or None if key else None)
    return None


def _decoded(text: str) -> str | None:
    """Base64 (2.0.1 ``signedMeterData``) or hex of text, when it decodes to UTF-8."""
    compact = "".join(text.split())
    raw: bytes | None = None
    if compact and len(compact) % 2 == 0 and all(c in string.hexdigits for c in compact):
        raw = bytes.fromhex(compact)
    else:
        try:
            raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _appended_key(text: str) -> str | None:
    try:
        return parse_ocmf(text).appended_key
    except OcmfError:
        return None


def _normalised(key: str | None, text: str) -> str | None:
    if key is None or not key.strip():
        return None
    try:
        curve = parse_ocmf(text).curve
    except OcmfError:
        curve = None
    try:
        return normalise_public_key(key, curve)
    except OcmfError:
        return key.strip()
