"""A use case holding a named lock (the ``Locks`` port), refused with its own error code.

Money operations on one payment, and invoice runs, must not interleave (issue 11 items 7 and
12): each reads the state it decides on while holding the lock, and keeps it until what it
decided is done. A lock not had within the wait refuses the request before anything happened
(HTTP 409, CLI exit 1), so the caller may simply try again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from chargeledger.services.ports import LockBusyError, Locks


@contextlib.asynccontextmanager
async def exclusive(
    locks: Locks, name: str, wait_seconds: float, *, code: str, what: str
) -> AsyncIterator[None]:
    """Hold ``name``; ``LockBusyError`` with ``code`` when it is not had in time. A busy lock
    inside the block keeps its own code."""
    held = False
    try:
        async with locks.hold(name, wait_seconds):
            held = True
            yield
    except LockBusyError as exc:
        if held:
            raise
        raise LockBusyError(
            f"{what} is busy with another operation; nothing was done, try again",
            code=code,
        ) from exc
