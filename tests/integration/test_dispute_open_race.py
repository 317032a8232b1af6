"""Two openings of a case on one session at once (issue 15): the first is held open before its
commit while the second starts (on PostgreSQL it is seen waiting for the first's hold on the
case numbering; SQLite's writers take turns anyway): one case opens, the other is refused
``dispute_already_open``."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.disputes import DisputeReason, Subject
from chargeledger.domain.identity import Principal, Role
from chargeledger.errors import ConflictError
from chargeledger.services.disputes.case_ports import DisputeFilter
from chargeledger.services.disputes.cases import CaseFile, CaseRequest, open_dispute
from chargeledger.services.ports import UnitOfWork
from tests.integration.ocpp_support import bounded
from tests.integration.refund_world import captured_session
from tests.integration.test_user_admin import (
    CommitWhenReleased,
    backend_pid,
    wait_until_blocked_by,
)


async def test_one_session_gets_one_open_case_however_many_open_at_once(
    runtime: Runtime,
) -> None:
    captured = await captured_session(runtime)
    assert captured.payment.session_id is not None
    driver = Principal(
        subject="racing driver", role=Role.DRIVER, account_id=captured.payment.account_id
    )
    request = CaseRequest(
        subject=Subject(session_id=captured.payment.session_id),
        reason=DisputeReason.ENERGY,
        description="charged for more than the car got",
    )

    async def open_one(uow: UnitOfWork) -> CaseFile:
        """As an entry point does: the use case in the unit of work it opened, committed."""
        found = await open_dispute(uow, runtime.clock, "Europe/Berlin", driver, request)
        await uow.commit()
        return found

    async with runtime.uow() as first_uow, runtime.uow() as second_uow:
        first = CommitWhenReleased(first_uow)
        opened_first = asyncio.ensure_future(open_one(cast(UnitOfWork, first)))
        await bounded(first.reached.wait())
        opened_second = asyncio.ensure_future(open_one(second_uow))
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), opened_second)
        first.release.set()
        await bounded(opened_first)
        with pytest.raises(ConflictError) as refused:
            await bounded(opened_second)
    assert refused.value.code == "dispute_already_open"
    async with runtime.uow() as uow:
        cases = await uow.disputes.search(DisputeFilter(), 10, 0)
    assert [c.number for c in cases] == ["DSP-000001"]
