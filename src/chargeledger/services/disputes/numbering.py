"""Case numbers ``DSP-000001``: one sequence for every case, customer's and PSP's alike.

Not an invoice series (those are checked gap-free by ``ledger check``); a case takes the
numbering's hold, counts the cases and adds one, so two cases opened at once on PostgreSQL
never share a number (SQLite's writers take turns anyway)."""

from __future__ import annotations

from chargeledger.services.ports import UnitOfWork

NUMBERING_HOLD = "disputes:numbering"


async def next_case_number(uow: UnitOfWork) -> str:
    await uow.ledger.hold_account(NUMBERING_HOLD)
    return f"DSP-{await uow.disputes.last_number() + 1:06d}"
