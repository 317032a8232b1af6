"""Contract milestones and their reminders (issue 14 "Milestones and reminders"): the days a
contract asks someone to decide or know something, and which of them to remind of today.

The dates come from the contract's own lifecycle (``domain/contracts.py``, the one place that
decides when a contract runs, renews and ends): every **notice deadline** (the last day a
termination stops the next renewal), every **renewal** (the first day of the next term) and
the **end** (the unrenewed end, or a termination's last day). Finance adds the rest by hand as
:class:`CustomMilestone` (commitment reviews, price reviews, anything else).

Each milestone has a ``key`` unique per contract and occurrence; the outbox announces a notice
once per key (DESIGN §2 "Exactly once", ``domain/outbox.py``), so a reminder fires exactly
once however often the reminder job runs, across restarts and on every node of a cluster.

Pure: days are handed in, nothing is read from a clock.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.contracts import (
    MAX_RENEWALS,
    Contract,
    Renewal,
    add_months,
    last_day,
    notice_deadline,
)
from chargeledger.domain.outbox import Notice
from chargeledger.errors import InvalidInputError

TOPIC = "contract.milestone"
MAX_TITLE = 200
MAX_REMINDER_DAYS = 365  # a year ahead: the longest notice periods are a few months


class MilestoneKind(StrEnum):
    RENEWAL = "renewal"  # a term ends and the next begins (its first day)
    NOTICE_DEADLINE = "notice_deadline"  # the last day a termination stops the renewal
    END = "end"  # the contract's last day: its unrenewed end or a termination's last day
    COMMITMENT_REVIEW = "commitment_review"
    PRICE_REVIEW = "price_review"
    CUSTOM = "custom"


# The kinds finance adds by hand; the others follow from the contract's dates only.
CUSTOM_KINDS = frozenset(
    {MilestoneKind.COMMITMENT_REVIEW, MilestoneKind.PRICE_REVIEW, MilestoneKind.CUSTOM}
)
# Order of milestones due on one day: what can still be acted on first.
_DAY_ORDER = {kind: index for index, kind in enumerate(MilestoneKind)}
_HEADINGS = {
    MilestoneKind.RENEWAL: "Renewal",
    MilestoneKind.NOTICE_DEADLINE: "Notice deadline",
    MilestoneKind.END: "Last day",
    MilestoneKind.COMMITMENT_REVIEW: "Commitment review",
    MilestoneKind.PRICE_REVIEW: "Price review",
    MilestoneKind.CUSTOM: "Milestone",
}


@dataclass(frozen=True, slots=True)
class CustomMilestone:
    """A milestone finance adds by hand: a commitment review, a price review or any other
    day worth a reminder. The title is free text a person types (DESIGN §2 "No card data":
    a card number is refused like in every other note)."""

    title: str
    due_on: date
    kind: MilestoneKind = MilestoneKind.CUSTOM

    def __post_init__(self) -> None:
        try:
            kind = MilestoneKind(self.kind)
        except ValueError:
            kind = None
        if kind not in CUSTOM_KINDS:
            raise InvalidInputError(
                "a milestone added by hand is a commitment review, a price review or custom",
                code="invalid_milestone",
                field="kind",
            )
        object.__setattr__(self, "kind", kind)
        title = " ".join(self.title.split()) if isinstance(self.title, str) else ""
        if not 1 <= len(title) <= MAX_TITLE:
            raise InvalidInputError(
                f"a milestone has a title of 1 to {MAX_TITLE} characters",
                code="invalid_milestone",
                field="title",
            )
        refuse_card_data(title, "title")
        object.__setattr__(self, "title", title)

    @property
    def key(self) -> str:
        """Kind, day and a short hash of the title: two milestones on one day stay two, and
        the same one entered twice is one. A changed title or day is a new milestone (and a
        new reminder)."""
        digest = hashlib.sha256(self.title.encode("utf-8")).hexdigest()[:12]
        return f"{self.kind.value}:{self.due_on.isoformat()}:{digest}"


@dataclass(frozen=True, slots=True)
class Milestone:
    """One day a contract asks for attention. ``key`` is unique per contract and occurrence
    (what makes its reminder fire once). ``term_end`` is, for a renewal, the last day of the
    term it begins and, for a notice deadline, the last day of the term the contract renews
    into unless terminated by then; None for the others."""

    kind: MilestoneKind
    due_on: date
    title: str
    key: str
    term_end: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MilestoneKind(self.kind))


def _dated(kind: MilestoneKind, due_on: date, title: str, term_end: date | None) -> Milestone:
    return Milestone(kind, due_on, title, f"{kind.value}:{due_on.isoformat()}", term_end)


def _renewals(
    contract: Contract, renewal: Renewal, first_end: date, through: date
) -> Iterator[Milestone]:
    """The notice deadline and the renewal of each term from the first on, walking terms
    the way ``contracts.end_of_term_on`` does (``add_months`` from each renewal day, so a
    term from 31 January runs to 27 February). A term the contract's last day closes is not
    renewed, so neither its renewal nor its deadline is a milestone: once terminated, a
    deadline has nothing left to stop. Deadlines grow with the terms, so the walk stops at
    the first one after ``through``."""
    ending = last_day(contract)
    term_end = first_end
    for _ in range(MAX_RENEWALS):
        if ending is not None and term_end >= ending:
            return
        deadline = notice_deadline(term_end, renewal)
        if deadline > through:  # the renewal day, after the deadline, is later still
            return
        renewal_day = term_end + timedelta(days=1)
        next_end = add_months(renewal_day, renewal.term_months) - timedelta(days=1)
        yield _dated(
            MilestoneKind.NOTICE_DEADLINE,
            deadline,
            f"Notice deadline: terminate by {deadline} or the contract renews until {next_end}",
            next_end,
        )
        yield _dated(
            MilestoneKind.RENEWAL,
            renewal_day,
            f"Renewal: a new term from {renewal_day} to {next_end}",
            next_end,
        )
        term_end = next_end
    raise InvalidInputError(
        "the day is beyond any renewal term", code="invalid_contract", field="through"
    )


def _end(contract: Contract, ending: date) -> Milestone:
    termination = contract.termination
    if termination is None:
        why = "its agreed end, not renewed"
    elif termination.immediate:
        why = f"terminated for cause on {termination.given_on}"
    else:
        why = f"terminated on {termination.given_on}"
    return _dated(MilestoneKind.END, ending, f"Last day of the contract ({why})", None)


def milestones(
    contract: Contract, custom: Sequence[CustomMilestone], through: date
) -> list[Milestone]:
    """The contract's milestones from its start through ``through``, sorted by day: each
    term's notice deadline and renewal, its end (the unrenewed end or the termination's last
    day; a renewing contract nobody terminated has none), and the custom ones. Nothing after
    the contract's last day is a milestone (a terminated contract renews no more and a
    review after it has nothing to review); a draft has none (nothing it says applies yet,
    ``ContractStatus.DRAFT``). The same custom milestone given twice is listed once."""
    if not contract.signed:
        return []
    ending = last_day(contract)
    found: list[Milestone] = []
    if contract.end is not None and contract.renewal is not None:
        found += _renewals(contract, contract.renewal, contract.end, through)
    if ending is not None:
        found.append(_end(contract, ending))
    found += (Milestone(c.kind, c.due_on, c.title, c.key) for c in custom)
    unique = {
        m.key: m
        for m in found
        if contract.start <= m.due_on <= through and (ending is None or m.due_on <= ending)
    }
    return sorted(unique.values(), key=lambda m: (m.due_on, _DAY_ORDER[m.kind], m.key))


def reminders_due(
    contract: Contract, custom: Sequence[CustomMilestone], today: date, days_ahead: int
) -> list[Milestone]:
    """The milestones whose reminder is due ``today``: ``due_on - days_ahead <= today <=
    due_on``. A reminder missed while nothing ran (a server down over the day it was due)
    still goes out late, up to and on the milestone's own day, but never after it: a
    reminder of a notice deadline that has passed would ask for a termination that can no
    longer stop the renewal. Calling this again on the same or a later day returns the same
    milestones with the same keys; the outbox announces each key once, so the reminder job
    may run as often as it likes."""
    if isinstance(days_ahead, bool) or not 0 <= days_ahead <= MAX_REMINDER_DAYS:
        raise InvalidInputError(
            f"reminders go out 0 to {MAX_REMINDER_DAYS} days ahead",
            code="invalid_reminder_days",
            field="days_ahead",
        )
    horizon = today + timedelta(days=days_ahead)
    return [m for m in milestones(contract, custom, horizon) if m.due_on >= today]


def _sentence(number: str, milestone: Milestone) -> str:
    day, until = milestone.due_on, milestone.term_end
    if milestone.kind is MilestoneKind.NOTICE_DEADLINE:
        return (
            f"Notice deadline for contract {number} on {day}: "
            f"terminate by then or it renews until {until}."
        )
    if milestone.kind is MilestoneKind.RENEWAL:
        return f"Contract {number} renews on {day}: the new term runs until {until}."
    if milestone.kind is MilestoneKind.END:
        return f"Contract {number} ends on {day}. {milestone.title}."
    return f"{_HEADINGS[milestone.kind]} for contract {number} on {day}: {milestone.title}."


def milestone_notice(
    contract_id: uuid.UUID,
    contract_number: str,
    milestone: Milestone,
    recipient: str | None = None,
) -> Notice:
    """The outbox notice (topic ``contract.milestone``) that reminds of ``milestone``: an
    e-mail to ``recipient`` (None: webhooks only) and the data a signed webhook carries. Its
    key, ``contract-milestone:<contract id>:<milestone key>``, makes it announced once
    (``services/notifications/outbox.py::announce``)."""
    heading = _HEADINGS[milestone.kind]
    until = milestone.term_end
    return Notice(
        topic=TOPIC,
        key=f"contract-milestone:{contract_id}:{milestone.key}",
        subject=f"{heading} for contract {contract_number} on {milestone.due_on}",
        text=_sentence(contract_number, milestone),
        data={
            "contract_id": str(contract_id),
            "contract_number": contract_number,
            "kind": milestone.kind.value,
            "due_on": milestone.due_on.isoformat(),
            "title": milestone.title,
            "milestone_key": milestone.key,
            "term_end": None if until is None else until.isoformat(),
        },
        recipient=recipient,
    )
