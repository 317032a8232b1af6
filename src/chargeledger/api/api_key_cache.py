"""API keys answered from memory for a few seconds (issue 17).

An integration polls with the same key many times a second; reading the key's row on every
request was half of the database work of a one-query list. A key that authenticated is
remembered here, by the SHA-256 digest of what was presented (never the secret itself), for
``ttl_seconds`` (5 by default); failures are never remembered, so a new key works at once and
a wrong one is always checked against the database.

The bound on revocation: a key revoked through this process's API (``DELETE
/api/v1/api-keys/{id}``) is forgotten by the route before it answers, so it is refused from
the next request on, as before. A key revoked elsewhere (``chargeledger api-keys revoke``,
another node) is refused at the latest ``ttl_seconds`` after that commit. The cache holds at
most ``max_entries`` keys (1,024 by default): when full, the entry closest to expiry goes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from chargeledger.domain.identity import Principal

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 1024


def digest(presented: str) -> bytes:
    """What a presented key is remembered by: its SHA-256, not the secret."""
    return hashlib.sha256(presented.encode()).digest()


class ApiKeyCache:
    """Principals of recently authenticated API keys; per process, bounded in size and age."""

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        # Insertion order is expiry order (one TTL for all), so the first entry goes first.
        self._entries: dict[bytes, tuple[float, Principal]] = {}
        # Counts revocations: a look-up that began before one must not store what it read.
        self.generation = 0

    def get(self, key_digest: bytes) -> Principal | None:
        """The principal if the key authenticated less than ``ttl_seconds`` ago."""
        entry = self._entries.get(key_digest)
        if entry is None:
            return None
        expires, principal = entry
        if self._monotonic() >= expires:
            del self._entries[key_digest]
            return None
        return principal

    def put(self, key_digest: bytes, principal: Principal, *, generation: int) -> None:
        """Remember a key that has just authenticated against the database; ``generation`` is
        the cache's when that look-up began. If a key was revoked meanwhile, nothing is stored:
        the look-up may have read the revoked key as it was before the revocation's commit."""
        if generation != self.generation:
            return
        self._entries.pop(key_digest, None)
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key_digest] = (self._monotonic() + self.ttl_seconds, principal)

    def forget(self, subject: str) -> None:
        """Drop every entry of one key (by its principal's subject): it was just revoked."""
        self.generation += 1
        for key_digest in [d for d, (_, p) in self._entries.items() if p.subject == subject]:
            del self._entries[key_digest]

    def __len__(self) -> int:
        return len(self._entries)
