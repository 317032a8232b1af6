"""Contract milestone reminders exactly once (issue 14 "Milestones and reminders") on SQLite
and PostgreSQL: the reminder job run again on the same runtime, then by a new runtime on the
same database (a restart, or another node), and two runs at once, put one announcement per
milestone in the outbox; the later runs report the reminders as already sent.

The world: fleet contract FL-2026-001, 1 January to 31 December 2026, renewing by 12 months
unless terminated 90 days before the end, reminders 30 days ahead, plus a price review added
by hand on 1 October. On 20 September (Europe/Berlin) the window is 20 September to
20 October (20 Sep + 30 days):
- notice deadline 2026-10-02 (31 Dec - 90 days = 2 Oct): due;
- price review 2026-10-01: due;
- renewal 2027-01-01: outside the window.
So every run on that day finds 2 reminders due.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

import pytest

from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.contract_milestones import TOPIC, CustomMilestone, MilestoneKind
from chargeledger.domain.contract_records import ContractRecord
from chargeledger.domain.contracts import Contract, ContractType, Renewal
from chargeledger.domain.outbox import Channel, Notice, OutboxMessage
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency
from chargeledger.services.contracts import milestones, records
from chargeledger.services.contracts.milestones import ReminderRun
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.transactions import in_transaction
from tests.conftest import fast_hasher, make_account
from tests.integration.billing_world import FixedClock, utc

ZONE = "Europe/Berlin"
OPERATOR_EMAIL = "contracts@operator.example"
REMINDER_DAY = utc("2026-09-20T07:00")  # 09:00 in Berlin
EXPECTED_KEYS = {"notice_deadline:2026-10-02", "price_review:2026-10-01"}  # see the docstring


async def signed_contract(runtime: Runtime, number: str = "FL-2026-001") -> uuid.UUID:
    """The contract of the module docstring, signed on 5 January, with its price review."""
    fleet = await make_account(runtime, f"Fleet {number}", AccountKind.BUSINESS)
    runtime.clock = FixedClock(utc("2026-01-05T09:00"))
    record = ContractRecord(
        contract=Contract(
            number, ContractType.FLEET, date(2026, 1, 1), date(2026, 12, 31), Renewal(12, 90)
        ),
        currency=Currency.of("EUR"),
        account_id=fleet.id,
        reminder_days=30,
    )
    draft = records.ContractDraft(record, {"monthly_commitment": "500.00"})
    today = date(2026, 1, 5)
    view = await in_transaction(
        runtime.uow, records.create_contract, runtime.clock, "t", draft, today
    )
    contract_id = view.record.id
    await in_transaction(
        runtime.uow, records.sign_contract, runtime.clock, contract_id, today, today
    )
    review = CustomMilestone("Review energy prices", date(2026, 10, 1), MilestoneKind.PRICE_REVIEW)
    await in_transaction(
        runtime.uow, milestones.add_milestone, runtime.clock, "t", contract_id, review
    )
    return contract_id


async def reminders_in_outbox(runtime: Runtime) -> list[OutboxMessage]:
    """The announcements of milestones (the outbox list shows deliveries only; nothing has
    fanned these out yet, so all are pending)."""
    async with runtime.uow() as uow:
        events = await uow.outbox.due([Channel.EVENT], utc("2100-01-01T00:00"), 1000)
    return [m for m in events if m.notice.topic == TOPIC]


def milestone_keys(messages: list[OutboxMessage]) -> list[str]:
    """Kind and day of each (a custom milestone's key also hashes its title)."""
    return sorted(f"{m.notice.data['kind']}:{m.notice.data['due_on']}" for m in messages)


def configured(runtime: Runtime) -> None:
    """The operator's time zone and e-mail, as ``serve`` reads them from the environment."""
    env = {
        "CHARGELEDGER_DATA_DIR": str(runtime.settings.data_dir),
        "CHARGELEDGER_DATABASE_URL": runtime.settings.database_url,
        "CHARGELEDGER_OPERATOR_TIME_ZONE": ZONE,
        "CHARGELEDGER_OPERATOR_EMAIL": OPERATOR_EMAIL,
    }
    runtime.settings = Settings.from_env(env)


async def test_reminders_go_out_once_across_runs_and_restarts(
    runtime: Runtime, database: tuple[str, str | None], tmp_path: Path
) -> None:
    configured(runtime)
    contract_id = await signed_contract(runtime)
    runtime.clock = FixedClock(REMINDER_DAY)

    first = await runtime.send_contract_reminders()
    assert first == ReminderRun(date(2026, 9, 20), announced=2, already_sent=0)
    again = await runtime.send_contract_reminders()
    assert again == ReminderRun(date(2026, 9, 20), announced=0, already_sent=2)

    # A new process on the same database: the keys in the outbox are what it remembers.
    url, schema = database
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(tmp_path / "restarted"),
            "CHARGELEDGER_DATABASE_URL": url,
            "CHARGELEDGER_OPERATOR_TIME_ZONE": ZONE,
            "CHARGELEDGER_OPERATOR_EMAIL": OPERATOR_EMAIL,
        }
    )
    restarted = build_runtime(
        settings, schema=schema, hasher=fast_hasher(), clock=FixedClock(REMINDER_DAY)
    )
    try:
        third = await restarted.send_contract_reminders()
        assert third == ReminderRun(date(2026, 9, 20), announced=0, already_sent=2)
    finally:
        await restarted.aclose()

    kept = await reminders_in_outbox(runtime)
    assert milestone_keys(kept) == sorted(EXPECTED_KEYS)  # one announcement per milestone
    assert {m.notice.recipient for m in kept} == {OPERATOR_EMAIL}
    assert {m.notice.data["contract_id"] for m in kept} == {str(contract_id)}
    deadline = next(m for m in kept if m.notice.data["kind"] == "notice_deadline")
    # The renewed term: 1 Jan 2027 + 12 months - 1 day = 31 Dec 2027.
    assert deadline.notice.data["term_end"] == "2027-12-31"
    assert deadline.notice.key == f"contract-milestone:{contract_id}:notice_deadline:2026-10-02"


async def test_without_an_operator_email_reminders_go_to_webhooks_only(runtime: Runtime) -> None:
    await signed_contract(runtime)
    runtime.clock = FixedClock(REMINDER_DAY)  # 07:00 UTC: the same day in UTC
    run = await runtime.send_contract_reminders()
    assert run.announced == 2
    assert {m.notice.recipient for m in await reminders_in_outbox(runtime)} == {None}


async def test_two_runs_at_once_announce_each_reminder_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two units of work race over the same keys: each pauses before every announcement, so
    both have read the contracts before either commits. On PostgreSQL the second insert of a
    key waits for the first commit and then skips it (ON CONFLICT DO NOTHING); on SQLite the
    second transaction waits for the write lock. No ``duplicate`` error either way."""
    configured(runtime)
    await signed_contract(runtime, "FL-2026-001")
    await signed_contract(runtime, "FL-2026-002")
    runtime.clock = FixedClock(REMINDER_DAY)

    async def after_a_pause(uow: UnitOfWork, clock: Clock, notice: Notice) -> bool:
        await asyncio.sleep(0.05)  # lets the other run reach the same key
        return await announce(uow, clock, notice)

    monkeypatch.setattr(milestones, "announce", after_a_pause)
    runs = await asyncio.gather(
        runtime.send_contract_reminders(), runtime.send_contract_reminders()
    )
    # 2 contracts x 2 reminders = 4 announcements in all, whichever run made them.
    assert sum(r.announced for r in runs) == 4
    assert sum(r.already_sent for r in runs) == 4
    assert len(milestone_keys(await reminders_in_outbox(runtime))) == 4


async def test_a_run_dated_after_today_is_refused(runtime: Runtime) -> None:
    await signed_contract(runtime)
    runtime.clock = FixedClock(REMINDER_DAY)
    tomorrow = date(2026, 9, 21)
    with pytest.raises(InvalidInputError) as refused:
        await in_transaction(
            runtime.uow, milestones.send_reminders_on, runtime.clock, "UTC", tomorrow, None
        )
    assert refused.value.code == "reminder_date_in_future"
    assert await reminders_in_outbox(runtime) == []
