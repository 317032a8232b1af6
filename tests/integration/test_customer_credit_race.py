"""Two spenders of one customer's credit at once (issue 13): a bank import, finance's match
and an invoice run may each apply the credit in their own transaction. The first is held open
before its commit while the second starts (on PostgreSQL it is seen waiting for the first's
hold on the credit; SQLite's writers take turns anyway): the credit is spent once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import cast

from chargeledger.bootstrap import Runtime
from chargeledger.domain.bank_postings import Applied, bank_receipt
from chargeledger.domain.ledger import customer_credit
from chargeledger.domain.receivables import Settlement
from chargeledger.money import Money
from chargeledger.services.billing.customer_credit import apply_credit
from chargeledger.services.ports import UnitOfWork
from tests.integration.billing_world import OPERATOR_TZ, balance_of
from tests.integration.ocpp_support import bounded
from tests.integration.test_dunning import overdue_world
from tests.integration.test_user_admin import (
    CommitWhenReleased,
    backend_pid,
    wait_until_blocked_by,
)


async def test_a_customers_credit_is_spent_once_by_two_transactions_at_once(
    runtime: Runtime,
) -> None:
    world, _, fleet = await overdue_world(runtime)
    assert fleet.account_id is not None
    account_id = fleet.account_id
    over = Money(fleet.gross_total, fleet.currency)
    async with runtime.uow() as uow:  # money that came in for nothing open: the customer's
        applied = Applied(account_id, Money.zero("EUR"), over)
        entry = bank_receipt(uuid.uuid4(), date(2026, 2, 3), over, applied, "Fleet GmbH")
        await uow.ledger.add([entry], world.clock.now())
        await uow.commit()

    async def spend(uow: UnitOfWork) -> list[Settlement]:
        """As an entry point does: the use case in the unit of work it opened, committed."""
        used = await apply_credit(uow, world.clock, OPERATOR_TZ, account_id)
        await uow.commit()
        return used

    async with runtime.uow() as first_uow, runtime.uow() as second_uow:
        first = CommitWhenReleased(first_uow)
        spent_first = asyncio.ensure_future(spend(cast(UnitOfWork, first)))
        await bounded(first.reached.wait())
        spent_second = asyncio.ensure_future(spend(second_uow))
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), spent_second)
        first.release.set()
        used = await bounded(spent_first) + await bounded(spent_second)

    assert sum((s.amount.amount for s in used), Decimal(0)) == fleet.gross_total
    assert await balance_of(runtime, customer_credit(account_id)) == Decimal("0.00")
    async with runtime.uow() as uow:
        assert await uow.ledger.unbalanced() == []
