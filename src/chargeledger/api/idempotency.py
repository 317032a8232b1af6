"""REST ``Idempotency-Key`` (DESIGN §2, exactly once) for every POST that moves money.

The first request with a key stores its hash and, once answered, the answer. The same key
with the same request gets the stored answer again (``Idempotent-Replayed: true``) and moves
nothing; the same key with another request is refused (422 ``idempotency_key_reused``); a key
whose first request is still running gets 409; a key that looks like a card number is refused
(422 ``card_data_refused``) and nothing is stored. Keys are per caller and kept at least 7 days
(the payment janitor forgets older ones). Server errors are not stored, so they can be
retried with the same key; nor is a 409 for a payment busy with another operation (its lock
was not had: nothing was done, and the same request may succeed a moment later).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from chargeledger.bootstrap import Runtime
from chargeledger.domain.card_data import refuse_card_data
from chargeledger.errors import ChargeledgerError, ConflictError, InvalidInputError
from chargeledger.services.idempotency_keys import claim_key, forget_key, store_answer
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import LockBusyError
from chargeledger.services.transactions import in_transaction

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_hash(request: Request, body: Any) -> str:
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


async def idempotent(
    runtime: Runtime,
    request: Request,
    scope: str,
    body: Any,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    """Run ``work`` (→ status, JSON-able body) at most once per key."""
    key = request.headers.get(HEADER)
    if key is None:
        status, payload = await work()
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(
            f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters",
            code="invalid_idempotency_key",
            field=HEADER,
        )
    # The key is stored as given for 7+ days: a card number typed in as a key is refused
    # before anything is stored or moved (DESIGN §2, no card data).
    refuse_card_data(key, HEADER)
    fingerprint = request_hash(request, body)
    record = IdempotencyRecord(scope, key, fingerprint, runtime.clock.now())
    existing = await in_transaction(runtime.uow, claim_key, record)
    if existing is not None:
        return _replay(existing, fingerprint)
    try:
        status, payload = await work()
    except ChargeledgerError as error:
        if error.http_status >= 500 or isinstance(error, LockBusyError):
            await _forget(runtime, scope, key)
            raise
        status, payload = error.http_status, {"error": error.as_dict()}
    except BaseException:
        await _forget(runtime, scope, key)
        raise
    content = json.dumps(jsonable_encoder(payload)).encode()
    await in_transaction(runtime.uow, store_answer, scope, key, status, content, "application/json")
    return Response(content, status_code=status, media_type="application/json")


def _replay(existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.request_hash != fingerprint:
        raise InvalidInputError(
            f"this {HEADER} was used for another request",
            code="idempotency_key_reused",
            field=HEADER,
        )
    if existing.status_code is None or existing.body is None:
        raise ConflictError(
            f"the first request with this {HEADER} is still running",
            code="idempotency_key_in_use",
        )
    return Response(
        existing.body,
        status_code=existing.status_code,
        media_type=existing.content_type or "application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def _forget(runtime: Runtime, scope: str, key: str) -> None:
    await in_transaction(runtime.uow, forget_key, scope, key)
