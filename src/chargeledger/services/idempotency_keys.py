"""REST ``Idempotency-Key`` records (DESIGN §2, exactly once): claimed by the first request,
answered once, forgotten after the 7 days they are promised for (see ``api/idempotency.py``).

Handed an open unit of work; the caller commits (DESIGN §3).
"""

from __future__ import annotations

from datetime import timedelta

from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import Clock, UnitOfWork

IDEMPOTENCY_KEPT = timedelta(days=8)  # DESIGN §2: at least 7 days


async def claim_key(uow: UnitOfWork, record: IdempotencyRecord) -> IdempotencyRecord | None:
    """Claim ``record``'s key for its first request; the stored record when it was had."""
    return await uow.payments.claim_key(record)


async def store_answer(
    uow: UnitOfWork, scope: str, key: str, status: int, content: bytes, content_type: str
) -> None:
    """Keep the answer of the key's first request, to replay to its repetitions."""
    await uow.payments.store_answer(scope, key, status, content, content_type)


async def forget_key(uow: UnitOfWork, scope: str, key: str) -> None:
    """Free a key whose request failed in a way worth trying again (a server error)."""
    await uow.payments.forget_key(scope, key)


async def forget_old_keys(uow: UnitOfWork, clock: Clock) -> int:
    """Keys older than ``IDEMPOTENCY_KEPT`` go (the payment janitor's periodic job)."""
    return await uow.payments.expire_keys(clock.now() - IDEMPOTENCY_KEPT)
