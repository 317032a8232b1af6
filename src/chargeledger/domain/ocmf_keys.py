"""Meter public keys in every form stations and tools send, brought to one form.

OCMF wants the key out of band (OCMF §5.4) and says nothing of its encoding, so what arrives
varies: SubjectPublicKeyInfo DER (RFC 5480) as hex or base64, base64 of the *hex text* of the
DER (the OCA Signed Meter Values note's §5.2 example), the note's own composition
``oca:<encoding>:<content-type>:<printed key>`` (§3.2.2, base64'd in an OCPP ``publicKey`` or a
``MeterPublicKey<n>`` / ``FiscalMetering.PublicKey`` value), base64 of ``{"UK": "<hex DER>"}``
(KEBA P30 over OCPP 2.0.1), PEM, or a bare 64-byte X||Y (Isabellenhuette), whose curve only the
record's ``SA`` can name. Our one form is the lowercase hex of the SPKI DER, so two spellings of
the same key compare equal and a registry can store it once.

Pure: a small DER reader (ITU-T X.690) and the curve OIDs of SEC 2 and RFC 5639.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import string
from dataclasses import dataclass

from chargeledger.domain.ocmf import OcmfError

EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"  # RFC 5480 §2.1.1 id-ecPublicKey
# Curve name -> (OID, coordinate size in bytes): SEC 2 v2.0 §2 and RFC 5639 §4.1.
CURVES: dict[str, tuple[str, int]] = {
    "secp192k1": ("1.3.132.0.31", 24),
    "secp192r1": ("1.2.840.10045.3.1.1", 24),
    "secp256k1": ("1.3.132.0.10", 32),
    "secp256r1": ("1.2.840.10045.3.1.7", 32),
    "secp384r1": ("1.3.132.0.34", 48),
    "brainpoolP256r1": ("1.3.36.3.3.2.8.1.1.7", 32),
    "brainpoolP384r1": ("1.3.36.3.3.2.8.1.1.11", 48),
}
_CURVE_OF_OID = {oid: name for name, (oid, _size) in CURVES.items()}
_SEQUENCE, _BIT_STRING, _OID, _INTEGER = 0x30, 0x03, 0x06, 0x02
OCA_MARKER = "oca:"  # OCA application note "Signed Meter Values in OCPP" v1.0, §3.2.2
_HEX_PREFIX = re.compile("0x", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MeterPublicKey:
    """An EC public key: its curve (None when the OID is not one OCMF uses) and the
    uncompressed point ``04 || X || Y``."""

    curve: str | None
    point: bytes
    curve_oid: str

    @property
    def spki_hex(self) -> str:
        """Our stored form: lowercase hex of the SubjectPublicKeyInfo DER."""
        return spki_der(self.curve_oid, self.point).hex()


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """One DER element at ``offset``: (tag, content, offset after it); OcmfError if cut."""
    if offset + 2 > len(data):
        raise OcmfError("DER data ends early")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise OcmfError("DER length is unreadable")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise OcmfError("DER data ends early")
    return tag, data[offset:end], end


def read_elements(data: bytes) -> list[tuple[int, bytes]]:
    """The elements that fill ``data`` exactly (a SEQUENCE's content)."""
    elements, offset = [], 0
    while offset < len(data):
        tag, content, offset = read_tlv(data, offset)
        elements.append((tag, content))
    return elements


def spki_der(curve_oid: str, point: bytes) -> bytes:
    algorithm = _der(
        _SEQUENCE, _der(_OID, _encode_oid(EC_PUBLIC_KEY_OID)) + _der(_OID, _encode_oid(curve_oid))
    )
    return _der(_SEQUENCE, algorithm + _der(_BIT_STRING, b"\x00" + point))


def read_public_key(text: str, curve: str | None = None) -> MeterPublicKey:
    """Any form of key we know (see the module docstring). ``curve`` (from the record's
    ``SA``) is needed only for a bare X||Y. OcmfError names what could not be read."""
    cleaned = _strip_pem(text.strip())
    if not cleaned:
        raise OcmfError("the public key is empty")
    if cleaned[:4].lower() == OCA_MARKER:
        return _from_bytes(_oca_printed_key(cleaned), curve)
    if _is_hex(cleaned):
        return _from_bytes(bytes.fromhex(cleaned), curve)
    decoded = _base64(cleaned)
    if decoded is None:
        raise OcmfError("the public key is neither hex nor base64")
    if decoded[:1] == b"\x30":
        return _from_bytes(decoded, curve)
    inner = decoded.decode("utf-8", errors="replace").strip()
    if inner[:4].lower() == OCA_MARKER:  # base64 of the note's composition (§3.2.2)
        return _from_bytes(_oca_printed_key(inner), curve)
    if _is_hex(inner):  # base64 of the hex text of the DER (OCA application note)
        return _from_bytes(bytes.fromhex(inner), curve)
    unwrapped = _uk_value(inner)
    if unwrapped is not None:  # base64 of {"UK": "<hex DER>"} (KEBA P30)
        return read_public_key(unwrapped, curve)
    raise OcmfError("the public key decodes to nothing we can read")


def normalise_public_key(text: str, curve: str | None = None) -> str:
    """The key's stored form (hex SPKI DER); OcmfError when it cannot be read."""
    return read_public_key(text, curve).spki_hex


def coordinate_size(curve: str) -> int | None:
    known = CURVES.get(curve)
    return None if known is None else known[1]


def _from_bytes(data: bytes, curve: str | None) -> MeterPublicKey:
    try:
        if data[:1] == b"\x30":
            return _from_spki(data)
    except OcmfError:
        if curve is None:
            raise  # else: perhaps a bare X||Y whose X starts with 0x30
    if curve is None:
        raise OcmfError("a bare X||Y public key needs the curve, from the record's SA")
    known = CURVES.get(curve)
    if known is None:
        raise OcmfError(f"the curve {curve} is not one OCMF signs with")
    oid, size = known
    if len(data) == 2 * size:
        return MeterPublicKey(curve, b"\x04" + data, oid)
    if len(data) == 2 * size + 1 and data[0] == 4:
        return MeterPublicKey(curve, data, oid)
    raise OcmfError(
        f"the public key is {len(data)} bytes: neither an SPKI DER nor a point on {curve}"
    )


def _from_spki(data: bytes) -> MeterPublicKey:
    tag, content, end = read_tlv(data)
    if tag != _SEQUENCE or end != len(data):
        raise OcmfError("the public key is not one DER SubjectPublicKeyInfo")
    elements = read_elements(content)
    if len(elements) != 2 or elements[0][0] != _SEQUENCE or elements[1][0] != _BIT_STRING:
        raise OcmfError("the public key is not a SubjectPublicKeyInfo")
    algorithm = read_elements(elements[0][1])
    if len(algorithm) != 2 or algorithm[0] != (_OID, _encode_oid(EC_PUBLIC_KEY_OID)):
        raise OcmfError("the public key is not an elliptic-curve key (RFC 5480)")
    if algorithm[1][0] != _OID:
        raise OcmfError("the public key names no named curve (RFC 5480 §2.1.1)")
    curve_oid = _decode_oid(algorithm[1][1])
    bits = elements[1][1]
    if bits[:1] != b"\x00" or bits[1:2] != b"\x04":
        raise OcmfError("the public key's point is not uncompressed (SEC 1 §2.3.3)")
    return MeterPublicKey(_CURVE_OF_OID.get(curve_oid), bits[1:], curve_oid)


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def _encode_oid(dotted: str) -> bytes:
    numbers = [int(part) for part in dotted.split(".")]
    out = bytearray([numbers[0] * 40 + numbers[1]])
    for number in numbers[2:]:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def _decode_oid(data: bytes) -> str:
    if not data:
        raise OcmfError("empty OID in the public key")
    numbers = [data[0] // 40, data[0] % 40]
    value = 0
    for byte in data[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(value)
            value = 0
    return ".".join(str(number) for number in numbers)


def _oca_printed_key(text: str) -> bytes:
    """The DER of ``oca:<encoding>:<content-type>:<printed-public-key>`` (OCA application note
    "Signed Meter Values in OCPP" v1.0 §3.2.2, tables 2 and 3): ``base16`` is read
    case-insensitively ignoring anything not hexadecimal and a ``0x`` prefix (a meter's label
    groups the digits as its maker likes), ``base64`` is plain base64; the one content type
    is ``asn1``, the DER structure naming the algorithm, its parameters and the key."""
    parts = text.split(":", 3)
    if len(parts) != 4:
        raise OcmfError("an oca: public key has four parts: oca:<encoding>:<content-type>:<key>")
    _marker, encoding, content_type, printed = parts
    if content_type.strip().lower() != "asn1":
        raise OcmfError(f"the oca: public key's content type {content_type!r} is not asn1")
    encoding = encoding.strip().lower()
    if encoding == "base16":
        digits = "".join(c for c in _HEX_PREFIX.sub("", printed) if c in string.hexdigits)
        if not digits or len(digits) % 2:
            raise OcmfError("the oca: public key's base16 digits are not whole bytes")
        return bytes.fromhex(digits)
    if encoding == "base64":
        der = _base64(printed)
        if not der:
            raise OcmfError("the oca: public key's base64 cannot be read")
        return der
    raise OcmfError(f"the oca: public key's encoding {encoding!r} is not base16 or base64")


def _strip_pem(text: str) -> str:
    if "-----BEGIN" not in text:
        return text
    return "".join(line for line in text.splitlines() if not line.startswith("-----"))


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(char in string.hexdigits for char in text)


def _base64(text: str) -> bytes | None:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _uk_value(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("UK"), str):
        return str(value["UK"])
    return None
