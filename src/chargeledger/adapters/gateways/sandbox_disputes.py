"""Chargebacks at the sandbox PSP (issue 15): what Stripe's ``charge.dispute.*`` events do,
so the demo and the tests can lose and win one without a card network.

A dispute withdraws the payment's amount and a dispute fee at once (an adjustment the next
payout carries), is answered with evidence, and is closed won (the amount comes back, the
fee does not) or lost. The simulator keeps its disputes in memory: they live as long as the
process that opened them, which is all a simulator needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chargeledger.money import Money

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
