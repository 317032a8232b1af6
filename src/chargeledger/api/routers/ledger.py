"""``/api/v1/ledger`` and account statements: the books as finance and customers read them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Query

from chargeledger.api.deps import UowDep
from chargeledger.api.routers.access import ReadBilling, ReadLedger
from chargeledger.api.schemas.billing import (
    BalanceOut,
    LedgerCheckOut,
    StatementOut,
    TrialBalanceOut,
)
from chargeledger.api.schemas.common import ERROR_RESPONSES
from chargeledger.services.billing import books, ledger

router = APIRouter(prefix="/api/v1", tags=["ledger"], responses=ERROR_RESPONSES)


@router.get("/ledger/trial-balance", summary="Every account's balance; totals are zero")
async def trial_balance(
    _: ReadLedger, uow: UowDep, until: date | None = Query(None, description="exclusive")
) -> TrialBalanceOut:
    balances = await ledger.balances(uow, None, until)
    totals: dict[str, Decimal] = {}
    for b in balances:
        totals[b.currency] = totals.get(b.currency, Decimal(0)) + b.balance
    return TrialBalanceOut(accounts=[BalanceOut.of(b) for b in balances], totals=totals)


@router.get("/ledger/statement", summary="One ledger account's postings and running balance")
async def ledger_statement(
    _: ReadLedger,
    uow: UowDep,
    account: str = Query(examples=["Income:Charging:Energy"]),
    start: date | None = Query(None, alias="from"),
    end: date | None = Query(None, alias="to", description="exclusive"),
) -> list[StatementOut]:
    return [StatementOut.of(s) for s in await ledger.statement(uow, account, start, end)]


@router.get("/ledger/check", summary="The ledger's invariants")
async def ledger_check(_: ReadLedger, uow: UowDep) -> LedgerCheckOut:
    check = await books.checked_ledger(uow)
    return LedgerCheckOut(
        ok=not check.problems,
        problems=check.problems,
        entries=check.entries,
        postings=check.postings,
    )


@router.get(
    "/accounts/{account_id}/statement",
    summary="A customer's statement: invoiced, not yet invoiced, and their credit",
    tags=["accounts"],
)
async def account_statement(
    account_id: uuid.UUID,
    principal: ReadBilling,
    uow: UowDep,
    start: date | None = Query(None, alias="from"),
    end: date | None = Query(None, alias="to", description="exclusive"),
) -> list[StatementOut]:
    statements = await ledger.account_statement(uow, principal, account_id, start, end)
    return [StatementOut.of(s) for s in statements]
