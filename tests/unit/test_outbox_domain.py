"""The outbox's retry rules and the signature of outgoing webhooks (issue 13), pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chargeledger.domain.outbox import MessageState, RetryPolicy, after_failure
from chargeledger.domain.webhook_signatures import signature_header, verify_signature
from chargeledger.errors import InvalidInputError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=5, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=5)
)


@pytest.mark.parametrize(("attempt", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 5), (50, 5)])
def test_backoff_doubles_up_to_its_cap(attempt: int, minutes: int) -> None:
    assert POLICY.delay_after(attempt) == timedelta(minutes=minutes)


def test_a_failure_is_retried_until_the_last_attempt_then_dead() -> None:
    retry = after_failure(POLICY, 2, NOW, permanent=False)
    assert (retry.state, retry.next_attempt_at) == (
        MessageState.PENDING,
        NOW + timedelta(minutes=2),
    )
    last = after_failure(POLICY, 5, NOW, permanent=False)
    assert (last.state, last.next_attempt_at) == (MessageState.DEAD, None)
    refused = after_failure(POLICY, 1, NOW, permanent=True)
    assert refused.state is MessageState.DEAD


def test_a_signature_verifies_and_any_change_breaks_it() -> None:
    body = b'{"id":"1","type":"dunning.notice"}'
    header = signature_header("s" * 20, NOW, body)
    assert header.startswith(f"t={int(NOW.timestamp())},v1=")
    verify_signature("s" * 20, header, body, NOW + timedelta(minutes=4))
    for secret, signed, now in (
        ("t" * 20, body, NOW),  # another endpoint's secret
        ("s" * 20, body + b" ", NOW),  # another body
        ("s" * 20, body, NOW + timedelta(minutes=6)),  # replayed later
    ):
        with pytest.raises(InvalidInputError) as refused:
            verify_signature(secret, header, signed, now)
        assert refused.value.code == "invalid_signature"
    with pytest.raises(InvalidInputError):
        verify_signature("s" * 20, "v1=abc", body, NOW)
