"""Dispute cases (issue 15): a customer, the operator or the PSP says a charge is wrong.

A case is about one subject — a charging session, an invoice line or a payment (a PSP's
chargeback is always about a payment) — and moves ``open`` → ``under_review`` → ``resolved``
with one resolution: a refund, a credit note, a re-pricing or a rejection with its reason.
A chargeback is decided by the card scheme, not by us: it ends ``won`` or ``lost`` when the
PSP says so, and we answer it with evidence meanwhile. Every step is an event of the case
(append-only, DESIGN §2); the case row holds the state those events led to.

SLA: a customer's case is answered within :data:`CUSTOMER_SLA` (EU ADR practice gives
traders a few weeks; our default is 14 days, configurable), a chargeback before the PSP's
evidence deadline. Reminders fall due :data:`REMINDER_LEAD` before the deadline and once it
has passed; each is announced once (its key names the case and the kind).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chargeledger.domain.ids import new_id
from chargeledger.domain.text import optional_text, required_text
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Currency

CUSTOMER_SLA = timedelta(days=14)
REMINDER_LEAD = timedelta(days=3)
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "text/plain"})


class DisputeOrigin(StrEnum):
    DRIVER = "driver"
    FLEET_MANAGER = "fleet_manager"
    OPERATOR = "operator"
    PSP = "psp"  # a chargeback


class DisputeReason(StrEnum):
    ENERGY = "energy"  # "I was charged for 40 kWh but got 20"
    PRICE = "price"  # the price differs from what was shown
    DUPLICATE = "duplicate"  # charged twice
    NOT_MINE = "not_mine"  # a session the customer did not make
    SERVICE = "service"  # the station failed, charging stopped early
    CHARGEBACK = "chargeback"  # the card holder asked the bank for the money back
    OTHER = "other"


class DisputeState(StrEnum):
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    RESOLVED = "resolved"
    WON = "won"  # a chargeback decided for us: the money comes back
    LOST = "lost"  # a chargeback decided for the card holder

    @property
    def is_closed(self) -> bool:
        return self in (DisputeState.RESOLVED, DisputeState.WON, DisputeState.LOST)


class Resolution(StrEnum):
    REFUND = "refund"  # money back to the card (with its credit note)
    CREDIT_NOTE = "credit_note"  # the invoice is corrected; the account is credited
    REPRICE = "reprice"  # the session is priced again; the difference is issued
    REJECTED = "rejected"  # the charge stands; the reason says why


class EventKind(StrEnum):
    OPENED = "opened"
    REVIEW_STARTED = "review_started"
    NOTE = "note"
    ATTACHMENT = "attachment"
    EVIDENCE_SUBMITTED = "evidence_submitted"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    PSP_UPDATE = "psp_update"
    FUNDS_WITHDRAWN = "funds_withdrawn"
    FUNDS_REINSTATED = "funds_reinstated"
    WON = "won"
    LOST = "lost"


class DisputeTransitionError(ConflictError):
    default_code = "dispute_state"


@dataclass(frozen=True, slots=True)
class Subject:
    """What is disputed: a session, one line of an invoice, or a payment."""

    session_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    line: int | None = None  # a position on the invoice
    payment_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        named = [x for x in (self.session_id, self.invoice_id, self.payment_id) if x is not None]
        if not named:
            raise InvalidInputError(
                "a dispute names a session, an invoice line or a payment",
                code="dispute_subject_missing",
            )
        if self.line is not None and (self.invoice_id is None or self.line < 1):
            raise InvalidInputError(
                "a line is a position (1, 2, ...) on a named invoice", code="invalid_line"
            )


@dataclass(frozen=True, slots=True)
class Chargeback:
    """What the PSP tells of a chargeback: its id, why, how much was withdrawn, its fee
    and until when evidence is accepted."""

    psp_dispute_id: str
    gateway: str
    status: str  # the PSP's word: needs_response, under_review, won, lost, ...
    psp_reason: str
    fee: Decimal = Decimal(0)
    evidence_due_by: datetime | None = None


@dataclass(frozen=True, slots=True)
class Dispute:
    number: str
    origin: DisputeOrigin
    reason: DisputeReason
    description: str
    subject: Subject
    account_id: uuid.UUID | None
    currency: Currency
    amount: Decimal | None  # what the customer (or the PSP) says is wrong; None: not said
    opened_by: str
    opened_at: datetime
    respond_by: datetime
    state: DisputeState = DisputeState.OPEN
    resolution: Resolution | None = None
    resolution_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    outcome_ref: str | None = None  # the credit note, refund or re-pricing it produced
    chargeback: Chargeback | None = None
    id: uuid.UUID = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", DisputeOrigin(self.origin))
        object.__setattr__(self, "reason", DisputeReason(self.reason))
        object.__setattr__(self, "state", DisputeState(self.state))
        object.__setattr__(self, "currency", Currency.of(self.currency))
        if self.resolution is not None:
            object.__setattr__(self, "resolution", Resolution(self.resolution))
        if self.amount is not None and (not self.amount.is_finite() or self.amount <= 0):
            raise InvalidInputError(
                "a disputed amount is positive", code="invalid_amount", field="amount"
            )
        if (self.origin is DisputeOrigin.PSP) != (self.chargeback is not None):
            raise InvalidInputError("only the PSP opens a chargeback", code="invalid_dispute")

    @property
    def is_chargeback(self) -> bool:
        return self.chargeback is not None


@dataclass(frozen=True, slots=True)
class DisputeEvent:
    dispute_id: uuid.UUID
    kind: EventKind
    at: datetime
    by: str
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # a natural key: the same fact learnt twice is one event
    id: uuid.UUID = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))


def open_case(
    *,
    number: str,
    origin: DisputeOrigin,
    reason: DisputeReason,
    description: str,
    subject: Subject,
    account_id: uuid.UUID | None,
    currency: Currency | str,
    amount: Decimal | None,
    opened_by: str,
    now: datetime,
    sla: timedelta = CUSTOMER_SLA,
) -> Dispute:
    """A customer's or the operator's case; answered within ``sla``."""
    if origin is DisputeOrigin.PSP or reason is DisputeReason.CHARGEBACK:
        raise InvalidInputError("chargebacks come from the PSP", code="invalid_reason")
    return Dispute(
        number=number,
        origin=origin,
        reason=reason,
        description=required_text(description, "description", 2000),
        subject=subject,
        account_id=account_id,
        currency=Currency.of(currency),
        amount=amount,
        opened_by=opened_by,
        opened_at=now,
        respond_by=now + sla,
    )


def open_chargeback(
    *,
    number: str,
    chargeback: Chargeback,
    payment_id: uuid.UUID,
    session_id: uuid.UUID | None,
    invoice_id: uuid.UUID | None,
    account_id: uuid.UUID | None,
    currency: Currency | str,
    amount: Decimal,
    now: datetime,
) -> Dispute:
    """The PSP's chargeback; the evidence deadline is the PSP's (a week when it names none:
    card schemes give acquirers little more)."""
    due = chargeback.evidence_due_by or now + timedelta(days=7)
    return Dispute(
        number=number,
        origin=DisputeOrigin.PSP,
        reason=DisputeReason.CHARGEBACK,
        description=f"chargeback {chargeback.psp_dispute_id}: {chargeback.psp_reason}"[:2000],
        subject=Subject(session_id=session_id, invoice_id=invoice_id, payment_id=payment_id),
        account_id=account_id,
        currency=Currency.of(currency),
        amount=amount,
        opened_by=f"psp:{chargeback.gateway}",
        opened_at=now,
        respond_by=due,
        chargeback=chargeback,
    )


def start_review(dispute: Dispute) -> Dispute:
    if dispute.state is not DisputeState.OPEN:
        raise DisputeTransitionError(
            f"dispute {dispute.number} is {dispute.state.value}, not open",
            code="dispute_not_open",
        )
    return dataclasses.replace(dispute, state=DisputeState.UNDER_REVIEW)


def resolve(
    dispute: Dispute,
    resolution: Resolution,
    *,
    note: str | None,
    by: str,
    now: datetime,
    outcome_ref: str | None,
) -> Dispute:
    """Close a customer's case. A rejection says why (the customer is told); a chargeback
    is not ours to resolve (``chargeback_decided_by_psp``)."""
    if dispute.is_chargeback:
        raise DisputeTransitionError(
            "a chargeback is won or lost at the PSP", code="chargeback_decided_by_psp"
        )
    if dispute.state.is_closed:
        raise DisputeTransitionError(
            f"dispute {dispute.number} is {dispute.state.value}", code="dispute_closed"
        )
    text = optional_text(note, "note", 2000)
    if resolution is Resolution.REJECTED and not text:
        raise InvalidInputError(
            "a rejection says why", code="rejection_reason_missing", field="note"
        )
    return dataclasses.replace(
        dispute,
        state=DisputeState.RESOLVED,
        resolution=resolution,
        resolution_note=text,
        resolved_by=by,
        resolved_at=now,
        outcome_ref=outcome_ref,
    )


def chargeback_update(dispute: Dispute, chargeback: Chargeback, now: datetime) -> Dispute:
    """The PSP's newest word on a chargeback. ``won``/``lost`` close it; a closed case does
    not reopen (a late, older event changes nothing)."""
    if dispute.state in (DisputeState.WON, DisputeState.LOST):
        return dispute
    state: DisputeState = dispute.state
    if chargeback.status == "won":
        state = DisputeState.WON
    elif chargeback.status == "lost":
        state = DisputeState.LOST
    elif chargeback.status == "under_review" and state is DisputeState.OPEN:
        state = DisputeState.UNDER_REVIEW
    closed = state in (DisputeState.WON, DisputeState.LOST)
    return dataclasses.replace(
        dispute,
        state=state,
        chargeback=chargeback,
        respond_by=chargeback.evidence_due_by or dispute.respond_by,
        resolved_at=now if closed else None,
        resolved_by=f"psp:{chargeback.gateway}" if closed else None,
    )


def reminders_due(dispute: Dispute, now: datetime) -> tuple[str, ...]:
    """The reminders of an open case due at ``now``: ``due_soon`` from
    :data:`REMINDER_LEAD` before its deadline, ``overdue`` once the deadline passed."""
    if dispute.state.is_closed:
        return ()
    due: list[str] = []
    if now >= dispute.respond_by - REMINDER_LEAD:
        due.append("due_soon")
    if now > dispute.respond_by:
        due.append("overdue")
    return tuple(due)


def check_attachment(name: str, media_type: str, content: bytes) -> str:
    """An attachment a customer sends with the case: a photo, a PDF or text, at most
    :data:`MAX_ATTACHMENT_BYTES` (returns the cleaned file name)."""
    if media_type not in ATTACHMENT_TYPES:
        raise InvalidInputError(
            f"attachments are {', '.join(sorted(ATTACHMENT_TYPES))}",
            code="attachment_type",
            field="attachment",
        )
    if not content or len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInputError(
            f"an attachment has 1 to {MAX_ATTACHMENT_BYTES} bytes",
            code="attachment_size",
            field="attachment",
        )
    clean = "".join(c for c in name if c.isalnum() or c in "._- ")[:120].strip()
    return clean or "attachment"
