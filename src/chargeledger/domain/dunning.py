"""Dunning (issue 13): the reminders an overdue invoice gets, when, and what they claim.

A schedule per account group (``DunningPolicy``: levels at days past the due date, each with
a title and a fee; the level from which the account's tokens are blocked; the last level is
the final notice). Each level sent is an event on the invoice (``DunningEvent``, kind
``notice``), unique per (invoice, level), so a run repeated, or two runs at once, send no
level twice. A dispute is an event too, and while an invoice is disputed it gets no notice
and blocks nothing (the customer is not pressed over an amount under review).

Levels go one at a time and keep their spacing: level n+1 is due when the invoice is its
days past due *and* as many days have passed since level n as the schedule puts between
them. A run missed for weeks does not send the final notice as the first letter, nor two
letters on consecutive days.

Late fees and B2B compensation and interest are claimed on the reminder only, not on a
separate debit document: they are damages, not consideration for a supply, so outside the
scope of VAT (Council Directive 2006/112/EC art. 2(1); CJEU C-277/05 Société thermale
d'Eugénie-les-Bains), and an EN 16931 invoice in the gap-free VAT invoice series would
misstate them. The claim is booked when the notice is made (``notice_claimed``): receivable
``Assets:Receivable:LatePayment:C<account>`` against ``Income:LatePayment:Fees|Compensation|
Interest``, apart from the invoice's own receivable, so the invoice's status and outstanding
amount stay what its money makes them, and paying the invoice (not the fees) lifts a block.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.ids import new_id
from chargeledger.domain.late_payment import (
    LatePaymentTerms,
    fixed_compensation,
    statutory_interest,
)
from chargeledger.domain.ledger import (
    EntryKind,
    JournalEntry,
    Posting,
    customer_credit,
    customer_key,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Money


class DunningEventKind(StrEnum):
    NOTICE = "notice"
    DISPUTED = "disputed"
    UNDISPUTED = "undisputed"
    WAIVED = "waived"  # what a notice claimed, given up by finance (``waiver_of``)


DISPUTE_KINDS = frozenset({DunningEventKind.DISPUTED, DunningEventKind.UNDISPUTED})


@dataclass(frozen=True, slots=True)
class DunningLevel:
    level: int  # 1, 2, 3 ...
    days_past_due: int
    title: str
    fee: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    """A schedule: levels numbered from 1 with rising days; tokens blocked from ``block_at``
    (None: never); the last level is the final notice."""

    levels: tuple[DunningLevel, ...]
    block_at: int | None = None

    def __post_init__(self) -> None:
        numbers = [lv.level for lv in self.levels]
        days = [lv.days_past_due for lv in self.levels]
        if (
            not self.levels
            or numbers != list(range(1, len(numbers) + 1))
            or days != sorted(set(days))
            or days[0] < 1
            or any(lv.fee < 0 for lv in self.levels)
            or (self.block_at is not None and self.block_at not in numbers)
        ):
            raise InvalidInputError(
                "a dunning schedule has levels 1..n at rising days past due (from 1), fees "
                "of at least 0, and blocks tokens at one of its levels",
                code="invalid_dunning_policy",
            )

    @property
    def final(self) -> int:
        return len(self.levels)

    def level(self, number: int) -> DunningLevel:
        return self.levels[number - 1]

    def blocks_at(self, number: int) -> bool:
        return self.block_at is not None and number >= self.block_at


def _levels(*rows: tuple[int, str, str]) -> tuple[DunningLevel, ...]:
    return tuple(
        DunningLevel(n, days, title, Decimal(fee)) for n, (days, title, fee) in enumerate(rows, 1)
    )


# The example: a reminder at +7 days, a second at +21 with a late fee, a final notice
# at +35 that blocks the tokens. Businesses pay no reminder fee: the EUR 40 of Directive
# 2011/7/EU art. 6 already covers the recovery costs (art. 6(3)).
DEFAULT_POLICIES: Mapping[str, DunningPolicy] = {
    "individual": DunningPolicy(
        _levels(
            (7, "Payment reminder", "0"),
            (21, "Second reminder", "5.00"),
            (35, "Final notice", "5.00"),
        ),
        block_at=3,
    ),
    "business": DunningPolicy(
        _levels(
            (7, "Payment reminder", "0"),
            (21, "Second reminder", "0"),
            (35, "Final notice", "0"),
        ),
        block_at=3,
    ),
}


@dataclass(frozen=True, slots=True)
class DunningEvent:
    """Something that happened to an invoice's dunning: a notice (with what it claims), or a
    dispute opened or closed by finance. Append-only."""

    kind: DunningEventKind
    invoice_id: uuid.UUID
    account_id: uuid.UUID | None
    on: date  # the operator's day it happened on
    at: datetime
    level: int | None = None
    title: str | None = None
    final: bool = False
    blocks_tokens: bool = False
    outstanding: Money | None = None  # of the invoice, on the day of the notice
    fee: Money | None = None
    compensation: Money | None = None
    interest: Money | None = None
    interest_percent: Decimal | None = None
    by: str | None = None
    note: str | None = None
    id: uuid.UUID = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DunningEventKind(self.kind))

    @property
    def key(self) -> str:
        """Unique in storage: a level is sent once per invoice."""
        if self.kind is DunningEventKind.NOTICE:
            return f"notice:{self.invoice_id}:{self.level}"
        if self.kind is DunningEventKind.WAIVED:  # a notice's claim is waived once
            return f"waived:{self.invoice_id}:{self.level}"
        return f"{self.kind.value}:{self.id}"

    @property
    def claimed(self) -> Money | None:
        """Fee + compensation + interest of a notice."""
        parts = [m for m in (self.fee, self.compensation, self.interest) if m is not None]
        if not parts:
            return None
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total


def notices_in(history: Sequence[DunningEvent]) -> list[DunningEvent]:
    return sorted(
        (e for e in history if e.kind is DunningEventKind.NOTICE), key=lambda e: e.level or 0
    )


def is_disputed(history: Sequence[DunningEvent]) -> bool:
    """The latest dispute event decides (open disputes pause dunning)."""
    disputes = [e for e in history if e.kind in DISPUTE_KINDS]
    if not disputes:
        return False
    latest = max(disputes, key=lambda e: e.at)
    return latest.kind is DunningEventKind.DISPUTED


def next_step(
    policy: DunningPolicy, due_date: date, history: Sequence[DunningEvent]
) -> tuple[DunningLevel, date] | None:
    """The schedule's next level not sent yet and the first day it may be sent (its days
    past due, and the gap to the previous level after the notice that was sent); None when
    the final notice went out. Disputes are not looked at: see ``next_level``."""
    sent = notices_in(history)
    last = sent[-1] if sent else None
    number = 1 if last is None or last.level is None else last.level + 1
    if number > policy.final:
        return None
    level = policy.level(number)
    earliest = due_date + timedelta(days=level.days_past_due)
    if last is not None and number > 1:
        gap = level.days_past_due - policy.level(number - 1).days_past_due
        earliest = max(earliest, last.on + timedelta(days=gap))
    return level, earliest


def next_level(
    policy: DunningPolicy,
    due_date: date,
    today: date,
    history: Sequence[DunningEvent],
) -> DunningLevel | None:
    """The level to send today, if any (module docstring: one at a time, spaced)."""
    if is_disputed(history):
        return None
    step = next_step(policy, due_date, history)
    if step is None or today < step[1]:
        return None
    return step[0]


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    """What dunning needs of one overdue invoice."""

    invoice_id: uuid.UUID
    account_id: uuid.UUID | None
    due_date: date
    outstanding: Money
    business: bool  # Directive 2011/7/EU applies to commercial transactions only


def notice_for(
    case: OverdueInvoice,
    policy: DunningPolicy,
    terms: LatePaymentTerms,
    history: Sequence[DunningEvent],
    today: date,
    at: datetime,
) -> DunningEvent | None:
    """The notice ``case`` gets today, with what it claims, or None."""
    level = next_level(policy, case.due_date, today, history)
    if level is None or case.outstanding.amount <= 0:
        return None
    currency = case.outstanding.currency.code
    sent = notices_in(history)
    zero = Money.zero(currency)
    compensation, interest = zero, zero
    if case.business:
        claimed = any(e.compensation is not None and not e.compensation.is_zero for e in sent)
        compensation = fixed_compensation(terms, currency, claimed)
        # Interest since the due date, or since the last notice (which claimed up to its day).
        since = max([case.due_date, *(e.on for e in sent)])
        interest = statutory_interest(terms, case.outstanding, since, today)
    return DunningEvent(
        kind=DunningEventKind.NOTICE,
        invoice_id=case.invoice_id,
        account_id=case.account_id,
        on=today,
        at=at,
        level=level.level,
        title=level.title,
        final=level.level == policy.final,
        blocks_tokens=policy.blocks_at(level.level),
        outstanding=case.outstanding,
        fee=Money.of(level.fee, currency),
        compensation=compensation,
        interest=interest,
        interest_percent=terms.annual_percent if case.business else None,
    )


# --- blocking -------------------------------------------------------------------------------


def blocks_account(
    histories: Mapping[uuid.UUID, Sequence[DunningEvent]], open_invoices: set[uuid.UUID]
) -> bool:
    """An account's tokens are blocked while one of its invoices that reached a blocking
    level is still open (not paid, credited or written off) and not disputed. Derived each
    time a token is authorised, never stored: paying lifts the block at once, and a block a
    person put on a token (its own status) is a different thing that dunning never touches."""
    return any(
        invoice_id in open_invoices
        and any(e.blocks_tokens for e in notices_in(history))
        and not is_disputed(history)
        for invoice_id, history in histories.items()
    )


# --- the ledger -----------------------------------------------------------------------------

LATE_PAYMENT_SOURCE = "dunning_notice"


def late_payment_receivable(account_id: uuid.UUID) -> str:
    return f"Assets:Receivable:LatePayment:{customer_key(account_id)}"


def notice_claimed(event: DunningEvent) -> JournalEntry | None:
    """The booking of what a notice claims (module docstring), or None when it claims
    nothing. No VAT: damages and interest are no consideration for a supply."""
    claimed = event.claimed
    if claimed is None or claimed.is_zero or event.account_id is None:
        return None
    income = [
        Posting("Income:LatePayment:Fees", -event.fee) if event.fee else None,
        Posting("Income:LatePayment:Compensation", -event.compensation)
        if event.compensation
        else None,
        Posting("Income:LatePayment:Interest", -event.interest) if event.interest else None,
    ]
    return JournalEntry(
        kind=EntryKind.LATE_PAYMENT_CLAIMED,
        booked_on=event.on,
        description=f"dunning level {event.level}: fees and interest claimed",
        postings=(
            Posting(late_payment_receivable(event.account_id), claimed),
            *(p for p in income if p is not None),
        ),
        source_type=LATE_PAYMENT_SOURCE,
        source_id=str(event.id),
    )


def waiver_of(notice: DunningEvent, on: date, at: datetime, by: str, note: str) -> DunningEvent:
    """Finance gives up what ``notice`` claimed (goodwill, a settlement, a claim that will
    not be collected): an event on the invoice with the amounts given up, who and why. The
    notice itself stays as it was sent (append-only); the invoice's own debt is untouched."""
    if notice.kind is not DunningEventKind.NOTICE:
        raise InvalidInputError("only a notice's claim can be waived", code="not_a_notice")
    return DunningEvent(
        kind=DunningEventKind.WAIVED,
        invoice_id=notice.invoice_id,
        account_id=notice.account_id,
        on=on,
        at=at,
        level=notice.level,
        title=notice.title,
        fee=notice.fee,
        compensation=notice.compensation,
        interest=notice.interest,
        interest_percent=notice.interest_percent,
        by=by,
        note=note,
    )


def claim_waived(notice: DunningEvent, waiver: DunningEvent) -> JournalEntry | None:
    """The booking of a waiver: the notice's claim booking turned round (the late-payment
    receivable back to zero, the income it recognised taken back), dated on the waiver's
    day; None when the notice claimed nothing."""
    claimed = notice_claimed(notice)
    if claimed is None:
        return None
    return JournalEntry(
        kind=EntryKind.LATE_PAYMENT_WAIVED,
        booked_on=waiver.on,
        description=f"dunning level {notice.level}: fees and interest waived",
        postings=tuple(Posting(p.account, -p.units) for p in claimed.postings),
        source_type=LATE_PAYMENT_SOURCE,
        source_id=str(waiver.id),
    )


def claims_paid(account_id: uuid.UUID, amount: Money, on: date, source_id: str) -> JournalEntry:
    """A customer's credit pays ``amount`` of their open late-payment claims: what they sent
    beyond their invoices settles what the reminders claimed (the invoices come first, so
    paying an invoice lifts its block whatever else is owed)."""
    return JournalEntry(
        kind=EntryKind.LATE_PAYMENT_PAID,
        booked_on=on,
        description="late-payment claims paid from the customer's credit",
        postings=(
            Posting(customer_credit(account_id), amount),
            Posting(late_payment_receivable(account_id), -amount),
        ),
        source_type="late_payment_credit",
        source_id=source_id,
    )
