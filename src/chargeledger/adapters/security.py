"""Password hashing with argon2id (DESIGN §6), behind the PasswordHasher port."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 second recommended option)."""

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        if time_cost is None and memory_cost is None:
            self._hasher = _Argon2()
        else:
            defaults = _Argon2()
            self._hasher = _Argon2(
                time_cost=time_cost or defaults.time_cost,
                memory_cost=memory_cost or defaults.memory_cost,
            )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
