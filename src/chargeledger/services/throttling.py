"""Throttling of password checks: failed attempts per subject (user, charge point) and per
client address, and concurrent checks per address (DESIGN §6: human passwords "throttled";
OWASP ASVS 2.2.1 and NIST SP 800-63B §5.2.2: limit failed attempts, without locking the
real owner out for good).

Failures back off exponentially: the first ``free_failures`` cost nothing, each one after
them closes the door for ``base_delay`` × 2^(n − free − 1), at most ``max_delay``; a quiet
``max_delay`` after the door reopened forgets them. The subject throttle stops guessing one
password; the address throttle stops spraying a few guesses over many users, so a subject's
failures count for its address only up to the subject's own limit. A success clears the
subject's failures, not the address's: one account an attacker knows must not wash a password
spray clean. Concurrent checks per address above a cap are refused at once (no queue to fill).

The state lives in this process (a cluster's nodes each count on their own) and is bounded:
at most ``max_tracked`` subjects and addresses each, the longest-quiet forgotten first, keys
kept as fixed-size digests, so rotating user names cannot grow memory without limit.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from chargeledger.errors import TooManyAttemptsError
from chargeledger.services.ports import Clock

ADDRESS_CONCURRENCY_RETRY_SECONDS = 1


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Limits of one kind of credential check (logins, station handshakes)."""

    subject_free_failures: int = 5
    address_free_failures: int = 20
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)
    concurrent_per_address: int = 4
    max_tracked: int = 10_000


def address_key(host: str | None) -> str:
    """The unit an address counts as: an IPv4 address, or the /64 of an IPv6 address (one
    subscriber's prefix: rotating through it must not reset the count)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(slots=True)
class _Failures:
    count: int
    last: datetime
    closed_until: datetime | None = None


class AttemptThrottle:
    """Failed attempts per key with exponential backoff, in a bounded table."""

    def __init__(
        self,
        clock: Clock,
        *,
        free_failures: int,
        base_delay: timedelta,
        max_delay: timedelta,
        max_tracked: int,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._base = base_delay
        self._max = max_delay
        self._capacity = max_tracked
        self._table: OrderedDict[bytes, _Failures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._table)

    def wait_seconds(self, key: str) -> int:
        """Whole seconds until ``key`` may try again; 0 when it may now."""
        entry = self._current(_digest(key))
        if entry is None or entry.closed_until is None:
            return 0
        remaining = (entry.closed_until - self._clock.now()).total_seconds()
        return max(0, math.ceil(remaining))

    def failed(self, key: str) -> int:
        """Count a failure of ``key``; returns its failures so far."""
        digest, now = _digest(key), self._clock.now()
        entry = self._current(digest)
        if entry is None:
            entry = self._table[digest] = _Failures(0, now)
        entry.count += 1
        entry.last = now
        if entry.count > self._free:
            doublings = min(entry.count - self._free - 1, 30)
            entry.closed_until = now + min(self._base * 2**doublings, self._max)
        self._table.move_to_end(digest)
        while len(self._table) > self._capacity:
            self._table.popitem(last=False)
        return entry.count

    def clear(self, key: str) -> None:
        self._table.pop(_digest(key), None)

    def _current(self, digest: bytes) -> _Failures | None:
        """The entry of ``digest`` unless a quiet ``max_delay`` after its door reopened has
        forgotten it."""
        entry = self._table.get(digest)
        if entry is None:
            return None
        reopened = entry.closed_until or entry.last
        if self._clock.now() >= reopened + self._max:
            del self._table[digest]
            return None
        return entry


class ConcurrencyCap:
    """At most ``limit`` checks in flight per key; entries exist only while checks run."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._running: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._running)

    def try_enter(self, key: str) -> bool:
        running = self._running.get(key, 0)
        if running >= self._limit:
            return False
        self._running[key] = running + 1
        return True

    def leave(self, key: str) -> None:
        running = self._running.get(key, 0) - 1
        if running > 0:
            self._running[key] = running
        else:
            self._running.pop(key, None)


class Attempt:
    """One admitted attempt: run the slow check inside ``verifying()``, then say how it
    ended with ``failed()`` or ``succeeded()``."""

    def __init__(self, guard: CredentialGuard, subject: str, address: str) -> None:
        self._guard, self._subject, self._address = guard, subject, address

    @contextmanager
    def verifying(self) -> Iterator[None]:
        """Hold one of the address's concurrent-check slots, or raise ``too_many_attempts``
        at once when they are all taken."""
        if not self._guard.in_flight.try_enter(self._address):
            raise self._guard.refusal(
                "at once from this address", ADDRESS_CONCURRENCY_RETRY_SECONDS
            )
        try:
            yield
        finally:
            self._guard.in_flight.leave(self._address)

    def failed(self) -> None:
        """A subject's failures count for its address only up to the subject's own limit:
        beyond it the subject throttle rules, and one misconfigured station (or user) must
        not close the address for everyone behind the same NAT."""
        failures = self._guard.subjects.failed(self._subject)
        if failures <= self._guard.policy.subject_free_failures:
            self._guard.addresses.failed(self._address)

    def succeeded(self) -> None:
        self._guard.subjects.clear(self._subject)


class CredentialGuard:
    """The throttles of one kind of credential check, shared by every request of a process."""

    def __init__(self, clock: Clock, policy: ThrottlePolicy, *, what: str) -> None:
        self.policy = policy
        self.refused = 0  # attempts turned away since the process started
        self._what = what
        self.subjects = _throttle(clock, policy, policy.subject_free_failures)
        self.addresses = _throttle(clock, policy, policy.address_free_failures)
        self.in_flight = ConcurrencyCap(policy.concurrent_per_address)

    def attempt(self, subject: str, client_host: str | None) -> Attempt:
        """Admit one attempt on ``subject``'s secret from ``client_host``, or raise
        ``too_many_attempts`` (with the whole seconds to wait) without checking anything."""
        address = address_key(client_host)
        wait = max(self.subjects.wait_seconds(subject), self.addresses.wait_seconds(address))
        if wait:
            raise self.refusal(f"failed; try again in {wait} s", wait)
        return Attempt(self, subject, address)

    def refusal(self, why: str, retry_after: int) -> TooManyAttemptsError:
        self.refused += 1
        return TooManyAttemptsError(f"too many {self._what} {why}", retry_after=retry_after)


def _throttle(clock: Clock, policy: ThrottlePolicy, free_failures: int) -> AttemptThrottle:
    return AttemptThrottle(
        clock,
        free_failures=free_failures,
        base_delay=policy.base_delay,
        max_delay=policy.max_delay,
        max_tracked=policy.max_tracked,
    )


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode(), digest_size=16).digest()
