"""Password hashing with argon2id (DESIGN §6) in a worker pool of its own, behind the
PasswordHasher port (human passwords), and the keyed fast hash of station passwords behind the
StationSecrets port (machine secrets, see ``HmacStationSecrets``).

argon2 is slow on purpose (RFC 9106 §4: with the library's defaults tens of milliseconds of
CPU and 64 MiB per call). Run on the event loop it stalls every station and request; run in
asyncio's default executor it competes with the ``ocpp`` library, which validates every frame
there. So hashing has a ThreadPoolExecutor of its own with a fixed number of workers
(argon2-cffi releases the GIL while it hashes) and a bounded backlog: work beyond the backlog
is refused at once with ``service_busy`` instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chargeledger.errors import ServiceBusyError

T = TypeVar("T")
THREAD_NAME_PREFIX = "password-hash"
DEFAULT_BACKLOG = 64


def default_workers() -> int:
    """Half the cores, 1 to 4: hashing never takes every core from the event loop."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class BlockingPasswordHasher(Protocol):
    """The slow part that runs in the pool's threads (never on the event loop)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str | None, password: str) -> bool: ...


class Argon2Core:
    """argon2id, with the library's defaults (RFC 9106 second recommended option) unless
    costs are given (tests use the minimum)."""

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = _Argon2()
        self._hasher = _Argon2(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
        )
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """A missing credential is checked against a dummy hash of the same parameters: the
        same work as a wrong password, and never a match."""
        target = self.dummy_hash() if password_hash is None else password_hash
        try:
            matched = self._hasher.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def dummy_hash(self) -> str:
        """A hash of a random secret nobody knows, made once (in a worker, at first need)."""
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(32))
            return self._dummy


class PooledPasswordHasher:
    """The PasswordHasher port over a blocking hasher run in a bounded pool of its own.

    The backlog counts work submitted and not yet finished, including work whose caller has
    gone away (a thread cannot be interrupted), so it bounds what the pool really holds.
    """

    def __init__(
        self, core: BlockingPasswordHasher, *, workers: int = 1, backlog: int = DEFAULT_BACKLOG
    ) -> None:
        if workers < 1 or backlog < 1:
            raise ValueError("a password hashing pool needs at least one worker and one slot")
        self._core = core
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # started at first need, again after close
        self._backlog = backlog
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Hashes and verifications submitted and not finished yet."""
        return self._pending

    async def hash(self, password: str) -> str:
        return await self._run(self._core.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._run(self._core.verify, password_hash, password)

    def close(self) -> None:
        """Stop the pool's threads; like the database engine's ``dispose``, the hasher still
        works afterwards (a new pool starts at the next need)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _started(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix=THREAD_NAME_PREFIX
                )
            return self._pool

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._pending >= self._backlog:
                raise ServiceBusyError(
                    "too many password checks are waiting; try again in a moment",
                    code="authentication_busy",
                    retry_after=1,
                )
            self._pending += 1
        try:
            future = self._started().submit(work, *args)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return await asyncio.wrap_future(future)

    def _finished(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1


class Argon2PasswordHasher(PooledPasswordHasher):
    """argon2id in its own pool: what the runtime uses unless a test gives another hasher."""

    def __init__(
        self,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        *,
        workers: int | None = None,
        backlog: int = DEFAULT_BACKLOG,
    ) -> None:
        super().__init__(
            Argon2Core(time_cost, memory_cost),
            workers=workers or default_workers(),
            backlog=backlog,
        )


# --- station secrets ---------------------------------------------------------------------

STATION_SCHEME = "hmac-sha256"
STATION_SALT_BYTES = 16
MIN_STATION_KEY_BYTES = 32  # the server key: at least the digest's own 256 bits


class HmacStationSecrets:
    """The StationSecrets port: station passwords as ``hmac-sha256$<salt>$<digest>``, the
    digest being HMAC-SHA256 under the installation's station key over salt and password.

    Why not argon2 (DESIGN §6: "machine secrets of ≥ 128 bits with a keyed fast hash"): a slow
    hash only helps a secret that can be guessed. A station password of 128 random bits takes
    2^127 tries on average whatever each try costs, so argon2's ~2 s of CPU per check bought
    nothing but a serialised reconnect storm. The key (a pepper kept outside the database:
    ``CHARGELEDGER_STATION_SECRET_KEY`` or ``<data dir>/station-secret-key``) means a copy of
    the database alone (a backup, a replica) cannot test a single guess offline, which also
    protects an operator-chosen password of 16 characters. The salt keeps two stations with
    the same password apart. Verification is one HMAC (microseconds) and a constant-time
    compare (``hmac.compare_digest``), so it runs inline on the event loop.

    Older hashes (argon2, ``$argon2id$...``) are not this scheme: ``verify`` says False for
    them and ``is_current`` lets the caller check them the old way and replace them.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_STATION_KEY_BYTES:
            raise ValueError(f"a station key needs at least {MIN_STATION_KEY_BYTES} bytes")
        self._key = key
        # An unknown station costs the same HMAC as a wrong password.
        self._dummy = self.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        salt = secrets.token_bytes(STATION_SALT_BYTES)
        return f"{STATION_SCHEME}${_b64(salt)}${_b64(self._mac(salt, password))}"

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True only for a hash of this scheme that ``password`` matches."""
        scheme, salt, digest = _parts(self._dummy if password_hash is None else password_hash)
        if scheme != STATION_SCHEME:
            return False
        try:
            expected = base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4))
            raw_salt = base64.urlsafe_b64decode(salt + "=" * (-len(salt) % 4))
        except (binascii.Error, ValueError):
            return False
        matched = hmac.compare_digest(self._mac(raw_salt, password), expected)
        return matched and password_hash is not None

    def is_current(self, password_hash: str) -> bool:
        """Whether ``password_hash`` is of this scheme (else: an older one to replace)."""
        return _parts(password_hash)[0] == STATION_SCHEME

    def _mac(self, salt: bytes, password: str) -> bytes:
        return hmac.new(self._key, salt + password.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parts(password_hash: str) -> tuple[str, str, str]:
    scheme, _, rest = password_hash.partition("$")
    salt, _, digest = rest.partition("$")
    return scheme, salt, digest
