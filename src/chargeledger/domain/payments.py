"""Payments: an append-only log of events per payment, and the state derived from it.

A payment is one attempt to collect money through a payment service provider (PSP) or a
wallet: the hold of a card session, a wallet top-up, the payment of an invoice. Nothing about
it is updated in place (DESIGN §2, append-only money records); what it is now — authorised,
captured, refunded, released, failed or unknown — is folded from its events.

Every PSP operation carries a deterministic idempotency key (``<payment id>:<operation>``), so
a retry after a crash or a timeout asks the PSP the same question again and cannot move money
twice. Events are keyed by the *fact* they record (``captured``, ``refund:<PSP refund id>``),
so the same fact learnt twice — from the PSP's answer and from its webhook, in any order — is
kept once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.card_data import looks_like_card_number as looks_like_card_number
from chargeledger.domain.card_data import luhn_valid as luhn_valid
from chargeledger.domain.card_data import refuse_card_data as refuse_card_data
from chargeledger.domain.ids import new_id
from chargeledger.domain.wallets import WalletSettings as WalletSettings  # re-exported
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency


class PaymentPurpose(StrEnum):
    SESSION = "session"  # hold at start, capture at stop (card, app) or wallet debit
    TOP_UP = "top_up"  # money into a prepaid wallet
    INVOICE = "invoice"  # settles an issued invoice's receivable


class PaymentMethodKind(StrEnum):
    """How the driver pays (issue 6): the summary and the ledger group by this."""

    CARD = "card"  # a bank card at the station or through the QR checkout (ad hoc)
    APP = "app"  # the card stored in the driver's app (a PSP token on the account)
    WALLET = "wallet"  # the account's prepaid balance
    RFID = "rfid"  # postpaid: no payment at the session, the invoice is paid later


class EventKind(StrEnum):
    REQUESTED = "requested"  # an operation was sent to the PSP (carries the amount asked)
    AUTHORISED = "authorised"  # amount = the total now held
    DECLINED = "declined"  # the hold was refused; nothing is held
    RAISED = "raised"  # incremental authorisation; amount = the new total held
    RAISE_DECLINED = "raise_declined"  # the hold stays as it was
    CAPTURED = "captured"  # amount = money taken (at most the hold)
    CAPTURE_FAILED = "capture_failed"
    RELEASED = "released"  # the hold was cancelled: nothing taken
    REFUNDED = "refunded"  # amount = money given back by one refund
    REFUND_FAILED = "refund_failed"
    UNKNOWN = "unknown"  # the PSP did not answer in time: the outcome is not known yet


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORISED = "authorised"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    RELEASED = "released"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Operation(StrEnum):
    """The PSP operations; each payment does each at most once, except raising the hold
    (numbered) and refunds (numbered)."""

    AUTHORISE = "authorise"
    RAISE = "raise"
    CAPTURE = "capture"
    RELEASE = "release"
    REFUND = "refund"


OUTCOMES: dict[Operation, frozenset[EventKind]] = {
    Operation.AUTHORISE: frozenset({EventKind.AUTHORISED, EventKind.DECLINED}),
    Operation.RAISE: frozenset({EventKind.RAISED, EventKind.RAISE_DECLINED}),
    Operation.CAPTURE: frozenset({EventKind.CAPTURED, EventKind.CAPTURE_FAILED}),
    Operation.RELEASE: frozenset({EventKind.RELEASED}),
    Operation.REFUND: frozenset({EventKind.REFUNDED, EventKind.REFUND_FAILED}),
}


def operation_key(payment_id: uuid.UUID, operation: Operation, number: int = 0) -> str:
    """The idempotency key the PSP sees: the same for every retry of one operation."""
    suffix = f"-{number}" if number else ""
    return f"cl-{payment_id}-{operation.value}{suffix}"


def operation_of(key: str) -> Operation:
    """The operation an idempotency key names (``cl-<uuid>-capture`` → CAPTURE)."""
    name = key.rsplit("-", 2)
    for candidate in (name[-1], name[-2] if len(name) > 1 else ""):
        if candidate in Operation.__members__.values():
            return Operation(candidate)
    raise InvalidInputError(f"{key!r} is not an operation key", code="invalid_operation_key")


@dataclass(frozen=True, slots=True)
class Payment:
    """Who pays what for which purpose through which gateway. Immutable once stored."""

    purpose: PaymentPurpose
    method: PaymentMethodKind
    gateway: str  # "sandbox", "stripe" or "wallet"
    currency: Currency
    account_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    id_tag: str | None = None  # the ad hoc idTag a QR checkout starts the session with
    method_token: str | None = None  # the PSP's token of the card: never the card itself
    evse: str | None = None  # "<station>/<evse>" of an ad hoc checkout
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))
        object.__setattr__(self, "purpose", PaymentPurpose(self.purpose))
        object.__setattr__(self, "method", PaymentMethodKind(self.method))
        if self.method_token is not None:
            refuse_card_data(self.method_token, "method_token")

    def key(self, operation: Operation, number: int = 0) -> str:
        return operation_key(self.id, operation, number)


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """One fact about a payment. ``fact`` is unique per payment: a fact learnt twice (the
    PSP's answer and its webhook) is the same row."""

    payment_id: uuid.UUID
    kind: EventKind
    fact: str
    at: datetime
    amount: Decimal = ZERO
    operation: str | None = None  # the idempotency key of the operation it answers
    provider_ref: str | None = None  # the PSP's id of the payment (PaymentIntent id)
    detail: str | None = None  # decline code, refund reason, refund id
    id: uuid.UUID = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))


def fact_of(kind: EventKind, operation: str | None, distinct: str | None = None) -> str:
    """The identity of a fact. A payment is authorised, captured and released at most once,
    so those outcomes are one fact each, whoever reports them (our call's answer or the PSP's
    webhook); a raise is one fact per raise operation, a refund one per PSP refund id."""
    match kind:
        case EventKind.REQUESTED | EventKind.UNKNOWN:
            return f"{kind.value}:{operation}"
        case EventKind.AUTHORISED | EventKind.DECLINED:
            return "authorise"
        case EventKind.CAPTURED | EventKind.CAPTURE_FAILED:
            return "capture"
        case EventKind.RELEASED:
            return "release"
        case EventKind.RAISED:
            return f"raised:{operation or distinct}"
        case EventKind.REFUNDED:
            return f"refunded:{distinct or operation}"
        case _:
            return f"{kind.value}:{operation}"


@dataclass(frozen=True, slots=True)
class PaymentState:
    """What the events of one payment add up to."""

    status: PaymentStatus
    requested: Decimal
    authorised: Decimal
    captured: Decimal
    refunded: Decimal
    provider_ref: str | None
    open_operations: tuple[str, ...]  # asked and not answered (yet, or the answer was lost)
    decline_code: str | None
    raises: int  # how many raise operations were started
    refunds: int  # how many refund operations were started

    @property
    def refundable(self) -> Decimal:
        return self.captured - self.refunded

    @property
    def holds(self) -> bool:
        """Money is held on the card: authorised, neither captured nor released."""
        return self.status is PaymentStatus.AUTHORISED


def fold(events: Iterable[PaymentEvent]) -> PaymentState:
    """Derive the state; the order of the events does not matter (webhooks come in any
    order), only which facts are there."""
    ordered = sorted(events, key=lambda e: (e.at, e.kind.value))
    requested = authorised = captured = refunded = ZERO
    provider_ref = decline = None
    asked: dict[str, EventKind | None] = {}
    timed_out: set[str] = set()
    kinds: set[EventKind] = set()
    for event in ordered:
        kinds.add(event.kind)
        provider_ref = provider_ref or event.provider_ref
        if event.kind is EventKind.REQUESTED and event.operation:
            asked.setdefault(event.operation, None)
            if operation_of(event.operation) is Operation.AUTHORISE:
                requested = max(requested, event.amount)
        elif event.kind is EventKind.UNKNOWN and event.operation:
            timed_out.add(event.operation)
        elif event.operation:
            asked[event.operation] = event.kind
        if event.kind in (EventKind.AUTHORISED, EventKind.RAISED):
            authorised = max(authorised, event.amount)
        elif event.kind is EventKind.CAPTURED:
            captured += event.amount
        elif event.kind is EventKind.REFUNDED:
            refunded += event.amount
        elif event.kind in (EventKind.DECLINED, EventKind.CAPTURE_FAILED):
            decline = event.detail
    open_ops = tuple(op for op, outcome in asked.items() if outcome is None)
    return PaymentState(
        status=_status(kinds, captured, refunded, any(op in timed_out for op in open_ops)),
        requested=requested,
        authorised=authorised,
        captured=captured,
        refunded=refunded,
        provider_ref=provider_ref,
        open_operations=open_ops,
        decline_code=decline,
        raises=sum(1 for op in asked if operation_of(op) is Operation.RAISE),
        refunds=sum(1 for op in asked if operation_of(op) is Operation.REFUND),
    )


def _status(
    kinds: set[EventKind], captured: Decimal, refunded: Decimal, unknown: bool
) -> PaymentStatus:
    if EventKind.CAPTURED in kinds:
        if refunded >= captured and refunded:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED if refunded else PaymentStatus.CAPTURED
    if unknown:
        return PaymentStatus.UNKNOWN
    if EventKind.RELEASED in kinds:
        return PaymentStatus.RELEASED
    if EventKind.CAPTURE_FAILED in kinds or (
        EventKind.DECLINED in kinds and EventKind.AUTHORISED not in kinds
    ):
        return PaymentStatus.FAILED
    if EventKind.AUTHORISED in kinds:
        return PaymentStatus.AUTHORISED
    return PaymentStatus.PENDING


@dataclass(frozen=True, slots=True)
class StoredCard:
    """A card on an account, as the PSP described it: token, brand, last four, expiry."""

    account_id: uuid.UUID
    gateway: str
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool = True
    active: bool = True
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        refuse_card_data(self.token, "token")
        if not re.fullmatch(r"\d{4}", self.last4 or ""):
            raise InvalidInputError("last4 must be 4 digits", code="invalid_last4", field="last4")
        if not 1 <= self.exp_month <= 12 or not 2000 <= self.exp_year <= 2100:
            raise InvalidInputError("invalid card expiry", code="invalid_expiry", field="exp_month")

    def expired_at(self, moment: datetime) -> bool:
        return (moment.year, moment.month) > (self.exp_year, self.exp_month)


def hold_steps(estimate: Decimal, held: Decimal, step: Decimal, ceiling: Decimal) -> Decimal:
    """The next total to hold when the live cost ``estimate`` comes within 80 % of ``held``:
    one more ``step`` (or more if the cost jumped), never above ``ceiling``. ``held`` when no
    raise is needed."""
    if estimate < held * Decimal("0.8"):
        return held
    wanted = held + step
    while estimate >= wanted * Decimal("0.8"):
        wanted += step
    return min(wanted, ceiling)


def summarise(states: Sequence[tuple[Payment, PaymentState]]) -> dict[tuple[str, str], int]:
    """Count of payments per (method, status), for reports."""
    counts: dict[tuple[str, str], int] = {}
    for payment, state in states:
        key = (payment.method.value, state.status.value)
        counts[key] = counts.get(key, 0) + 1
    return counts
