"""Record ids: UUIDs of version 7 (RFC 9562 §5.7), ordered by the millisecond they were made in.

Every stored record's id is the key of an index, and a month's bookings write a million charges,
entries and several million postings. Random ids (version 4) put each new key anywhere in its
index, so each insert touched pages all over a large index: booking slowed as the ledger grew
(``bench/billing_run.py`` on SQLite: 4,800 priced CDRs a second at 100,000 CDRs, 3,100 at a
million). Keys that grow with time are added where the last ones were: 300,000 CDRs booked in
58.7 s instead of 80.4 s, the storing alone 35.7 s instead of 57.6 (same run, same machine);
PostgreSQL's B-tree indexes gain the same way.

An id still has 74 random bits (RFC 9562 §6.9: unguessable enough for an id, which is never a
secret here: every read is authorised); what it adds is the millisecond it was made, which the
record's own timestamps tell anyway. Secrets and one-off keys (API keys, tokens, message ids,
idempotency keys) keep ``uuid4`` or ``secrets``.

On Python 3.14 and later the standard library's ``uuid.uuid7`` is used (monotonic within a
millisecond, RFC 9562 §6.2 method 1); before that, the random bits of ids made in the same
millisecond are not ordered among themselves, which RFC 9562 allows and an index does not mind.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

_RANDOM_A = 12  # bits after the version (rand_a)
_RANDOM_B = 62  # bits after the variant (rand_b)


def _uuid7() -> uuid.UUID:
    """48 bits of Unix milliseconds, version 7, 12 random bits, variant 0b10, 62 random bits."""
    milliseconds = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10), "big")  # 80 bits, of which 74 are used
    value = (
        (milliseconds & (1 << 48) - 1) << 80
        | 0x7 << 76
        | (random >> _RANDOM_B & (1 << _RANDOM_A) - 1) << 64
        | 0b10 << 62
        | random & (1 << _RANDOM_B) - 1
    )
    return uuid.UUID(int=value)


_make: Callable[[], uuid.UUID] = getattr(uuid, "uuid7", _uuid7)


def new_id() -> uuid.UUID:
    """A new record id: a UUID of version 7 (see the module)."""
    return _make()
