"""The throttles of password checks (issue 11 item 2), on a clock the test advances: backoff
after the free failures, reset on success, forgetting after a quiet period, the address
dimension, bounded memory, and the per-address concurrency cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chargeledger.errors import TooManyAttemptsError
from chargeledger.services.throttling import (
    AttemptThrottle,
    CredentialGuard,
    ThrottlePolicy,
    address_key,
)


class SteppingClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


POLICY = ThrottlePolicy(
    subject_free_failures=3,
    address_free_failures=5,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    concurrent_per_address=2,
    max_tracked=100,
)


def fail(guard: CredentialGuard, subject: str, host: str = "192.0.2.1") -> None:
    guard.attempt(subject, host).failed()


def refusal(guard: CredentialGuard, subject: str, host: str = "192.0.2.1") -> int:
    with pytest.raises(TooManyAttemptsError) as refused:
        guard.attempt(subject, host)
    assert refused.value.code == "too_many_attempts"
    assert refused.value.http_status == 429
    return refused.value.retry_after


def test_backoff_doubles_after_the_free_failures_up_to_the_ceiling() -> None:
    clock = SteppingClock()
    guard = CredentialGuard(clock, POLICY, what="logins")
    for _ in range(3):
        fail(guard, "ana@example.org")  # free
    guard.attempt("ana@example.org", "192.0.2.1")  # still admitted
    waits = []
    for _ in range(8):
        fail(guard, "ana@example.org")
        wait = refusal(guard, "ana@example.org")
        waits.append(wait)
        clock.advance(wait - 0.5)
        assert refusal(guard, "ana@example.org") == 1  # whole seconds, rounded up
        clock.advance(0.5)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_success_clears_the_subject_but_not_the_address() -> None:
    clock = SteppingClock()
    guard = CredentialGuard(clock, POLICY, what="logins")
    for _ in range(4):
        fail(guard, "ana@example.org")  # the address counts 3: up to ana's own limit
    assert refusal(guard, "ana@example.org") == 1
    clock.advance(1)
    guard.attempt("ana@example.org", "192.0.2.1").succeeded()
    for _ in range(2):
        fail(guard, "ana@example.org")
    guard.attempt("ana@example.org", "192.0.2.1")  # her count started again: 2 of 3 free
    fail(guard, "bo@example.org")  # the address's 6th failure: its 5 free ones are used up
    assert refusal(guard, "ana@example.org") == 1


def test_a_quiet_period_forgets_the_failures() -> None:
    clock = SteppingClock()
    guard = CredentialGuard(clock, POLICY, what="logins")
    for _ in range(4):
        fail(guard, "ana@example.org")
    assert refusal(guard, "ana@example.org") == 1
    clock.advance(1 + 60)  # the door reopened, then a quiet max_delay
    fail(guard, "ana@example.org")
    guard.attempt("ana@example.org", "192.0.2.1")  # counted from one again
    assert len(guard.subjects) == 1


def test_spraying_many_users_from_one_address_closes_the_address() -> None:
    clock = SteppingClock()
    guard = CredentialGuard(clock, POLICY, what="logins")
    for n in range(5):
        fail(guard, f"user{n}@example.org")
    guard.attempt("other@example.org", "192.0.2.1")  # five failures are free
    fail(guard, "user5@example.org")
    assert refusal(guard, "other@example.org") == 1
    guard.attempt("other@example.org", "198.51.100.7")  # another address is not affected
    clock.advance(1)
    guard.attempt("other@example.org", "192.0.2.1")


def test_one_subject_cannot_close_its_address_alone() -> None:
    """Beyond its own limit a subject's failures no longer count for the address: a station
    with a wrong password must not lock out every station behind the same NAT."""
    clock = SteppingClock()
    guard = CredentialGuard(clock, POLICY, what="station logins")
    for _ in range(20):
        fail(guard, "CP-BROKEN")
        guard.attempt("CP-GOOD", "192.0.2.1")
        clock.advance(guard.subjects.wait_seconds("CP-BROKEN"))  # retries as soon as it may


def test_rotating_names_cannot_grow_the_tables_without_bound() -> None:
    clock = SteppingClock()
    guard = CredentialGuard(clock, POLICY, what="logins")
    for n in range(5000):
        fail(guard, f"random-{n}@example.org", f"2001:db8:{n:x}::1")
    assert len(guard.subjects) == POLICY.max_tracked
    assert len(guard.addresses) == POLICY.max_tracked
    assert len(guard.in_flight) == 0


def test_the_table_forgets_the_longest_quiet_key_first() -> None:
    clock = SteppingClock()
    throttle = AttemptThrottle(
        clock,
        free_failures=0,
        base_delay=timedelta(seconds=10),
        max_delay=timedelta(seconds=10),
        max_tracked=2,
    )
    throttle.failed("a")
    throttle.failed("b")
    throttle.failed("a")  # "a" is the most recent again
    throttle.failed("c")  # "b" goes
    assert (throttle.wait_seconds("a"), throttle.wait_seconds("b")) == (10, 0)
    assert throttle.wait_seconds("c") == 10


def test_concurrent_checks_per_address_are_capped_and_released() -> None:
    guard = CredentialGuard(SteppingClock(), POLICY, what="logins")
    first = guard.attempt("a@example.org", "192.0.2.1")
    second = guard.attempt("b@example.org", "192.0.2.1")
    third = guard.attempt("c@example.org", "192.0.2.1")
    with first.verifying(), second.verifying():
        with pytest.raises(TooManyAttemptsError) as refused, third.verifying():
            pass
        assert refused.value.retry_after == 1
        with guard.attempt("d@example.org", "192.0.2.2").verifying():
            assert len(guard.in_flight) == 2
    with third.verifying():
        pass
    assert len(guard.in_flight) == 0


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_address_key_groups_an_ipv6_subscriber_prefix(host: str | None, key: str) -> None:
    assert address_key(host) == key
