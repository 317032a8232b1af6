"""The station password scheme (issue 17; DESIGN §6): HMAC-SHA256 under the station key."""

from __future__ import annotations

import pytest

from chargeledger.adapters.security import Argon2Core, HmacStationSecrets

KEY = b"a-station-key-of-at-least-32-bytes!"
PASSWORD = "station-password-0001"


def test_a_hash_verifies_its_password_only_under_its_key() -> None:
    secrets = HmacStationSecrets(KEY)
    stored = secrets.hash(PASSWORD)
    assert secrets.is_current(stored)
    assert secrets.verify(stored, PASSWORD)
    assert not secrets.verify(stored, PASSWORD + "x")
    assert not HmacStationSecrets(KEY[::-1]).verify(stored, PASSWORD)
    assert secrets.hash(PASSWORD) != stored  # salted


def test_no_hash_damaged_hashes_and_argon2_hashes_never_match() -> None:
    secrets = HmacStationSecrets(KEY)
    older = Argon2Core(time_cost=1, memory_cost=1024).hash(PASSWORD)
    assert not secrets.is_current(older)
    assert not secrets.verify(older, PASSWORD)
    assert not secrets.verify(None, PASSWORD)
    stored = secrets.hash(PASSWORD)
    for damaged in (stored[:-3], stored + "$", "hmac-sha256$!!$!!", "hmac-sha256", ""):
        assert not secrets.verify(damaged, PASSWORD)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        HmacStationSecrets(b"short")
