"""Chargebacks at the sandbox PSP (issue 15): what Stripe's ``charge.dispute.*`` events do,
so the demo and the tests can lose and win one without a card network.

A dispute withdraws the payment's amount and a dispute fee at once (an adjustment the next
payout carries), is answered with evidence, and is closed won (the amount comes back, the
fee does not) or lost. The simulator keeps its disputes in memory: they live as long as the
process that opened them, which is all a simulator needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chargeledger.adapters.gateways.sandbox_payouts import adjustment
from chargeledger.adapters.gateways.sandbox_store import (
    SandboxHold,
    SandboxTransaction,
    SandboxTurn,
)
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.money import Money
from chargeledger.services.ports import Clock

DISPUTE_FEE = "15.00"  # what Stripe charges per dispute in the euro area
EVIDENCE_DAYS = 7


@dataclass
class SandboxDispute:
    dispute_id: str
    provider_ref: str
    amount: Money
    fee: Money
    reason: str
    due_by: datetime
    status: str = "needs_response"
    evidence: dict[str, str] = field(default_factory=dict)

    def fields(self) -> dict[str, object]:
        """The event body's dispute fields (the whole dispute, as Stripe sends it)."""
        return {
            "dispute_id": self.dispute_id,
            "status": self.status,
            "reason": self.reason,
            "amount": str(self.amount.amount),
            "fee": str(self.fee.amount),
            "evidence_due_by": int(self.due_by.timestamp()),
        }


def new_dispute(
    dispute_id: str, provider_ref: str, amount: Money, reason: str, now: datetime
) -> SandboxDispute:
    return SandboxDispute(
        dispute_id=dispute_id,
        provider_ref=provider_ref,
        amount=amount,
        fee=Money.of(DISPUTE_FEE, amount.currency.code),
        reason=reason[:100],
        due_by=now + timedelta(days=EVIDENCE_DAYS),
    )


class DisputingPsp(ABC):
    """The sandbox PSP's chargebacks, mixed into ``SandboxGateway`` (which gives the turn at
    its store, ids, holds and webhooks this needs: the abstract methods below) — the card
    network's side (open, decide) and the ``PaymentGateway.submit_dispute_evidence`` of the
    client side."""

    _clock: Clock
    _disputes: dict[str, SandboxDispute]

    @abstractmethod
    def _id(self, prefix: str, number: int) -> str: ...

    @abstractmethod
    def _turn(self) -> AbstractAsyncContextManager[SandboxTurn]: ...

    @abstractmethod
    async def _hold(self, tx: SandboxTransaction, provider_ref: str) -> SandboxHold: ...

    @abstractmethod
    async def _emit(
        self, turn: SandboxTurn, kind: str, hold: SandboxHold | None, **data: object
    ) -> None: ...

    async def open_dispute(
        self, provider_ref: str, reason: str = "fraudulent", amount: Money | None = None
    ) -> str:
        """The card holder's bank disputes a captured payment (all of it unless ``amount``
        says less): the PSP withdraws it and its fee (``sandbox_disputes.py``)."""
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, provider_ref)
            taken = amount or Money.of(hold.captured - hold.refunded, hold.currency)
            if not taken.amount > 0 or taken.amount > hold.captured - hold.refunded:
                raise InvalidInputError("nothing of that to dispute", code="invalid_amount")
            dispute_id = self._id("dp", await turn.tx.next_number())
            dispute = new_dispute(dispute_id, provider_ref, taken, reason, self._clock.now())
            self._disputes[dispute_id] = dispute
            await self._emit(turn, "dispute.created", hold, **dispute.fields())
            withdrawn = -(dispute.amount + dispute.fee)
            item_id = self._id("txn", await turn.tx.next_number())
            await turn.tx.add_adjustment(adjustment(item_id, hold, withdrawn, f"dispute {reason}"))
            await self._emit(turn, "dispute.funds_withdrawn", hold, **dispute.fields())
        return dispute_id

    async def close_dispute(self, dispute_id: str, *, won: bool) -> None:
        """The card network decides: won gives the amount back (not the fee)."""
        dispute = self._dispute(dispute_id)
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, dispute.provider_ref)
            dispute.status = "won" if won else "lost"
            if won:
                item_id = self._id("txn", await turn.tx.next_number())
                item = adjustment(item_id, hold, dispute.amount, "dispute won")
                await turn.tx.add_adjustment(item)
                await self._emit(turn, "dispute.funds_reinstated", hold, **dispute.fields())
            await self._emit(turn, "dispute.closed", hold, **dispute.fields())

    def _dispute(self, dispute_id: str) -> SandboxDispute:
        found = self._disputes.get(dispute_id)
        if found is None:
            raise NotFoundError(f"no dispute {dispute_id}", code="dispute_not_found")
        return found

    async def submit_dispute_evidence(
        self, *, dispute_id: str, evidence: Mapping[str, str], idempotency_key: str
    ) -> str:
        dispute = self._dispute(dispute_id)
        if dispute.status in ("won", "lost"):
            raise InvalidInputError("the dispute is closed", code="dispute_closed")
        dispute.evidence = dict(evidence)
        if dispute.status != "under_review":
            dispute.status = "under_review"
            async with self._turn() as turn:
                hold = await self._hold(turn.tx, dispute.provider_ref)
                await self._emit(turn, "dispute.updated", hold, **dispute.fields())
        return dispute.status

    def dispute_evidence(self, dispute_id: str) -> dict[str, str]:
        """What was submitted for a dispute (the tests and the demo read it back)."""
        return dict(self._dispute(dispute_id).evidence)
