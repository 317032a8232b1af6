"""The journal entries of money moving (DESIGN §5), beside ``postings.py``'s accruals.

Revenue and VAT are booked once, when a session is charged (``charge_accrual``): a session
paid at once gets a receipt that moves its amount to the payer's receivable. Payments then
only settle receivables, so the table of DESIGN §5 comes out as:

| event | debit | credit |
|---|---|---|
| card/app capture of a session | Assets:PSP:<gw> | Assets:Receivable:<payer> |
| payment of an invoice | Assets:PSP:<gw> | Assets:Receivable:<acct> |
| wallet top-up | Assets:PSP:<gw> | Liabilities:Wallets:<acct> |
| wallet session | Liabilities:Wallets:<acct> | Assets:Receivable:<acct> |
| refund (after its credit note) | Assets:Receivable:<payer> | Assets:PSP:<gw> or wallet |
| refund of a top-up | Liabilities:Wallets:<acct> | Assets:PSP:<gw> |
| failed payment of a walk-in | Expenses:BadDebt | Assets:Receivable:<walk-in> |
| PSP payout | Assets:Bank (net), Expenses:PSPFees (fee) | Assets:PSP:<gw> (gross) |

Added up with the accrual and the receipt, a capture is exactly DESIGN §5's "Assets:PSP /
Revenue, VAT" and a wallet session "Liabilities:Wallets / Revenue, VAT".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeledger.domain.ledger import (
    BAD_DEBT,
    BANK,
    PSP_FEES,
    EntryKind,
    JournalEntry,
    Posting,
    psp,
    receivable,
    wallet,
)
from chargeledger.domain.payments import Payment, PaymentPurpose
from chargeledger.domain.postings import payer
from chargeledger.money import Money

WALLET_GATEWAY = "wallet"


def money_account(payment: Payment) -> str:
    """Where the payment's money sits: the PSP's clearing account, or the payer's wallet."""
    if payment.gateway == WALLET_GATEWAY:
        assert payment.account_id is not None
        return wallet(payment.account_id)
    return psp(payment.gateway)


def settled_account(payment: Payment) -> str:
    """What the payment settles: a top-up fills the wallet; anything else a receivable."""
    if payment.purpose is PaymentPurpose.TOP_UP:
        assert payment.account_id is not None
        return wallet(payment.account_id)
    return receivable(payer(payment.account_id))


def _kind(payment: Payment) -> EntryKind:
    if payment.purpose is PaymentPurpose.TOP_UP:
        return EntryKind.WALLET_TOP_UP
    if payment.purpose is PaymentPurpose.INVOICE:
        return EntryKind.INVOICE_PAYMENT
    return EntryKind.WALLET_DEBIT if payment.gateway == WALLET_GATEWAY else EntryKind.CAPTURE


def captured(payment: Payment, amount: Decimal, on: date) -> JournalEntry | None:
    """Money taken: it leaves the payer's side and arrives at the PSP (or leaves the wallet)."""
    if not amount:
        return None
    return JournalEntry(
        kind=_kind(payment),
        booked_on=on,
        description=f"{payment.purpose.value} payment {payment.id} by {payment.method.value}",
        postings=(
            Posting(money_account(payment), Money(amount, payment.currency)),
            Posting(settled_account(payment), Money(-amount, payment.currency)),
        ),
        source_type="payment",
        source_id=str(payment.id),
    )


def refunded(payment: Payment, amount: Decimal, refund_ref: str, on: date) -> JournalEntry:
    """Money given back: the reverse of the capture, one entry per PSP refund."""
    return JournalEntry(
        kind=EntryKind.REFUND,
        booked_on=on,
        description=f"refund {refund_ref} of payment {payment.id}",
        postings=(
            Posting(settled_account(payment), Money(amount, payment.currency)),
            Posting(money_account(payment), Money(-amount, payment.currency)),
        ),
        source_type="refund",
        source_id=f"{payment.id}:{refund_ref}"[:64],
    )


def written_off(payment: Payment, amount: Decimal, on: date, why: str) -> JournalEntry | None:
    """A walk-in whose card could not be charged cannot be invoiced: the receipt's amount
    is a bad debt (an account holder's stays on the account's receivable for dunning)."""
    if not amount:
        return None
    return JournalEntry(
        kind=EntryKind.WRITE_OFF,
        booked_on=on,
        description=f"unpaid session: payment {payment.id} failed ({why})",
        postings=(
            Posting(BAD_DEBT, Money(amount, payment.currency)),
            Posting(receivable(payer(payment.account_id)), Money(-amount, payment.currency)),
        ),
        source_type="payment",
        source_id=str(payment.id),
    )


def paid_out(gateway: str, payout_id: str, gross: Money, fee: Money, on: date) -> JournalEntry:
    """The PSP pays the operator: gross leaves the PSP account, net arrives at the bank."""
    postings = [Posting(BANK, gross - fee), Posting(psp(gateway), -gross)]
    if fee:
        postings.append(Posting(PSP_FEES, fee))
    return JournalEntry(
        kind=EntryKind.PAYOUT,
        booked_on=on,
        description=f"payout {payout_id} from {gateway}",
        postings=tuple(postings),
        source_type="payout",
        source_id=payout_id[:64],
    )
