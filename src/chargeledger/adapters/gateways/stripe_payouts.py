"""What a Stripe payout settled, in our terms (issue 13, payout reconciliation; split from
``stripe_objects.py``).

Stripe keeps every movement of the account's balance as a balance transaction (Stripe API
reference, "Balance transactions"): ``type`` (``charge``/``payment`` for a capture,
``refund``/``payment_refund``, ``stripe_fee``/``application_fee``, ``adjustment`` for a
dispute's withdrawal or its reversal, ``payout`` for the payout itself), a signed ``amount``
and a ``fee`` in minor units, and the ``source`` object that caused it. An automatic payout's
``amount`` is the sum of the nets of the transactions it settled
(``GET /v1/balance_transactions?payout=po_…``), the payout's own transaction excepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from chargeledger.domain.payout_reconciliation import ItemKind, PayoutItem
from chargeledger.money import Money

Obj = dict[str, Any]

KINDS = {
    "charge": ItemKind.CAPTURE,
    "payment": ItemKind.CAPTURE,
    "refund": ItemKind.REFUND,
    "payment_refund": ItemKind.REFUND,
    "stripe_fee": ItemKind.FEE,
    "application_fee": ItemKind.FEE,
}
NOT_SETTLED = ("payout", "payout_cancel", "payout_failure")  # the payout's own movements


def payout_fee(settled: Sequence[Obj]) -> int:
    """Stripe pays out the net: the fee is the sum of the settled transactions' fees."""
    return sum(int(t.get("fee") or 0) for t in settled if t.get("type") not in NOT_SETTLED)


def payout_items(settled: Sequence[Obj]) -> tuple[PayoutItem, ...]:
    """The settled balance transactions as items; the payout's own transaction is left out."""
    return tuple(item_of(t) for t in settled if t.get("type") not in NOT_SETTLED)


def item_of(txn: Obj) -> PayoutItem:
    """``type`` → kind (anything unknown is an adjustment: money we cannot account for),
    ``source`` → the PSP payment: a charge's, refund's or dispute's ``payment_intent`` where
    Stripe gives it (the source expanded), else the source's id (a charge ``ch_…`` of an
    integration without PaymentIntents)."""
    currency = str(txn["currency"]).upper()
    source = txn.get("source")
    provider_ref = None
    reference = None
    if isinstance(source, dict):
        provider_ref = _id(source.get("payment_intent")) or _id(source.get("charge"))
        provider_ref = provider_ref or _id(source)
        metadata = source.get("metadata") or {}
        reference = metadata.get("reference") if isinstance(metadata, dict) else None
    elif isinstance(source, str):
        provider_ref = source
    kind = KINDS.get(str(txn.get("type")), ItemKind.ADJUSTMENT)
    return PayoutItem(
        item_id=str(txn["id"]),
        kind=kind,
        amount=Money.from_minor_units(int(txn["amount"]), currency),
        fee=Money.from_minor_units(int(txn.get("fee") or 0), currency),
        provider_ref=None if kind is ItemKind.FEE and not provider_ref else provider_ref,
        payment_id=_uuid(reference),
        description=(str(txn["description"])[:255] if txn.get("description") else None),
    )


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
