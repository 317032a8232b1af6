"""Contract lifecycle (issue 14, first slice): terms and renewals, notice deadlines,
termination before and after the deadline, status by day, and versions by day."""

from __future__ import annotations

from datetime import date

import pytest

from chargeledger.domain.contracts import (
    Contract,
    ContractStatus,
    ContractType,
    ContractVersion,
    Renewal,
    add_months,
    amendment,
    covers,
    end_of_term_on,
    last_day,
    notice_deadline,
    status_on,
    terminate,
    version_on,
)
from chargeledger.errors import ConflictError, InvalidInputError

D = date.fromisoformat
# A fleet contract for 2026 that renews by 12 months unless terminated 90 days before its end.
FLEET = Contract(
    "C-2026-001",
    ContractType.FLEET,
    D("2026-01-01"),
    D("2026-12-31"),
    Renewal(term_months=12, notice_days=90),
    signed=True,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2026-11-15", 3, "2027-02-15"),
        ("2026-01-01", 12, "2027-01-01"),
        ("2026-03-31", -1, "2026-02-28"),
    ],
)
def test_months_are_added_within_the_month(day: str, months: int, expected: str) -> None:
    assert add_months(D(day), months) == D(expected)


def test_terms_renew_one_after_another() -> None:
    assert end_of_term_on(FLEET, D("2026-06-01")) == D("2026-12-31")
    assert end_of_term_on(FLEET, D("2026-12-31")) == D("2026-12-31")
    assert end_of_term_on(FLEET, D("2027-01-01")) == D("2027-12-31")
    assert end_of_term_on(FLEET, D("2029-07-14")) == D("2029-12-31")
    assert notice_deadline(D("2026-12-31"), Renewal(12, 90)) == D("2026-10-02")
    assert last_day(FLEET) is None  # it renews until someone ends it
    assert covers(FLEET, D("2031-05-05"))


def test_a_termination_by_the_deadline_ends_the_running_term() -> None:
    ended = terminate(FLEET, D("2026-10-02"), "fleet moves to another operator")
    assert ended.termination is not None
    assert ended.termination.last_day == D("2026-12-31")
    assert status_on(ended, D("2026-12-31")) is ContractStatus.EXPIRING
    assert status_on(ended, D("2027-01-01")) is ContractStatus.TERMINATED
    assert not covers(ended, D("2027-01-01"))


def test_a_termination_after_the_deadline_ends_the_next_term() -> None:
    late = terminate(FLEET, D("2026-10-03"), "too late for this year")
    assert late.termination is not None
    assert late.termination.last_day == D("2027-12-31")
    in_second_term = terminate(FLEET, D("2027-03-01"), "given early in the second term")
    assert in_second_term.termination is not None
    assert in_second_term.termination.last_day == D("2027-12-31")


def test_terminations_without_renewal_at_once_and_refused() -> None:
    fixed = Contract("C-2", ContractType.SITE_HOST, D("2026-01-01"), D("2026-06-30"), signed=True)
    assert last_day(fixed) == D("2026-06-30")
    assert status_on(fixed, D("2026-07-01")) is ContractStatus.ENDED
    ended = terminate(fixed, D("2026-02-01"), "host sells the site")
    assert ended.termination is not None
    assert ended.termination.last_day == D("2026-06-30")
    with pytest.raises(ConflictError) as twice:
        terminate(ended, D("2026-02-02"), "again")
    assert twice.value.code == "contract_terminated"
    with pytest.raises(ConflictError) as over:
        terminate(fixed, D("2026-07-01"), "after the end")
    assert over.value.code == "contract_ended"
    at_once = terminate(FLEET, D("2026-05-10"), "unpaid invoices", immediate=True)
    assert at_once.termination is not None
    assert at_once.termination.last_day == D("2026-05-10")
    open_ended = Contract("C-3", ContractType.ROAMING, D("2026-01-01"), signed=True)
    assert last_day(terminate(open_ended, D("2026-03-01"), "partner leaves")) == D("2026-03-01")
    with pytest.raises(InvalidInputError) as silent:
        terminate(FLEET, D("2026-05-10"), "  ")
    assert silent.value.code == "termination_reason_required"


@pytest.mark.parametrize(
    ("day", "status"),
    [
        ("2025-12-01", ContractStatus.SIGNED),
        ("2026-01-01", ContractStatus.ACTIVE),
        ("2026-07-03", ContractStatus.ACTIVE),  # 91 days before the notice deadline
        ("2026-07-04", ContractStatus.EXPIRING),  # 90 days before it: up for decision
        ("2026-10-02", ContractStatus.EXPIRING),
        ("2026-10-03", ContractStatus.ACTIVE),  # the deadline passed: 2027 is settled
        ("2027-07-04", ContractStatus.EXPIRING),
    ],
)
def test_status_by_day(day: str, status: ContractStatus) -> None:
    assert status_on(FLEET, D(day)) is status


def test_an_unsigned_contract_is_a_draft_and_dates_are_checked() -> None:
    draft = Contract("C-4", ContractType.OEM_BUNDLE, D("2026-01-01"), D("2027-12-31"))
    assert status_on(draft, D("2026-06-01")) is ContractStatus.DRAFT
    assert not covers(draft, D("2026-06-01"))
    with pytest.raises(InvalidInputError):
        Contract("C-5", ContractType.FLEET, D("2026-02-01"), D("2026-01-31"))
    with pytest.raises(InvalidInputError):
        Contract("C-6", ContractType.FLEET, D("2026-02-01"), None, Renewal(12, 30))
    with pytest.raises(InvalidInputError):
        Renewal(0, 30)


def test_versions_govern_from_their_day_and_amendments_never_change_the_past() -> None:
    first = ContractVersion(1, D("2026-01-01"), "0.39 EUR/kWh, 1,000 kWh a month")
    second = amendment(FLEET, [first], D("2026-05-01"), D("2026-04-20"), "0.36 EUR/kWh")
    assert second.number == 2
    versions = [first, second]
    assert version_on(versions, D("2025-12-31")) is None
    assert version_on(versions, D("2026-04-30")) == first
    assert version_on(versions, D("2026-05-01")) == second
    with pytest.raises(InvalidInputError) as past:
        amendment(FLEET, versions, D("2026-04-19"), D("2026-04-20"), "backdated")
    assert past.value.code == "amendment_in_past"
    with pytest.raises(InvalidInputError) as earlier:
        amendment(FLEET, versions, D("2026-04-25"), D("2026-04-20"), "before the latest")
    assert earlier.value.code == "amendment_before_latest"
    ended = terminate(FLEET, D("2026-06-01"), "ends this year")
    with pytest.raises(InvalidInputError) as after:
        amendment(ended, versions, D("2027-02-01"), D("2026-06-02"), "after the end")
    assert after.value.code == "amendment_outside_contract"
