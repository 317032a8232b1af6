"""Contracts with fleets, employers, site hosts, car makers, roaming partners and utilities
(issue 14): what a contract is, when it runs, how it renews, how it ends, and which of its
versions governs a day.

A contract runs from its start day to its end day (``end`` is the last day it covers; none:
until terminated). With auto-renewal, an end that passes without a timely termination moves
on by the renewal term, again and again (the usual "renews for 12 months unless terminated
3 months before the end" clause); the notice deadline of a term is its end less the notice
period. A termination given on or before a term's deadline ends the contract at that term's
end; a later one at the end of the next term, the one the late notice could no longer stop
(BGB §309 Nr. 9 caps such terms for consumers; these are business contracts). A contract may
also be terminated at once for cause (``immediate``), with its reason.

Amendments never change a past version: each one is a new version valid from a day, not
before the day it is made nor before the latest version, and a session is billed under the
version valid on the day it started (``version_on``). Pure: days are handed in, nothing is
read from a clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from chargeledger.errors import ConflictError, InvalidInputError

# How long before its end an active contract shows as expiring (its notice deadline is near
# or past, finance decides on renewal or a new price).
EXPIRING_DAYS = 90
MAX_RENEWALS = 1000  # a safety bound on walking renewal terms (83 years of monthly terms)


class ContractType(StrEnum):
    FLEET = "fleet"  # a company pays for its drivers' cards
    EMPLOYER = "employer"  # an employer pays for its staff's charging at work
    SITE_HOST = "site_host"  # a site hosting the chargers gets a revenue share
    OEM_BUNDLE = "oem_bundle"  # a car maker pre-pays charging for its buyers
    ROAMING = "roaming"  # a roaming partner (OCPI)
    UTILITY = "utility"  # a utility buys energy flexibility


class ContractStatus(StrEnum):
    DRAFT = "draft"  # being negotiated: nothing it says applies yet
    SIGNED = "signed"  # signed, starts later
    ACTIVE = "active"
    EXPIRING = "expiring"  # active, its end (or notice deadline) is near
    ENDED = "ended"  # ran to its end
    TERMINATED = "terminated"  # ended by a termination, with its reason


@dataclass(frozen=True, slots=True)
class Renewal:
    """Auto-renewal: the contract goes on by ``term_months`` unless terminated at least
    ``notice_days`` before the end of the term that runs."""

    term_months: int
    notice_days: int

    def __post_init__(self) -> None:
        if not 1 <= self.term_months <= 120:
            raise InvalidInputError(
                "a renewal term is 1 to 120 months", code="invalid_renewal", field="term_months"
            )
        if not 0 <= self.notice_days <= 730:
            raise InvalidInputError(
                "a notice period is 0 to 730 days", code="invalid_renewal", field="notice_days"
            )


@dataclass(frozen=True, slots=True)
class Termination:
    """Who ended the contract, when they said so, why, and the last day it covers."""

    given_on: date
    last_day: date
    reason: str
    immediate: bool = False  # for cause, from ``given_on`` on


@dataclass(frozen=True, slots=True)
class Contract:
    """The contract record's dates and lifecycle (its parties and money terms live with it
    in storage; they do not decide when it runs)."""

    number: str
    kind: ContractType
    start: date
    end: date | None = None  # the last day of the first term; None: open-ended
    renewal: Renewal | None = None
    signed: bool = False
    termination: Termination | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ContractType(self.kind))
        if not self.number.strip():
            raise InvalidInputError("a contract has a number", code="invalid_contract")
        if self.end is not None and self.end < self.start:
            raise InvalidInputError(
                "a contract ends on or after its start", code="invalid_contract", field="end"
            )
        if self.renewal is not None and self.end is None:
            raise InvalidInputError(
                "an open-ended contract has nothing to renew",
                code="invalid_contract",
                field="renewal",
            )


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept within the month (31 January + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def end_of_term_on(contract: Contract, day: date) -> date | None:
    """The last day of the term that runs on ``day`` (renewals included), ignoring any
    termination; None for an open-ended contract. A day past every end (no renewal) has
    the contract's end."""
    if contract.end is None:
        return None
    if contract.renewal is None or day <= contract.end:
        return contract.end
    current = contract.end
    for _ in range(MAX_RENEWALS):
        if day <= current:
            return current
        next_start = current + timedelta(days=1)
        current = add_months(next_start, contract.renewal.term_months) - timedelta(days=1)
    raise InvalidInputError("the day is beyond any renewal term", code="invalid_contract")


def notice_deadline(term_end: date, renewal: Renewal) -> date:
    """The last day a termination stops the renewal after ``term_end``."""
    return term_end - timedelta(days=renewal.notice_days)


def last_day(contract: Contract) -> date | None:
    """The last day the contract covers: its termination's, else its (unrenewed) end; None
    while it runs without end (open-ended, or renewing)."""
    if contract.termination is not None:
        return contract.termination.last_day
    if contract.renewal is None:
        return contract.end
    return None


def covers(contract: Contract, day: date) -> bool:
    """Whether the contract (signed) governs ``day``: from its start to its last day."""
    if not contract.signed or day < contract.start:
        return False
    ending = last_day(contract)
    return ending is None or day <= ending


def status_on(contract: Contract, day: date, expiring_days: int = EXPIRING_DAYS) -> ContractStatus:
    """The contract's status on ``day`` (derived, never stored)."""
    if not contract.signed:
        return ContractStatus.DRAFT
    if day < contract.start:
        return ContractStatus.SIGNED
    ending = last_day(contract)
    if ending is not None and day > ending:
        terminated = contract.termination is not None
        return ContractStatus.TERMINATED if terminated else ContractStatus.ENDED
    horizon = day + timedelta(days=expiring_days)
    if ending is not None and ending <= horizon:
        return ContractStatus.EXPIRING
    # A renewing contract is up for decision from ``expiring_days`` before its notice
    # deadline to the deadline; once that has passed, the next term is settled.
    term_end = end_of_term_on(contract, day)
    renewal = contract.renewal
    if renewal is not None and term_end is not None:
        deadline = notice_deadline(term_end, renewal)
        if day <= deadline <= horizon:
            return ContractStatus.EXPIRING
    return ContractStatus.ACTIVE


def terminate(
    contract: Contract, given_on: date, reason: str, *, immediate: bool = False
) -> Contract:
    """The contract with a termination given on ``given_on``: at once when ``immediate``
    (for cause); else at the end of the running term when given by its notice deadline, at
    the end of the next term when later (module docstring); one without renewal at its end;
    an open-ended one on the day given. Refused once terminated or past its end."""
    text = " ".join(reason.split())
    if not text:
        raise InvalidInputError(
            "say why the contract ends", code="termination_reason_required", field="reason"
        )
    if contract.termination is not None:
        raise ConflictError("the contract is terminated already", code="contract_terminated")
    ending = last_day(contract)
    if ending is not None and given_on > ending:
        raise ConflictError("the contract has ended already", code="contract_ended")
    if immediate:
        effective = max(given_on, contract.start)
    elif contract.end is None:
        effective = given_on
    elif contract.renewal is None:
        effective = contract.end
    else:
        term_end = end_of_term_on(contract, max(given_on, contract.start))
        assert term_end is not None
        effective = term_end
        if given_on > notice_deadline(term_end, contract.renewal):
            effective = end_of_term_on(contract, term_end + timedelta(days=1)) or term_end
    termination = Termination(given_on, max(effective, contract.start), text, immediate)
    return replace(contract, termination=termination)


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """One version of a contract's terms, valid from ``valid_from`` until the next one."""

    number: int
    valid_from: date
    summary: str


def version_on(versions: Sequence[ContractVersion], day: date) -> ContractVersion | None:
    """The version that governs ``day``: the latest valid on or before it."""
    valid = [v for v in versions if v.valid_from <= day]
    return max(valid, key=lambda v: (v.valid_from, v.number)) if valid else None


def amendment(
    contract: Contract,
    versions: Sequence[ContractVersion],
    valid_from: date,
    today: date,
    summary: str,
) -> ContractVersion:
    """The next version of the terms, valid from ``valid_from``: never before ``today`` nor
    before the latest version (a past version is never changed; what was billed under it
    stays billed under it), and within the contract's life."""
    if valid_from < today:
        raise InvalidInputError(
            "an amendment takes effect today or later; a past version never changes",
            code="amendment_in_past",
            field="valid_from",
        )
    latest = max((v.valid_from for v in versions), default=contract.start)
    if valid_from <= latest and versions:
        raise InvalidInputError(
            f"an amendment takes effect after the latest version ({latest})",
            code="amendment_before_latest",
            field="valid_from",
        )
    ending = last_day(contract)
    if valid_from < contract.start or (ending is not None and valid_from > ending):
        raise InvalidInputError(
            "an amendment takes effect while the contract runs",
            code="amendment_outside_contract",
            field="valid_from",
        )
    text = " ".join(summary.split())
    if not text:
        raise InvalidInputError("say what the amendment changes", code="invalid_amendment")
    number = max((v.number for v in versions), default=0) + 1
    return ContractVersion(number, valid_from, text)
