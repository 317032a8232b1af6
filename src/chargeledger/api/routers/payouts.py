"""``/api/v1/payouts``: the PSP's payouts as booked, each reconciled with what it settled and
the bank line that brought it in (issue 13). Payouts are booked from the PSP's reports
(webhook, ``reconcile_payouts``); finance and operators read them here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadPayouts
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.payouts import PayoutDetailOut, PayoutOut
from chargeledger.services.payments import payout_reconciliation as payouts
from chargeledger.services.transactions import reading

router = APIRouter(prefix="/api/v1/payouts", tags=["payouts"], responses=ERROR_RESPONSES)


@router.get("", summary="Booked PSP payouts, newest first, with their reconciliation status")
async def list_payouts(
    _: ReadPayouts, rt: RuntimeDep, limit: Limit = 50, offset: Offset = 0
) -> PageOut[PayoutOut]:
    gateways = list(rt.payments.gateways)
    page = await reading(rt.uow, payouts.list_payouts, gateways, limit, offset)
    return PageOut(items=[PayoutOut.of(v) for v in page.items], next_offset=page.next_offset)


@router.get("/{payout_id}", summary="One payout: its items, how each matched, its bank line")
async def show_payout(
    payout_id: Annotated[str, Path(max_length=64)], _: ReadPayouts, rt: RuntimeDep
) -> PayoutDetailOut:
    gateways = list(rt.payments.gateways)
    view = await reading(rt.uow, payouts.show_payout, gateways, payout_id)
    return PayoutDetailOut.of(view)
