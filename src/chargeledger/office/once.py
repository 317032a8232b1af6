"""Exactly once for the office's money forms (issue 16, DESIGN §2): the REST
``Idempotency-Key`` records (``services.idempotency_keys``, as ``api/idempotency.py``) with
the key from a hidden form field, generated afresh for every rendered form.

A double click sends the same key twice: the first claims it and acts; the second gets the
first's stored outcome and acts on nothing. The same key with other form values is refused
(``idempotency_key_reused``); a key whose first request is still running gets
``idempotency_key_in_use``. Server errors and busy locks free the key, so the same form may be
sent again. Keys are per user (``office:<subject>``) and forgotten after 7+ days by the
payment janitor.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from chargeledger.bootstrap import Runtime
from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.identity import Principal
from chargeledger.errors import ChargeledgerError, ConflictError, InvalidInputError
from chargeledger.services.idempotency_keys import claim_key, forget_key, store_answer
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import LockBusyError
from chargeledger.services.transactions import in_transaction

FIELD = "idempotency_key"
MAX_KEY_LENGTH = 255
Outcome = dict[str, Any]  # {"done": …} or {"error": {"code", "message", …}}


def refusal(exc: ChargeledgerError) -> tuple[int, Outcome]:
    """A form's refusal in the shape ``once`` keeps outcomes in: its status and
    ``{"error": {...}}``, shown in the form. A server error (5xx) is not the form's to show:
    it is raised again."""
    if exc.http_status >= 500:
        raise exc
    return exc.http_status, {"error": exc.as_dict()}


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _fingerprint(action: str, form: dict[str, str]) -> str:
    canonical = json.dumps(form, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"office {action}\n{canonical}".encode()).hexdigest()


async def once(
    rt: Runtime,
    principal: Principal,
    key: str,
    action: str,
    form: dict[str, str],
    work: Callable[[], Awaitable[Outcome]],
) -> tuple[int, Outcome]:
    """Run ``work`` at most once per (user, key); its status and outcome, or the stored ones
    of the first run. A ChargeledgerError below 500 is an outcome too (stored, replayed)."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(
            "the form has no valid idempotency key: reload the page",
            code="invalid_idempotency_key",
            field=FIELD,
        )
    refuse_card_data(key, FIELD)
    scope = f"office:{principal.subject}"
    fingerprint = _fingerprint(action, form)
    record = IdempotencyRecord(scope, key, fingerprint, rt.clock.now())
    existing = await in_transaction(rt.uow, claim_key, record)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise InvalidInputError(
                "this form's idempotency key was used for another request: reload the page",
                code="idempotency_key_reused",
                field=FIELD,
            )
        if existing.status_code is None or existing.body is None:
            raise ConflictError(
                "this form is still being handled: wait a moment and reload the page",
                code="idempotency_key_in_use",
            )
        return existing.status_code, json.loads(existing.body)
    try:
        status, outcome = 200, await work()
    except ChargeledgerError as error:
        if error.http_status >= 500 or isinstance(error, LockBusyError):
            await in_transaction(rt.uow, forget_key, scope, key)
            raise
        status, outcome = error.http_status, {"error": error.as_dict()}
    except BaseException:
        await in_transaction(rt.uow, forget_key, scope, key)
        raise
    content = json.dumps(outcome).encode()
    await in_transaction(rt.uow, store_answer, scope, key, status, content, "application/json")
    return status, outcome
