"""Contract milestones and reminders (issue 14): notice deadlines, renewals and ends walked
from the contract's terms, custom milestones, which reminders are due on a day, and the
outbox notice that carries one. Every date below is worked out by hand in a comment."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from chargeledger.domain.contract_milestones import (
    TOPIC,
    CustomMilestone,
    Milestone,
    MilestoneKind,
    milestone_notice,
    milestones,
    reminders_due,
)
from chargeledger.domain.contracts import (
    Contract,
    ContractType,
    Renewal,
    end_of_term_on,
    terminate,
)
from chargeledger.errors import InvalidInputError

D = date.fromisoformat
K = MilestoneKind
# 2026, renewing by 12 months unless terminated 90 days before the end of the running term.
FLEET = Contract(
    "FL-2026-001",
    ContractType.FLEET,
    D("2026-01-01"),
    D("2026-12-31"),
    Renewal(term_months=12, notice_days=90),
    signed=True,
)
CONTRACT_ID = uuid.UUID("00000000-0000-4000-8000-000000000014")


def days(found: list[Milestone]) -> list[tuple[MilestoneKind, str, str | None]]:
    return [
        (m.kind, m.due_on.isoformat(), None if m.term_end is None else m.term_end.isoformat())
        for m in found
    ]


def test_a_renewing_contract_has_a_deadline_and_a_renewal_every_term() -> None:
    # 2026-12-31 - 90 days: 31 back to 2026-11-30, 30 more to 2026-10-31, 29 more: 2026-10-02.
    # The renewal day is the day after the term: 2027-01-01, that term ends 2027-12-31; its
    # deadline is again 90 days before: 2027-10-02. 2028-10-02 is after `through`.
    found = milestones(FLEET, [], D("2028-01-01"))
    assert days(found) == [
        (K.NOTICE_DEADLINE, "2026-10-02", "2027-12-31"),
        (K.RENEWAL, "2027-01-01", "2027-12-31"),
        (K.NOTICE_DEADLINE, "2027-10-02", "2028-12-31"),
        (K.RENEWAL, "2028-01-01", "2028-12-31"),
    ]
    assert [m.key for m in found] == [
        "notice_deadline:2026-10-02",
        "renewal:2027-01-01",
        "notice_deadline:2027-10-02",
        "renewal:2028-01-01",
    ]
    assert found[0].title == (
        "Notice deadline: terminate by 2026-10-02 or the contract renews until 2027-12-31"
    )
    assert found[1].title == "Renewal: a new term from 2027-01-01 to 2027-12-31"


def test_through_is_inclusive_and_nothing_comes_before_it_is_due() -> None:
    assert days(milestones(FLEET, [], D("2026-10-01"))) == []
    assert days(milestones(FLEET, [], D("2026-10-02"))) == [
        (K.NOTICE_DEADLINE, "2026-10-02", "2027-12-31")
    ]


@pytest.mark.parametrize("given_on", ["2026-06-01", "2026-10-02"])
def test_a_termination_by_the_deadline_leaves_only_the_end(given_on: str) -> None:
    # By the deadline (2026-10-02, see above): the contract ends with its first term,
    # 2026-12-31; the deadline has nothing left to stop and nothing renews.
    ended = terminate(FLEET, D(given_on), "fleet moves to another operator")
    found = milestones(ended, [], D("2029-12-31"))
    assert days(found) == [(K.END, "2026-12-31", None)]
    assert found[0].key == "end:2026-12-31"
    assert found[0].title == f"Last day of the contract (terminated on {given_on})"


def test_a_termination_after_the_deadline_renews_once_then_ends() -> None:
    # 2026-10-03 is a day past the deadline: the contract renews on 2027-01-01 and ends with
    # that term on 2027-12-31; that term's deadline (2027-10-02) stops nothing any more.
    late = terminate(FLEET, D("2026-10-03"), "too late for this year")
    assert days(milestones(late, [], D("2029-12-31"))) == [
        (K.NOTICE_DEADLINE, "2026-10-02", "2027-12-31"),
        (K.RENEWAL, "2027-01-01", "2027-12-31"),
        (K.END, "2027-12-31", None),
    ]


def test_an_immediate_termination_ends_mid_term() -> None:
    ended = terminate(FLEET, D("2026-05-15"), "fraudulent card use", immediate=True)
    found = milestones(ended, [], D("2029-12-31"))
    assert days(found) == [(K.END, "2026-05-15", None)]
    assert found[0].title == "Last day of the contract (terminated for cause on 2026-05-15)"


def test_month_end_terms_follow_the_contract_terms() -> None:
    # A monthly contract whose first term is 2025-12-31..2026-01-30, 10 days' notice.
    # Renewal 2026-01-31; 31 January + 1 month = 28 February, so that term ends 2026-02-27.
    # Renewal 2026-02-28; + 1 month = 28 March, term ends 2026-03-27. Renewal 2026-03-28;
    # + 1 month = 28 April, term ends 2026-04-27. Deadlines are 10 days before each end:
    # 2026-01-30 - 10 = 2026-01-20; 2026-02-27 - 10 = 2026-02-17; 2026-03-27 - 10 = 2026-03-17.
    monthly = Contract(
        "FL-2026-002",
        ContractType.FLEET,
        D("2025-12-31"),
        D("2026-01-30"),
        Renewal(term_months=1, notice_days=10),
        signed=True,
    )
    found = milestones(monthly, [], D("2026-03-28"))
    assert days(found) == [
        (K.NOTICE_DEADLINE, "2026-01-20", "2026-02-27"),
        (K.RENEWAL, "2026-01-31", "2026-02-27"),
        (K.NOTICE_DEADLINE, "2026-02-17", "2026-03-27"),
        (K.RENEWAL, "2026-02-28", "2026-03-27"),
        (K.NOTICE_DEADLINE, "2026-03-17", "2026-04-27"),
        (K.RENEWAL, "2026-03-28", "2026-04-27"),
    ]
    # The same terms as the lifecycle's own walk (one decision, DESIGN §3).
    for renewal in (m for m in found if m.kind is K.RENEWAL):
        assert end_of_term_on(monthly, renewal.due_on) == renewal.term_end


def test_a_notice_longer_than_a_term_lists_deadlines_before_earlier_renewals() -> None:
    # Monthly terms from 2026-01-01, 45 days' notice. First term ends 2026-01-31: deadline
    # 31 back to 2025-12-31, 14 more: 2025-12-17, before the start (not listed). Renewal
    # 2026-02-01, term to 2026-02-28: deadline 28 back to 2026-01-31, 17 more: 2026-01-14
    # (it renews until 2026-03-31). Next term to 2026-03-31: deadline 31 back to 2026-02-28,
    # 14 more: 2026-02-14, before that term's own renewal (2026-03-01, after `through`).
    monthly = Contract(
        "FL-2026-003",
        ContractType.FLEET,
        D("2026-01-01"),
        D("2026-01-31"),
        Renewal(term_months=1, notice_days=45),
        signed=True,
    )
    assert days(milestones(monthly, [], D("2026-02-15"))) == [
        (K.NOTICE_DEADLINE, "2026-01-14", "2026-03-31"),
        (K.RENEWAL, "2026-02-01", "2026-02-28"),
        (K.NOTICE_DEADLINE, "2026-02-14", "2026-04-30"),
    ]


def test_the_walk_over_renewal_terms_is_bounded() -> None:
    # Monthly terms from 2026 to 2200 are 2088 terms, beyond the 1000 walked at most.
    monthly = Contract(
        "FL-2026-004", ContractType.FLEET, D("2026-01-01"), D("2026-01-31"), Renewal(1, 0), True
    )
    with pytest.raises(InvalidInputError) as refused:
        milestones(monthly, [], D("2200-01-01"))
    assert (refused.value.code, refused.value.field) == ("invalid_contract", "through")


def test_a_contract_without_renewal_ends_on_its_end() -> None:
    fixed = Contract("FX-1", ContractType.SITE_HOST, D("2026-01-01"), D("2026-06-30"), signed=True)
    found = milestones(fixed, [], D("2027-12-31"))
    assert days(found) == [(K.END, "2026-06-30", None)]
    assert found[0].title == "Last day of the contract (its agreed end, not renewed)"


def test_an_open_ended_contract_has_only_its_custom_milestones() -> None:
    open_ended = Contract("OE-1", ContractType.EMPLOYER, D("2026-01-01"), signed=True)
    custom = [
        CustomMilestone("Yearly price review", D("2026-07-01"), K.PRICE_REVIEW),
        CustomMilestone("Onboarding call", D("2025-12-01")),  # before the start
        CustomMilestone("Commitment review", D("2027-02-01"), K.COMMITMENT_REVIEW),  # later
    ]
    found = milestones(open_ended, custom, D("2026-12-31"))
    assert [(m.kind, m.due_on, m.title) for m in found] == [
        (K.PRICE_REVIEW, D("2026-07-01"), "Yearly price review")
    ]
    # Terminated on 2026-09-15: it ends that day; a review after it has nothing to review.
    ended = terminate(open_ended, D("2026-09-15"), "employer closed the site")
    later = [*custom, CustomMilestone("Cards returned?", D("2026-09-30"))]
    assert days(milestones(ended, later, D("2027-12-31"))) == [
        (K.PRICE_REVIEW, "2026-07-01", None),
        (K.END, "2026-09-15", None),
    ]


def test_custom_milestones_sort_among_the_others_and_count_once() -> None:
    review = CustomMilestone("Commitment review Q3", D("2026-10-02"), K.COMMITMENT_REVIEW)
    again = CustomMilestone("  Commitment   review Q3 ", D("2026-10-02"), K.COMMITMENT_REVIEW)
    early = CustomMilestone("Check volumes", D("2026-03-01"))
    found = milestones(FLEET, [review, early, again], D("2027-01-01"))
    assert [(m.kind, m.due_on.isoformat()) for m in found] == [
        (K.CUSTOM, "2026-03-01"),
        (K.NOTICE_DEADLINE, "2026-10-02"),  # on one day: the deadline before the review
        (K.COMMITMENT_REVIEW, "2026-10-02"),
        (K.RENEWAL, "2027-01-01"),
    ]
    assert review.key == again.key  # the title's spacing does not make a second one
    assert re.fullmatch(r"commitment_review:2026-10-02:[0-9a-f]{12}", review.key)
    other = CustomMilestone("Commitment review Q4", D("2026-10-02"), K.COMMITMENT_REVIEW)
    assert other.key != review.key


def test_a_draft_has_no_milestones() -> None:
    draft = Contract(
        "FL-DRAFT", ContractType.FLEET, D("2026-01-01"), D("2026-12-31"), Renewal(12, 90)
    )
    custom = [CustomMilestone("Price review", D("2026-07-01"), K.PRICE_REVIEW)]
    assert milestones(draft, custom, D("2030-01-01")) == []
    assert reminders_due(draft, custom, D("2026-06-30"), 14) == []


@pytest.mark.parametrize(
    ("title", "kind", "field"),
    [
        ("", K.CUSTOM, "title"),
        ("   ", K.CUSTOM, "title"),
        ("x" * 201, K.CUSTOM, "title"),
        ("Renew it", K.RENEWAL, "kind"),
        ("End it", K.END, "kind"),
        ("Deadline", "notice_deadline", "kind"),
        ("Unknown", "birthday", "kind"),
    ],
)
def test_a_custom_milestone_is_refused_with_a_stable_code(
    title: str, kind: MilestoneKind, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        CustomMilestone(title, D("2026-07-01"), kind)
    assert (refused.value.code, refused.value.field) == ("invalid_milestone", field)


def test_a_custom_milestone_title_is_bounded_and_holds_no_card() -> None:
    assert CustomMilestone("x" * 200, D("2026-07-01")).title == "x" * 200
    with pytest.raises(InvalidInputError) as refused:
        CustomMilestone("call about card 4111 1111 1111 1111", D("2026-07-01"))
    assert refused.value.code == "card_data_refused"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # The deadline 2026-10-02 less 14 days is 2026-09-18: the first day it is reminded.
        ("2026-09-17", []),
        ("2026-09-18", ["notice_deadline:2026-10-02"]),
        ("2026-10-02", ["notice_deadline:2026-10-02"]),  # late, on its own day: still sent
        ("2026-10-03", []),  # passed: never sent after the milestone
        # The renewal 2027-01-01 less 14 days: 2026-12-18.
        ("2026-12-17", []),
        ("2026-12-18", ["renewal:2027-01-01"]),
        # 2027-09-20 + 14 = 2027-10-04 reaches the next deadline (2027-10-02).
        ("2027-09-20", ["notice_deadline:2027-10-02"]),
    ],
)
def test_reminders_are_due_from_days_ahead_to_the_day(today: str, expected: list[str]) -> None:
    assert [m.key for m in reminders_due(FLEET, [], D(today), 14)] == expected


def test_reminders_of_several_milestones_and_a_repeated_call() -> None:
    review = CustomMilestone("Price review", D("2026-12-20"), K.PRICE_REVIEW)
    # On 2026-12-19 with 14 days ahead the window is 2026-12-19..2027-01-02: the review
    # (2026-12-20) and the renewal (2027-01-01).
    first = reminders_due(FLEET, [review], D("2026-12-19"), 14)
    assert [m.kind for m in first] == [K.PRICE_REVIEW, K.RENEWAL]
    # Run again (a restart, another node): the same keys, which the outbox announces once.
    assert reminders_due(FLEET, [review], D("2026-12-19"), 14) == first
    # 0 days ahead: only what is due on the day itself.
    assert [m.key for m in reminders_due(FLEET, [], D("2027-01-01"), 0)] == ["renewal:2027-01-01"]
    assert reminders_due(FLEET, [], D("2026-12-31"), 0) == []


@pytest.mark.parametrize("days_ahead", [-1, 366])
def test_reminder_days_are_bounded(days_ahead: int) -> None:
    with pytest.raises(InvalidInputError) as refused:
        reminders_due(FLEET, [], D("2026-09-18"), days_ahead)
    assert (refused.value.code, refused.value.field) == ("invalid_reminder_days", "days_ahead")


def test_reminders_a_year_ahead_are_accepted() -> None:
    # 2026-01-01 + 365 days = 2027-01-01: both the 2026 deadline and the renewal.
    due = reminders_due(FLEET, [], D("2026-01-01"), 365)
    assert [m.key for m in due] == ["notice_deadline:2026-10-02", "renewal:2027-01-01"]


def test_a_notice_deadline_notice_says_what_to_do() -> None:
    # The second term's deadline, 2027-10-02; the term it renews into ends 2028-12-31.
    deadline = reminders_due(FLEET, [], D("2027-09-20"), 14)[0]
    notice = milestone_notice(CONTRACT_ID, FLEET.number, deadline, "finance@example.com")
    assert notice.topic == TOPIC == "contract.milestone"
    assert notice.key == f"contract-milestone:{CONTRACT_ID}:notice_deadline:2027-10-02"
    assert notice.subject == "Notice deadline for contract FL-2026-001 on 2027-10-02"
    assert notice.text == (
        "Notice deadline for contract FL-2026-001 on 2027-10-02: "
        "terminate by then or it renews until 2028-12-31."
    )
    assert notice.recipient == "finance@example.com"
    assert dict(notice.data) == {
        "contract_id": str(CONTRACT_ID),
        "contract_number": "FL-2026-001",
        "kind": "notice_deadline",
        "due_on": "2027-10-02",
        "title": deadline.title,
        "milestone_key": "notice_deadline:2027-10-02",
        "term_end": "2028-12-31",
    }


def test_renewal_end_and_custom_notices() -> None:
    late = terminate(FLEET, D("2026-10-03"), "too late for this year")
    review = CustomMilestone("Yearly price review", D("2027-03-01"), K.PRICE_REVIEW)
    found = milestones(late, [review], D("2027-12-31"))
    texts = [milestone_notice(CONTRACT_ID, "FL-2026-001", m).text for m in found]
    assert texts == [
        "Notice deadline for contract FL-2026-001 on 2026-10-02: "
        "terminate by then or it renews until 2027-12-31.",
        "Contract FL-2026-001 renews on 2027-01-01: the new term runs until 2027-12-31.",
        "Price review for contract FL-2026-001 on 2027-03-01: Yearly price review.",
        "Contract FL-2026-001 ends on 2027-12-31. "
        "Last day of the contract (terminated on 2026-10-03).",
    ]
    notices = [milestone_notice(CONTRACT_ID, "FL-2026-001", m) for m in found]
    assert [n.subject for n in notices] == [
        "Notice deadline for contract FL-2026-001 on 2026-10-02",
        "Renewal for contract FL-2026-001 on 2027-01-01",
        "Price review for contract FL-2026-001 on 2027-03-01",
        "Last day for contract FL-2026-001 on 2027-12-31",
    ]
    assert all(n.recipient is None for n in notices)  # no e-mail: webhooks only
    assert len({n.key for n in notices}) == 4
    # The longest key (a commitment review: its kind, day and title hash) fits the outbox's
    # 150 characters: 19 + 36 + 1 + 17 + 1 + 10 + 1 + 12 = 97.
    longest = CustomMilestone("x" * 200, D("2027-03-01"), K.COMMITMENT_REVIEW)
    (entry,) = milestones(FLEET, [longest], D("2027-03-01"))[-1:]
    assert len(milestone_notice(CONTRACT_ID, "FL-2026-001", entry).key) == 97
