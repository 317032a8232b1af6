"""``/api/v1/payments``, stored cards, wallets, refunds and invoice payments (issue 6).

Every POST here moves money and honours ``Idempotency-Key``. These routes open their own
short transactions (through the services) instead of one per request: a PSP call must never
run inside an open database transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.idempotency import idempotent
from chargeledger.api.routers.access import ManagePayments, ReadBilling, WriteBilling
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.payments import (
    CardIn,
    CardOut,
    PayInvoiceIn,
    PaymentOut,
    RefundIn,
    TopUpIn,
    WalletFloorIn,
    WalletLineOut,
    WalletOut,
    WalletSettingsIn,
    wallet_out,
)
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account
from chargeledger.domain.identity import Principal
from chargeledger.domain.ids import new_id
from chargeledger.domain.payments import (
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    StoredCard,
)
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.services.billing.invoicing import visible_invoice
from chargeledger.services.payments import views as payment_views
from chargeledger.services.payments.methods import store_card
from chargeledger.services.payments.ports import PaymentFilter
from chargeledger.services.payments.refunds import pay_invoice, refund_payment
from chargeledger.services.payments.views import PaymentDetail
from chargeledger.services.payments.wallets import (
    WalletRules,
    set_wallet_floor,
    set_wallet_rules,
    top_up,
    view_wallet,
    wallet_history,
)
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=ERROR_RESPONSES)


def _scope(principal: Principal) -> str:
    return principal.subject[:80]


async def _account(rt: Runtime, principal: Principal, account_id: uuid.UUID) -> Account:
    return await reading(rt.uow, payment_views.visible_account, principal, account_id)


def _out(detail: PaymentDetail) -> PaymentOut:
    return PaymentOut.of(detail.payment, detail.state, detail.events)


async def _payment_out(rt: Runtime, principal: Principal, payment_id: uuid.UUID) -> PaymentOut:
    return _out(await reading(rt.uow, payment_views.visible_payment, principal, payment_id))


@router.get("/payments", summary="List payments (holds, captures, top-ups, invoice payments)")
async def list_payments(
    principal: ReadBilling,
    rt: RuntimeDep,
    account_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    purpose: PaymentPurpose | None = None,
    method: PaymentMethodKind | None = None,
    gateway: Annotated[str | None, Query(max_length=32)] = None,
    payment_status: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    created_from: Annotated[datetime | None, Query(alias="from")] = None,
    created_before: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
    reference: Annotated[
        str | None, Query(max_length=255, description="payment id, idTag or PSP id")
    ] = None,
    refunded: Annotated[bool, Query(description="only payments with a refund")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[PaymentOut]:
    criteria = PaymentFilter(
        account_id,
        session_id,
        purpose,
        method,
        gateway,
        created_from,
        created_before,
        reference,
        payment_status,
        refunded,
    )
    page = await reading(rt.uow, payment_views.list_payments, principal, criteria, limit, offset)
    return PageOut(items=[_out(d) for d in page.items], next_offset=page.next_offset)


@router.get("/payments/{payment_id}", summary="A payment with its event log")
async def get_payment(payment_id: uuid.UUID, principal: ReadBilling, rt: RuntimeDep) -> PaymentOut:
    return await _payment_out(rt, principal, payment_id)


@router.post(
    "/payments/{payment_id}/refunds",
    summary="Refund a payment, fully or partly, with a reason (credit note included)",
    status_code=status.HTTP_201_CREATED,
)
async def refund(
    payment_id: uuid.UUID, body: RefundIn, principal: WriteBilling, rt: RuntimeDep, request: Request
) -> Response:
    async def work() -> tuple[int, object]:
        payment, state = await refund_payment(rt.payments, payment_id, body.amount, body.reason)
        return 201, PaymentOut.of(payment, state)

    return await idempotent(rt, request, _scope(principal), body, work)


@router.get("/accounts/{account_id}/payment-methods", summary="Cards stored on an account")
async def list_cards(
    account_id: uuid.UUID, principal: ManagePayments, rt: RuntimeDep
) -> list[CardOut]:
    await _account(rt, principal, account_id)
    return [CardOut.of(c) for c in await reading(rt.uow, payment_views.account_cards, account_id)]


@router.post(
    "/accounts/{account_id}/payment-methods",
    summary="Store a card by its PSP token (never the card number)",
    status_code=status.HTTP_201_CREATED,
)
async def add_card(
    account_id: uuid.UUID, body: CardIn, principal: ManagePayments, rt: RuntimeDep
) -> CardOut:
    account = await _account(rt, principal, account_id)
    if body.gateway is not None and body.gateway not in rt.payments.gateways:
        raise InvalidInputError(  # a client's typo, not a server fault (was a 500)
            f"no payment gateway {body.gateway!r}", code="unknown_gateway", field="gateway"
        )
    card = await store_card(rt.payments, account, body.token, body.gateway, body.make_default)
    return CardOut.of(card)


@router.delete(
    "/accounts/{account_id}/payment-methods/{card_id}",
    summary="Remove a stored card",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_card(
    account_id: uuid.UUID, card_id: uuid.UUID, principal: ManagePayments, rt: RuntimeDep
) -> Response:
    await _account(rt, principal, account_id)
    await in_transaction(rt.uow, payment_views.remove_card, account_id, card_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/accounts/{account_id}/wallet", summary="Wallet balance, minimums and rules")
async def get_wallet(account_id: uuid.UUID, principal: ManagePayments, rt: RuntimeDep) -> WalletOut:
    account = await _account(rt, principal, account_id)
    return wallet_out(await reading(rt.uow, view_wallet, account, rt.payments.wallet_floor))


@router.put(
    "/accounts/{account_id}/wallet",
    summary="Set the driver's own minimum balance (at or above the floor) and auto top-up",
)
async def set_wallet(
    account_id: uuid.UUID, body: WalletSettingsIn, principal: ManagePayments, rt: RuntimeDep
) -> WalletOut:
    account = await _account(rt, principal, account_id)
    rules = WalletRules(
        minimum_balance=body.minimum_balance,
        auto_top_up=body.auto_top_up,
        top_up_below=body.top_up_below,
        top_up_amount=body.top_up_amount,
    )
    view = await in_transaction(
        rt.uow, set_wallet_rules, rt.clock, account, rules, rt.payments.wallet_floor
    )
    return wallet_out(view)


@router.put(
    "/accounts/{account_id}/wallet/floor",
    summary="Set the operator's floor of this wallet (finance; null: the operator default)",
)
async def set_floor(
    account_id: uuid.UUID, body: WalletFloorIn, principal: WriteBilling, rt: RuntimeDep
) -> WalletOut:
    account = await _account(rt, principal, account_id)
    view = await in_transaction(
        rt.uow, set_wallet_floor, rt.clock, account, body.floor, rt.payments.wallet_floor
    )
    return wallet_out(view)


@router.get("/accounts/{account_id}/wallet/history", summary="Top-ups, sessions and refunds")
async def get_wallet_history(
    account_id: uuid.UUID, principal: ManagePayments, rt: RuntimeDep
) -> list[WalletLineOut]:
    await _account(rt, principal, account_id)
    lines = await reading(rt.uow, wallet_history, account_id)
    return [WalletLineOut.of(e, p) for e, p in lines]


async def _card(rt: Runtime, account: Account, card_id: uuid.UUID | None) -> StoredCard:
    return await reading(rt.uow, payment_views.usable_card, account, card_id)


@router.post(
    "/accounts/{account_id}/wallet/top-ups",
    summary="Top the wallet up from a stored card",
    status_code=status.HTTP_201_CREATED,
)
async def wallet_top_up(
    account_id: uuid.UUID,
    body: TopUpIn,
    principal: ManagePayments,
    rt: RuntimeDep,
    request: Request,
) -> Response:
    account = await _account(rt, principal, account_id)

    async def work() -> tuple[int, object]:
        card = await _card(rt, account, body.payment_method_id)
        payment, _ = await top_up(rt.payments, account, body.amount, card)
        return 201, await _payment_out(rt, principal, payment.id)

    return await idempotent(rt, request, _scope(principal), body, work)


@router.post(
    "/invoices/{invoice_id}/payments",
    summary="Pay what is open on an invoice with a stored card",
    status_code=status.HTTP_201_CREATED,
)
async def pay(
    invoice_id: uuid.UUID,
    body: PayInvoiceIn,
    principal: ManagePayments,
    rt: RuntimeDep,
    request: Request,
) -> Response:
    invoice = await reading(rt.uow, visible_invoice, principal, invoice_id)
    if invoice.account_id is None:
        raise NotFoundError(f"invoice {invoice_id} not found", code="invoice_not_found")
    account = await _account(rt, principal, invoice.account_id)
    payment_id = new_id()

    async def work() -> tuple[int, object]:
        card = await _card(rt, account, body.payment_method_id)
        payment, _ = await pay_invoice(rt.payments, invoice.id, card, payment_id)
        return 201, await _payment_out(rt, principal, payment.id)

    return await idempotent(rt, request, _scope(principal), body, work)
