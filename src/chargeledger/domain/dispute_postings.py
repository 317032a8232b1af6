"""How a chargeback books (issue 15; DESIGN §5).

When the card holder's bank pulls a payment back, the PSP withdraws the amount and its
dispute fee from our balance at once: ``Expenses:Chargebacks`` and ``Expenses:PSPFees``
against ``Assets:PSP:<gateway>``. Won, the amount comes back (the fee, as most PSPs keep
it, does not): the reverse of the expense. Lost, nothing more is booked: the expense stands.
Each books once: its source is the PSP's dispute id.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeledger.domain.disputes import Dispute
from chargeledger.domain.ledger import CHARGEBACKS, PSP_FEES, EntryKind, JournalEntry, Posting, psp
from chargeledger.money import Money

SOURCE_TYPE = "chargeback"


def funds_withdrawn(dispute: Dispute, amount: Decimal, fee: Decimal, on: date) -> JournalEntry:
    """The PSP took ``amount`` and its ``fee``."""
    assert dispute.chargeback is not None
    cb = dispute.chargeback
    currency = dispute.currency
    return JournalEntry(
        kind=EntryKind.CHARGEBACK,
        booked_on=on,
        description=f"chargeback {cb.psp_dispute_id} ({dispute.number}): {cb.psp_reason}"[:200],
        postings=(
            Posting(CHARGEBACKS, Money(amount, currency)),
            Posting(PSP_FEES, Money(fee, currency)),
            Posting(psp(cb.gateway), Money(-(amount + fee), currency)),
        ),
        source_type=SOURCE_TYPE,
        source_id=cb.psp_dispute_id[:64],
    )


def funds_reinstated(dispute: Dispute, amount: Decimal, on: date) -> JournalEntry:
    """A chargeback won: the PSP gives ``amount`` back."""
    assert dispute.chargeback is not None
    cb = dispute.chargeback
    return JournalEntry(
        kind=EntryKind.CHARGEBACK_REVERSED,
        booked_on=on,
        description=f"chargeback {cb.psp_dispute_id} ({dispute.number}) won",
        postings=(
            Posting(psp(cb.gateway), Money(amount, dispute.currency)),
            Posting(CHARGEBACKS, Money(-amount, dispute.currency)),
        ),
        source_type=SOURCE_TYPE,
        source_id=cb.psp_dispute_id[:64],
    )
