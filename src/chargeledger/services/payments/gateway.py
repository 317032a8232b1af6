"""The port to a payment service provider (PSP), and what it answers.

Adapters (``adapters/gateways/sandbox.py``, ``adapters/gateways/stripe_gateway.py``) implement
:class:`PaymentGateway`. Every call that moves money carries our deterministic idempotency key
(``domain.payments.operation_key``); an adapter passes it to the PSP where the PSP honours one
and must still be safe where it does not (a second capture of a captured hold is refused by
the PSP, not repeated).

A call that gets no answer in time raises :class:`GatewayTimeoutError`: the outcome is unknown
(the PSP may or may not have done it). The payment is then marked UNKNOWN and the janitor
asks the PSP later with :meth:`PaymentGateway.lookup`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from chargeledger.domain.payout_reconciliation import PayoutItem
from chargeledger.errors import ChargeledgerError
from chargeledger.money import Money


class GatewayTimeoutError(ChargeledgerError):
    """The PSP did not answer in time: the operation may or may not have happened."""

    default_code = "gateway_timeout"
    http_status = 504


class GatewayUnavailableError(ChargeledgerError):
    """The PSP refused the connection or answered with a server error before doing anything."""

    default_code = "gateway_unavailable"
    http_status = 503


class WebhookRejectedError(ChargeledgerError):
    """A webhook that is not provably from the PSP: unsigned, forged, stale or unreadable.
    ``code`` says which (``webhook_unsigned``, ``webhook_forged``, ``webhook_stale``,
    ``webhook_malformed``)."""

    default_code = "webhook_rejected"
    http_status = 400


class Outcome(StrEnum):
    AUTHORISED = "authorised"  # a hold stands (after authorise or raise)
    CAPTURED = "captured"
    RELEASED = "released"
    REFUNDED = "refunded"
    DECLINED = "declined"  # refused; ``decline_code`` says why


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """The PSP's answer to one call.

    ``amount``: AUTHORISED → the total now held; CAPTURED → the amount captured (by this
    call); REFUNDED → the amount of this refund; RELEASED/DECLINED → zero.
    """

    outcome: Outcome
    amount: Decimal
    provider_ref: str | None = None  # the PSP's id of the payment (e.g. ``pi_...``)
    decline_code: str | None = None  # card_declined, insufficient_funds, expired_card, ...
    refund_ref: str | None = None  # the PSP's id of a refund


@dataclass(frozen=True, slots=True)
class ProviderView:
    """What the PSP knows of one payment, for the janitor (amounts in major units)."""

    provider_ref: str
    authorised: Decimal  # the largest total ever held (kept after capture); 0 when declined
    captured: Decimal
    refunds: Sequence[tuple[str, Decimal]]  # (refund id, amount)
    released: bool
    declined: bool
    decline_code: str | None = None


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What the PSP tells us of a tokenised card: never the number, never the CVC."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class WebhookKind(StrEnum):
    AUTHORISED = "authorised"
    DECLINED = "declined"
    CAPTURED = "captured"
    RELEASED = "released"
    REFUNDED = "refunded"
    PAYOUT_PAID = "payout_paid"
    DISPUTE = "dispute"  # a chargeback opened, changed, withdrew or gave back money, closed
    IGNORED = "ignored"  # a valid event of a type we do not act on


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook, in our terms. ``reference`` is our payment id (sent to the PSP as
    metadata); ``operation`` our idempotency key where the PSP echoes it (refunds)."""

    event_id: str
    kind: WebhookKind
    created: datetime
    provider_ref: str | None = None
    reference: str | None = None
    amount: Decimal = Decimal(0)
    currency: str | None = None
    refund_ref: str | None = None
    operation: str | None = None
    decline_code: str | None = None
    payout: Payout | None = None
    dispute: DisputeNotice | None = None


class DisputePhase(StrEnum):
    """Which of a chargeback's events this is (Stripe ``charge.dispute.<phase>``)."""

    CREATED = "created"
    UPDATED = "updated"
    FUNDS_WITHDRAWN = "funds_withdrawn"
    FUNDS_REINSTATED = "funds_reinstated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class DisputeNotice:
    """A chargeback as the PSP describes it in one event. Every event carries the whole
    dispute, so events applied in any order reach the same case."""

    dispute_id: str
    phase: DisputePhase
    status: str  # needs_response, warning_needs_response, under_review, won, lost, ...
    reason: str  # the card scheme's reason: fraudulent, product_not_received, ...
    amount: Money
    fee: Money
    evidence_due_by: datetime | None = None


@dataclass(frozen=True, slots=True)
class Payout:
    """Money the PSP sent to the operator's bank: ``gross`` of payments, less ``fee``.
    ``items``: the balance transactions it settled, where the PSP tells
    (``domain/payout_reconciliation.py``); empty where it does not."""

    payout_id: str
    gross: Money
    fee: Money
    arrival: date
    items: tuple[PayoutItem, ...] = ()

    @property
    def net(self) -> Money:
        return self.gross - self.fee


WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's default; older signed events are replays


class PaymentGateway(Protocol):
    """One PSP. ``name`` is the ledger account suffix (``Assets:PSP:<Name>``)."""

    @property
    def name(self) -> str: ...

    @property
    def supports_increment(self) -> bool:
        """Whether the hold can be raised (incremental authorisation)."""
        ...

    async def authorise(
        self,
        *,
        amount: Money,
        method_token: str,
        idempotency_key: str,
        reference: str,
        capture: bool = False,
    ) -> GatewayResult:
        """Hold ``amount`` on the card (``capture``: take it at once, e.g. a top-up).
        ``reference`` (our payment id) travels as metadata and comes back in webhooks."""
        ...

    async def increment(
        self, *, provider_ref: str, new_total: Money, idempotency_key: str
    ) -> GatewayResult:
        """Raise the hold to ``new_total``; DECLINED (``increment_unsupported``) when the PSP
        cannot."""
        ...

    async def capture(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> GatewayResult:
        """Take ``amount`` (≤ the hold) and release the rest."""
        ...

    async def release(self, *, provider_ref: str, idempotency_key: str) -> GatewayResult:
        """Cancel the hold; nothing is taken."""
        ...

    async def refund(
        self, *, provider_ref: str, amount: Money, idempotency_key: str, reason: str
    ) -> GatewayResult:
        """Give back ``amount`` of what was captured."""
        ...

    async def lookup(self, *, reference: str, provider_ref: str | None) -> ProviderView | None:
        """The PSP's view of our payment ``reference``; None when the PSP never saw it."""
        ...

    async def card_details(self, token: str) -> CardDetails:
        """Brand, last four and expiry of a tokenised card (to store a payment method)."""
        ...

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookEvent:
        """Check the signature and its timestamp (±``WEBHOOK_TOLERANCE_SECONDS``) and read the
        event; raise :class:`WebhookRejectedError` otherwise."""
        ...

    async def payouts(self, since: datetime) -> list[Payout]:
        """Payouts created since ``since``, with their fees and items, for reconciliation."""
        ...

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]:
        """What the payout settled (its balance transactions); empty where the PSP cannot
        tell. A payout webhook carries no items: the handler asks for them here."""
        ...

    async def submit_dispute_evidence(
        self, *, dispute_id: str, evidence: Mapping[str, str], idempotency_key: str
    ) -> str:
        """Answer a chargeback with evidence (text fields named as Stripe's
        ``Dispute.evidence``) and submit it; returns the dispute's status at the PSP."""
        ...
