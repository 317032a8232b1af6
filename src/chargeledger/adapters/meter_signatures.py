"""OCMF signatures checked with ``cryptography`` (the ``MeterSignatureVerifier`` port).

OCMF §5.3 (table 23) allows ECDSA with SHA-256 over secp192k1, secp192r1, secp256k1,
secp256r1, secp384r1, brainpool256r1 and brainpool384r1. ``cryptography`` (OpenSSL) knows all
of them but secp192k1, so that one curve goes through the pure-Python ``ecdsa`` package with
the curve defined here from SEC 2 v2.0 §2.2.1 (``ecdsa`` does not ship it either).

What real meters send, and we accept (``shared/notes/ocmf-notes.md`` §1, conformance README
§3): ``SA`` absent (the default), both brainpool spellings, ``SE`` base64, DER signatures with
fixed-width or unpadded integers (eBZ; OpenSSL refuses them, so the DER is read here as
unsigned integers and re-encoded), raw ``r || s`` despite ``SM`` DER (Isabellenhuette), and
keys as SPKI or bare X||Y (``domain.ocmf_keys``). A key on another curve than ``SA`` names is
an invalid signature, never a pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable

import ecdsa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chargeledger.domain.ocmf import OcmfError, OcmfRecord, SignatureCheck, SignatureVerdict
from chargeledger.domain.ocmf_keys import (
    CURVES,
    MeterPublicKey,
    coordinate_size,
    read_elements,
    read_public_key,
    read_tlv,
)

_OPENSSL_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "secp192r1": ec.SECP192R1,
    "secp256r1": ec.SECP256R1,
    "secp256k1": ec.SECP256K1,
    "secp384r1": ec.SECP384R1,
    "brainpoolP256r1": ec.BrainpoolP256R1,
    "brainpoolP384r1": ec.BrainpoolP384R1,
}
_HASHES: dict[str, tuple[Callable[[], hashes.HashAlgorithm], Callable[..., object]]] = {
    "SHA256": (hashes.SHA256, hashlib.sha256),
    "SHA384": (hashes.SHA384, hashlib.sha384),
    "SHA512": (hashes.SHA512, hashlib.sha512),
}


def _secp192k1() -> ecdsa.curves.Curve:
    """SEC 2 v2.0 §2.2.1: y^2 = x^3 + 3 over F_p, base point G of prime order n, h = 1."""
    p = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFEE37
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFE26F2FC170F69466A74DEFD8D
    gx = 0xDB4FF10EC057E9AE26B07D0280B7F4341DA5D1B1EAE06C7D
    gy = 0x9B2F2F6D9C5628A7844163D015BE86344082AA88D95E2F9D
    curve = ecdsa.ellipticcurve.CurveFp(p, 0, 3, 1)
    generator = ecdsa.ellipticcurve.PointJacobi(curve, gx, gy, 1, n, generator=True)
    return ecdsa.curves.Curve("SECP192k1", curve, generator, (1, 3, 132, 0, 31))


SECP192K1 = _secp192k1()


class OcmfSignatureVerifier:
    """Checks one record against one public key (any form ``read_public_key`` reads)."""

    def check(self, record: OcmfRecord, public_key: str | None) -> SignatureCheck:
        if public_key is None or not public_key.strip():
            return SignatureCheck(SignatureVerdict.UNKNOWN_KEY, "no public key to check with")
        curve, hash_name = record.curve, record.hash_name
        if curve not in CURVES or hash_name not in _HASHES:
            return _malformed(f"unsupported signature algorithm (SA) {record.algorithm!r}")
        try:
            key = read_public_key(public_key, curve)
        except OcmfError as exc:
            return _malformed(f"unreadable public key: {exc.message}")
        if key.curve != curve:
            return SignatureCheck(
                SignatureVerdict.INVALID_SIGNATURE,
                f"the key is on {key.curve or key.curve_oid}, the record is signed with "
                f"{curve} (SA {record.algorithm})",
            )
        try:
            r, s = _signature_numbers(record, curve)
        except OcmfError as exc:
            return _malformed(f"unreadable signature (SD): {exc.message}")
        try:
            good = _verify(key, curve, hash_name, record.signed_bytes, r, s)
        except ValueError as exc:
            return _malformed(f"the public key is not a point on {curve}: {exc}")
        if not good:
            return SignatureCheck(
                SignatureVerdict.INVALID_SIGNATURE,
                "the signature does not match the payload and key (altered record or other key)",
            )
        return SignatureCheck(
            SignatureVerdict.VALID,
            f"signature valid: ECDSA {curve} {hash_name} over the payload as received",
        )


def _malformed(detail: str) -> SignatureCheck:
    return SignatureCheck(SignatureVerdict.MALFORMED, detail)


def _signature_numbers(record: OcmfRecord, curve: str) -> tuple[int, int]:
    """(r, s) from ``SD``: hex or base64 (``SE``), DER read leniently, or raw ``r || s``."""
    text = "".join(record.signature_data.split())
    try:
        if record.encoding.lower() == "base64":
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        else:
            data = bytes.fromhex(text)
    except (binascii.Error, ValueError) as exc:
        raise OcmfError(f"not {record.encoding}") from exc
    size = coordinate_size(curve) or 0
    if data[:1] == b"\x30":
        try:
            return _lenient_der(data)
        except OcmfError:
            if len(data) != 2 * size:
                raise
    if len(data) == 2 * size:  # raw r || s (Isabellenhuette), whatever SM says
        return int.from_bytes(data[:size], "big"), int.from_bytes(data[size:], "big")
    raise OcmfError(f"{len(data)} bytes, neither DER nor r||s for {curve}")


def _lenient_der(data: bytes) -> tuple[int, int]:
    """``SEQUENCE { INTEGER r, INTEGER s }`` with the integers read as unsigned, however
    they are padded (X.690 wants minimal two's complement; eBZ meters pad to fixed width)."""
    tag, content, end = read_tlv(data)
    if tag != 0x30 or end != len(data):
        raise OcmfError("not one DER sequence")
    elements = read_elements(content)
    if len(elements) != 2 or any(tag != 0x02 or not value for tag, value in elements):
        raise OcmfError("the DER sequence does not hold two integers")
    return int.from_bytes(elements[0][1], "big"), int.from_bytes(elements[1][1], "big")


def _verify(key: MeterPublicKey, curve: str, hash_name: str, data: bytes, r: int, s: int) -> bool:
    openssl_hash, stdlib_hash = _HASHES[hash_name]
    if curve == "secp192k1":
        return _verify_secp192k1(key.point, stdlib_hash, data, r, s)
    public = ec.EllipticCurvePublicKey.from_encoded_point(_OPENSSL_CURVES[curve](), key.point)
    try:
        public.verify(encode_dss_signature(r, s), data, ec.ECDSA(openssl_hash()))
    except InvalidSignature:
        return False
    return True


def _verify_secp192k1(
    point: bytes, hash_function: Callable[..., object], data: bytes, r: int, s: int
) -> bool:
    order = SECP192K1.order
    if not (0 < r < order and 0 < s < order):
        return False
    try:
        verifying = ecdsa.VerifyingKey.from_string(point, curve=SECP192K1, hashfunc=hash_function)
    except ecdsa.errors.MalformedPointError as exc:
        raise ValueError(str(exc)) from exc
    signature = ecdsa.util.sigencode_string(r, s, order)
    try:
        return bool(verifying.verify(signature, data, sigdecode=ecdsa.util.sigdecode_string))
    except ecdsa.BadSignatureError:
        return False
