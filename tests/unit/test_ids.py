"""Record ids (``domain/ids.py``): UUIDs of version 7 per RFC 9562 §5.7, unique, ordered by the
millisecond they were made in."""

from __future__ import annotations

import time
import uuid

import pytest

from chargeledger.domain import ids
from chargeledger.domain.ids import new_id


def test_an_id_is_a_version_7_uuid_of_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after


def test_ids_are_unique() -> None:
    made = [new_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)


@pytest.mark.parametrize("make", [ids._uuid7, new_id])
def test_ids_of_a_later_millisecond_sort_after_earlier_ones(
    make: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The layout of §5.7 for our own maker (the standard library's from Python 3.14 keeps it):
    48 bits of Unix milliseconds first, so ids sort by the millisecond, as text too."""
    assert callable(make)
    instants = iter(n * 1_000_000 + 999_999 for n in (1_700_000_000_000, 1_700_000_000_001))
    if make is ids._uuid7:
        monkeypatch.setattr(time, "time_ns", lambda: next(instants))
        first, second = make(), make()
        assert first.int >> 80 == 1_700_000_000_000
        assert second.int >> 80 == 1_700_000_000_001
    else:
        first = make()
        while (second := make()).int >> 80 == first.int >> 80:
            pass  # the next millisecond's id
    assert first < second
    assert str(first) < str(second)
    for made in (first, second):
        assert made.version == 7
        assert made.variant == uuid.RFC_4122
