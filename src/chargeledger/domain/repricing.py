"""Re-pricing a charged session (issue 15; DESIGN §2: "a tariff change never re-prices a closed
session; a correction is a new priced CDR and a credit note").

Finance re-prices a session that was charged, under a corrected tariff version, with corrected
meter readings, or both, for a stated reason. The new price comes from the one ``price()``
(``services/charging/session_repricing``); here is decided what the difference to what the
session stands at becomes (:func:`settle`). The charge, its receipt or invoice line and the
station's readings stay as they were (append-only): each re-pricing is a record of its own,
numbered per session, the next one starting from the last one's price.

What the difference becomes, by how the session pays and how far it is billed:

- postpaid, its charge not invoiced yet: a correction on its next invoice, beside its charge
  (lower or higher);
- postpaid, invoiced: lower, a credit note against that invoice; higher, a correction on the
  account's next invoice;
- paid at the session (card, app, wallet) with its receipt: lower, a refund of the difference
  when its money was captured (the refund path issues the receipt's credit note with it), else
  a credit note against the receipt; higher, a correction on the account's next invoice when
  it has a postpaid account, else owed;
- the same price: nothing issued; the re-pricing is recorded.

A **correction** is the difference per revenue component, accrued now to the payer's unbilled
receivable (a reversing accrual when it is lower: ``domain/repricing_documents.py``) and billed
as a line of the account's next invoice, whose issue clears it like a charge's line. The next
invoice of a session whose charge was not invoiced yet carries both, so the customer is invoiced
the new price. While a correction waits for its invoice, a lower re-pricing that would take the
session below what was invoiced is refused (``correction_pending``): one document per
correction. **Owed** is recorded, not booked: a payer without a postpaid account (a walk-in's
card, a prepaid wallet) gets no invoice, and a card is never charged again without its
holder; a later lower re-pricing first takes from what is owed.

The re-priced figures keep the VAT treatment the session was charged with: its place and date
of supply do not change, and neither does whom it was supplied to (Directive 2006/112/EC
art. 31, 63).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.billing import Billed, ComponentAmount, net_for_gross, vat_of
from chargeledger.domain.ids import new_id
from chargeledger.errors import ConflictError
from chargeledger.money import ZERO, Currency


class RepricingOutcome(StrEnum):
    """What a re-pricing issued (see the module docstring)."""

    NOTHING = "nothing"  # the same price: recorded only
    CREDIT_NOTE = "credit_note"  # lower: credited against the invoice or receipt
    REFUND = "refund"  # lower: money back through the refund path, its credit note with it
    NEXT_INVOICE = "next_invoice"  # a correction, accrued now, on the next invoice
    OWED = "owed"  # higher, and no invoice to put it on: recorded as owed


class BilledBy(StrEnum):
    """The document that billed the session's charge, if any."""

    NOTHING = "nothing"
    DRAFT = "draft"  # an invoice run's draft, not issued yet
    INVOICE = "invoice"
    RECEIPT = "receipt"


@dataclass(frozen=True, slots=True)
class PricedAs:
    """A session's price under one tariff and one pair of readings: what it was charged (its
    charge's figures) or what a re-pricing made of it."""

    tariff_id: uuid.UUID | None
    meter_start_wh: Decimal
    meter_stop_wh: Decimal
    energy_kwh: Decimal
    billed: Billed

    @property
    def net(self) -> Decimal:
        return self.billed.net

    @property
    def tax(self) -> Decimal:
        return self.billed.tax

    @property
    def gross(self) -> Decimal:
        return self.billed.gross

    def same_inputs(self, other: PricedAs) -> bool:
        """Whether ``other`` prices the same tariff and readings (whatever its amounts)."""
        return (self.tariff_id, self.meter_start_wh, self.meter_stop_wh) == (
            other.tariff_id,
            other.meter_start_wh,
            other.meter_stop_wh,
        )


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the session's billing stands, read under its hold: what :func:`settle` decides
    from. ``collected`` is the money of its payment that can still be refunded (0 without
    one); ``pending_net`` the net of its corrections waiting for an invoice; ``owed`` the
    gross recorded as owed."""

    billed_by: BilledBy
    paid_at_session: bool
    postpaid_account: bool  # an account whose next invoice can carry a correction
    collected: Decimal = ZERO
    pending_net: Decimal = ZERO
    owed: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Settled:
    """What the difference becomes: the outcome, the gross it moves for the customer
    (negative: given back or credited; positive: to pay more, or owed), the net a credit note
    credits, and what is owed after it."""

    outcome: RepricingOutcome
    amount: Decimal
    credit_net: Decimal = ZERO
    owed_after: Decimal = ZERO


def settle(before: PricedAs, after: PricedAs, standing: Standing) -> Settled:
    """Decide what the difference between ``before`` (what the session stands at) and
    ``after`` (its new price) becomes (the table of the module docstring). Refused with a
    stable code where no one document can carry it: the charge on a draft invoice
    (``charge_on_draft_invoice``), a session paid at once without its receipt
    (``receipt_missing``), below what was invoiced while a correction waits
    (``correction_pending``), more back than its payment still holds
    (``refund_exceeds_payment``)."""
    currency = before.billed.currency
    net = after.net - before.net
    gross = after.gross - before.gross
    owed = standing.owed
    if not net and not gross:
        return Settled(RepricingOutcome.NOTHING, ZERO, owed_after=owed)
    if standing.billed_by is BilledBy.DRAFT:
        raise ConflictError(
            "the session's charge is on a draft invoice: issue the draft first, then re-price",
            code="charge_on_draft_invoice",
        )
    if standing.paid_at_session and standing.billed_by is not BilledBy.RECEIPT:
        raise ConflictError(
            "the session was paid at once but has no receipt: configure the operator's "
            "details and run invoicing, then re-price",
            code="receipt_missing",
        )
    correction = Settled(
        RepricingOutcome.NEXT_INVOICE, net + vat_of(net, before.billed.vat.percent, currency)
    )
    if standing.billed_by is BilledBy.NOTHING:
        return Settled(correction.outcome, correction.amount, owed_after=owed)
    if standing.pending_net:
        if standing.pending_net + net < 0:
            raise ConflictError(
                "a correction of this session waits for its invoice and this price is below "
                "what was invoiced: run the invoice first, then re-price",
                code="correction_pending",
            )
        return Settled(correction.outcome, correction.amount, owed_after=owed)
    if net > 0:
        if standing.postpaid_account:
            return Settled(correction.outcome, correction.amount, owed_after=owed)
        return Settled(RepricingOutcome.OWED, gross, owed_after=owed + gross)
    back, credit_net = -gross, -net
    if owed:
        if owed >= back:
            return Settled(RepricingOutcome.OWED, gross, owed_after=owed - back)
        back -= owed
        credit_net = net_for_gross(back, before.billed.vat.percent, currency)
    if standing.paid_at_session and standing.collected:
        if standing.collected < back:
            raise ConflictError(
                f"{back} {currency} would go back but the session's payment holds only "
                f"{standing.collected} {currency} still to refund: credit it instead",
                code="refund_exceeds_payment",
            )
        return Settled(RepricingOutcome.REFUND, -back, credit_net)
    return Settled(RepricingOutcome.CREDIT_NOTE, -back, credit_net)


@dataclass(frozen=True, slots=True)
class Repricing:
    """One re-pricing of a charged session, as recorded (append-only): the price before and
    after, what it issued, the reason, who and when. ``sequence`` numbers the session's
    re-pricings from 1 (the next one starts from this one's ``after``); ``request_key`` is
    the caller's idempotency key, if any. ``credit_note_id`` is the credit note it issued
    (the refund path issues a refund's); ``payment_id`` the payment a refund comes from."""

    session_id: uuid.UUID
    charge_id: uuid.UUID
    sequence: int
    account_id: uuid.UUID | None
    country: str  # the place of supply, whose VAT the difference carries
    before: PricedAs
    after: PricedAs
    outcome: RepricingOutcome
    amount: Decimal
    reason: str
    created_by: str
    created_at: datetime
    booked_on: date  # the operator's day: the correction's accrual and documents
    owed_after: Decimal = ZERO
    request_key: str | None = None
    credit_note_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=new_id)

    @property
    def currency(self) -> Currency:
        return self.before.billed.currency

    @property
    def difference_net(self) -> Decimal:
        return self.after.net - self.before.net

    @property
    def difference_gross(self) -> Decimal:
        return self.after.gross - self.before.gross

    def difference_components(self) -> tuple[ComponentAmount, ...]:
        """The net difference per revenue component (a tariff change may move one up and
        another down)."""
        before = dict(self.before.billed.components)
        return tuple(
            ComponentAmount(name, amount - before.get(name, ZERO))
            for name, amount in self.after.billed.components
        )

    @property
    def correction_tax(self) -> Decimal:
        """The VAT of the correction as an invoice line states it: on its own net
        (EN 16931 BR-CO-17), as ``postings.document_issued`` recomputes an accrued line."""
        return vat_of(self.difference_net, self.after.billed.vat.percent, self.currency)

    @property
    def refund_marker(self) -> str:
        """What the refund of this re-pricing is asked with, so that it is asked once and
        its credit note names it."""
        return f"re-pricing {self.id}"
