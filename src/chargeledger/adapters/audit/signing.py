"""The installation's checkpoint key (``services.audit.ports.CheckpointSigner``): Ed25519 (RFC
8032) with ``cryptography``.

The key is made on first use and kept as a PKCS#8 PEM file readable by the service user only
(0600, in a 0700 directory: ``adapters/files.py``); it is never printed or logged. Ed25519
signatures are deterministic, so signing a checkpoint again gives the same signature. In a
cluster every node must use one key: point ``CHARGELEDGER_AUDIT_KEY_FILE`` at a shared one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from chargeledger.adapters.files import PRIVATE_FILE, private_directory
from chargeledger.errors import ConfigurationError


def key_id_of(public_key: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, hex: how checkpoints name their key."""
    return hashlib.sha256(public_key).hexdigest()


class Ed25519CheckpointSigner:
    def __init__(self, key_file: Path) -> None:
        self._path = key_file
        self._key: Ed25519PrivateKey | None = None

    def _private(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._load() if self._path.exists() else self._create()
        return self._key

    def _load(self) -> Ed25519PrivateKey:
        key = load_pem_private_key(self._path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(
                f"{self._path} holds no Ed25519 private key", code="invalid_audit_key"
            )
        if self._path.stat().st_mode & 0o077:
            self._path.chmod(PRIVATE_FILE)
        return key

    def _create(self) -> Ed25519PrivateKey:
        """A new key, written atomically; if another process made one meanwhile, that one."""
        private_directory(self._path.parent)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        descriptor, draft = tempfile.mkstemp(dir=self._path.parent, prefix=".key.")  # 0600
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            os.link(draft, self._path)
        except FileExistsError:
            return self._load()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(draft)
        return key

    def _public_bytes(self) -> bytes:
        return self._private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key(self) -> str:
        return self._public_bytes().hex()

    @property
    def key_id(self) -> str:
        return key_id_of(self._public_bytes())

    def sign(self, message: bytes) -> str:
        return self._private().sign(message).hex()

    def verify(self, message: bytes, signature: str, public_key: str | None = None) -> bool:
        try:
            raw = bytes.fromhex(public_key) if public_key is not None else self._public_bytes()
            Ed25519PublicKey.from_public_bytes(raw).verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True
