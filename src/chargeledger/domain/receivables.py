"""Open items: what each issued invoice still asks of its payer (issue 13).

An invoice's payment status is derived, never stored (so it cannot disagree with the money):
from its gross total, the credit notes that refer to it, and its *settlements* — the
append-only sub-ledger of money set against it, each also booked in the journal (DESIGN §5):

- a card payment of the invoice, captured (its refund reopens the invoice by a negative one);
- a bank transfer matched to it, or account credit (an earlier over-payment) applied to it;
- a returned transfer or direct debit (camt.053 return reason), negative: the invoice reopens;
- an amount written off as uncollectable.

Outstanding = gross − credited − settled. A settlement's ``source`` names the record it comes
from (a payment event, a bank statement entry, a finance user's booking) and is unique, so a
replayed import or webhook settles nothing twice (DESIGN §2 exactly-once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.ids import new_id
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice
from chargeledger.domain.payments import EventKind, Payment, PaymentEvent, PaymentPurpose
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Money


class PaymentStatus(StrEnum):
    """The status finance staff and fleet managers see on a document."""

    DRAFT = "draft"
    ISSUED = "issued"  # a credit note or a self-billed invoice: nothing owed to us
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"  # something is still open after the due date
    CREDITED = "credited"  # credit notes cancelled it
    WRITTEN_OFF = "written_off"  # the rest was given up as uncollectable


# Issued documents that ask nothing of their buyer: a credit note, and a site host's
# self-billed invoice, which we issue as the buyer and owe (a payable, issue 14: booked to
# ``Liabilities:Payable:P…``, never to a receivable).
NOT_RECEIVABLE = frozenset({DocumentKind.CREDIT_NOTE, DocumentKind.SELF_BILLED})


class SettlementKind(StrEnum):
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    ACCOUNT_CREDIT = "account_credit"
    RETURN = "return"
    WRITE_OFF = "write_off"


# Kinds whose amount is money paid (or taken back); a write-off is not a payment.
PAYING_KINDS = frozenset(
    {
        SettlementKind.CARD,
        SettlementKind.BANK_TRANSFER,
        SettlementKind.ACCOUNT_CREDIT,
        SettlementKind.RETURN,
    }
)


@dataclass(frozen=True, slots=True)
class Settlement:
    """Money set against one invoice. Positive settles, negative reopens (a card refund, a
    returned transfer). Never changed once stored: a mistake is corrected by another one."""

    invoice_id: uuid.UUID
    kind: SettlementKind
    amount: Money
    source: str  # unique: "payment_event:<id>", "bank_entry:<id>", "manual:<id>"
    booked_at: datetime
    booked_on: date  # the accounting day: the day its ledger entry is booked on
    account_id: uuid.UUID | None = None
    booked_by: str | None = None  # who decided it (a user's subject), None when automatic
    note: str | None = None
    id: uuid.UUID = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SettlementKind(self.kind))
        if self.amount.is_zero:
            raise InvalidInputError("a settlement moves money", code="invalid_settlement_amount")
        negative_allowed = self.kind in (SettlementKind.CARD, SettlementKind.RETURN)
        if self.amount.amount < 0 and not negative_allowed:
            raise InvalidInputError(
                f"a {self.kind.value} settlement is positive",
                code="invalid_settlement_amount",
                field="amount",
            )
        if self.kind is SettlementKind.RETURN and self.amount.amount > 0:
            raise InvalidInputError(
                "a return reopens the invoice: its amount is negative",
                code="invalid_settlement_amount",
                field="amount",
            )
        if not self.source or len(self.source) > 200:
            raise InvalidInputError("a settlement names its source", code="invalid_settlement")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """The sums an invoice's status is derived from, in the invoice's currency."""

    gross: Decimal
    credited: Decimal = ZERO
    paid: Decimal = ZERO  # card, transfers, credit applied, less refunds and returns
    written_off: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        return self.gross - self.credited - self.paid - self.written_off

    def with_settlements(self, settlements: list[Settlement]) -> OpenItem:
        paid, written_off = self.paid, self.written_off
        for settlement in settlements:
            if settlement.kind is SettlementKind.WRITE_OFF:
                written_off += settlement.amount.amount
            else:
                paid += settlement.amount.amount
        return OpenItem(self.gross, self.credited, paid, written_off)


def payment_status(invoice: Invoice, item: OpenItem, today: date) -> PaymentStatus:
    """The derived status of a document on ``today`` (the operator's calendar day).

    Order matters and is the same in the SQL filter of the invoice list (a test holds them
    together): nothing open is paid, credited or written off by what closed it; something
    open is overdue after its due date (also when partly paid: the rest is late), else
    partially paid or open (a credit note lowers what is open; it pays nothing).
    """
    if invoice.status is DocumentStatus.DRAFT:
        return PaymentStatus.DRAFT
    if invoice.kind in NOT_RECEIVABLE:
        return PaymentStatus.ISSUED
    if invoice.kind is DocumentKind.RECEIPT:
        return PaymentStatus.PAID  # a receipt confirms a payment made at the station
    if item.outstanding <= 0:
        if item.written_off > 0:
            return PaymentStatus.WRITTEN_OFF
        if item.credited > 0 and item.paid <= 0:
            return PaymentStatus.CREDITED
        return PaymentStatus.PAID
    if invoice.due_date is not None and today > invoice.due_date:
        return PaymentStatus.OVERDUE
    if item.paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    return PaymentStatus.OPEN


def outstanding_of(invoice: Invoice, item: OpenItem) -> Decimal:
    """What the payer still owes on the document: nothing on drafts, receipts and notes."""
    quantum = invoice.currency.quantum
    if invoice.status is DocumentStatus.DRAFT or invoice.kind is not DocumentKind.INVOICE:
        return ZERO.quantize(quantum)
    return max(item.outstanding, ZERO).quantize(quantum)


def card_settlement(payment: Payment, event: PaymentEvent, on: date) -> Settlement | None:
    """What a card payment's new fact settles on the invoice it pays: its capture settles
    the amount, a refund reopens it (issue 6 card payment of an invoice). The source is
    the fact's row, so the same fact never settles twice."""
    if payment.purpose is not PaymentPurpose.INVOICE or payment.invoice_id is None:
        return None
    if event.kind not in (EventKind.CAPTURED, EventKind.REFUNDED) or event.amount == 0:
        return None
    amount = event.amount if event.kind is EventKind.CAPTURED else -event.amount
    return Settlement(
        invoice_id=payment.invoice_id,
        account_id=payment.account_id,
        kind=SettlementKind.CARD,
        amount=Money(amount, payment.currency),
        source=f"payment_event:{event.id.hex}",
        booked_at=event.at,
        booked_on=on,
        note=f"card payment {payment.id}",
    )
