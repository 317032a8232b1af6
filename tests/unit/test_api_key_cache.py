"""The cache of authenticated API keys (issue 17): bounded in age and in size, emptied of a
key when it is revoked, and never refilled by a look-up that a revocation overtook."""

from __future__ import annotations

from chargeledger.api.api_key_cache import ApiKeyCache, digest
from chargeledger.domain.identity import Principal, Role, Scope


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def principal(n: int) -> Principal:
    return Principal(f"api_key:{n}", Role.INTEGRATION, scopes=frozenset({Scope.SESSIONS_READ}))


def test_an_entry_lives_for_the_ttl_and_no_longer() -> None:
    clock = Clock()
    cache = ApiKeyCache(ttl_seconds=5, monotonic=clock)
    cache.put(digest("clk_a_secret"), principal(1), generation=cache.generation)
    clock.now += 4.9
    assert cache.get(digest("clk_a_secret")) == principal(1)
    clock.now += 0.1
    assert cache.get(digest("clk_a_secret")) is None
    assert len(cache) == 0


def test_keys_are_remembered_by_digest_not_by_secret() -> None:
    cache = ApiKeyCache()
    cache.put(digest("clk_a_secret"), principal(1), generation=cache.generation)
    assert digest("clk_a_secret") != b"clk_a_secret"
    assert cache.get(digest("clk_a_secreT")) is None


def test_the_oldest_entry_goes_when_full() -> None:
    clock = Clock()
    cache = ApiKeyCache(max_entries=3, monotonic=clock)
    for n in range(5):
        clock.now += 1
        cache.put(digest(f"key {n}"), principal(n), generation=cache.generation)
    assert len(cache) == 3
    assert [cache.get(digest(f"key {n}")) for n in range(5)] == [
        None,
        None,
        principal(2),
        principal(3),
        principal(4),
    ]


def test_forget_drops_every_entry_of_a_key() -> None:
    cache = ApiKeyCache()
    cache.put(digest("as header"), principal(1), generation=cache.generation)
    cache.put(digest("as bearer"), principal(1), generation=cache.generation)
    cache.put(digest("another key"), principal(2), generation=cache.generation)
    cache.forget("api_key:1")
    assert cache.get(digest("as header")) is None
    assert cache.get(digest("as bearer")) is None
    assert cache.get(digest("another key")) == principal(2)


def test_a_look_up_overtaken_by_a_revocation_stores_nothing() -> None:
    """A request read the key before the revocation committed and finishes after the cache
    forgot the key: what it read must not be remembered."""
    cache = ApiKeyCache()
    began = cache.generation
    cache.forget("api_key:1")  # the revocation, while the look-up was reading
    cache.put(digest("key"), principal(1), generation=began)
    assert cache.get(digest("key")) is None
    cache.put(digest("key"), principal(1), generation=cache.generation)
    assert cache.get(digest("key")) == principal(1)
