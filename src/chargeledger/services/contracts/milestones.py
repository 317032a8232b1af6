"""Contract milestones and their reminders (issue 14): the renewal, notice deadline and end
days walked from each contract, the reviews and custom days finance adds, and one reminder
per milestone through the outbox, ``reminder_days`` ahead.

Exactly once across restarts: each reminder's outbox key names the contract and the
milestone (``domain.contract_milestones.milestone_notice``), so a job that runs again, on
this node or another, announces nothing twice. Renewal itself needs no job: a renewing
contract runs on by its term on the end day unless a timely termination was recorded
(``domain.contracts``); the renewal milestone tells finance it happened.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from chargeledger.domain.contract_milestones import (
    CustomMilestone,
    Milestone,
    milestone_notice,
    milestones,
    reminders_due,
)
from chargeledger.domain.identity import Principal
from chargeledger.errors import InvalidInputError
from chargeledger.services.common import operator_today
from chargeledger.services.contracts.records import get_contract, visible_contract
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.ports import Clock, UnitOfWork

HORIZON_DAYS = 3 * 366  # how far ahead a contract's milestones are listed by default


@dataclass(frozen=True, slots=True)
class ReminderRun:
    day: date
    announced: int  # reminders put in the outbox by this run
    already_sent: int  # reminders an earlier run announced


async def add_milestone(
    uow: UnitOfWork, clock: Clock, by: str, contract_id: uuid.UUID, milestone: CustomMilestone
) -> CustomMilestone:
    await get_contract(uow, contract_id)
    await uow.contracts.add_milestone(contract_id, milestone, clock.now(), by)
    return milestone


async def contract_milestones(
    uow: UnitOfWork,
    principal: Principal,
    contract_id: uuid.UUID,
    today: date,
    through: date | None = None,
) -> list[Milestone]:
    """Every milestone of a contract from its start through ``through`` (default: three
    years from today)."""
    view = await visible_contract(uow, principal, contract_id, today)
    custom = await uow.contracts.custom_milestones(contract_id)
    last = through or today + timedelta(days=HORIZON_DAYS)
    return milestones(view.record.contract, custom, last)


async def send_reminders(
    uow: UnitOfWork, clock: Clock, today: date, recipient: str | None
) -> ReminderRun:
    """Announce the reminders due ``today`` of every signed contract (each once)."""
    announced = already = 0
    horizon = today + timedelta(days=366)  # reminders reach at most 365 days ahead
    for record in await uow.contracts.signed_between(today, horizon):
        custom = await uow.contracts.custom_milestones(record.id)
        for milestone in reminders_due(record.contract, custom, today, record.reminder_days):
            notice = milestone_notice(record.id, record.number, milestone, recipient)
            if await announce(uow, clock, notice):
                announced += 1
            else:
                already += 1
    return ReminderRun(today, announced, already)


async def send_reminders_on(
    uow: UnitOfWork, clock: Clock, time_zone: str, day: date | None, recipient: str | None
) -> ReminderRun:
    """The reminder run of ``day`` (default: the operator's today, ``time_zone``), as the
    periodic job and ``chargeledger contracts remind`` start it. A day after today is refused
    (``reminder_date_in_future``): its reminders would go out before their window opens, and
    since each key is announced once, none would go out again when it does."""
    today = operator_today(clock, time_zone)
    if day is not None and day > today:
        raise InvalidInputError(
            f"a reminder run cannot be dated after today ({today})",
            code="reminder_date_in_future",
            field="date",
        )
    return await send_reminders(uow, clock, day or today, recipient)
