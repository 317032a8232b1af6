"""What the entry points ask of an account's payments, cards and wallet, scoped to what the
principal may see (DESIGN §6: deny by default; another account's records look missing).

Handed an open unit of work; the caller commits (DESIGN §3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from chargeledger.domain.accounts import Account
from chargeledger.domain.identity import Principal
from chargeledger.domain.payments import Payment, PaymentEvent, PaymentState, StoredCard, fold
from chargeledger.errors import NotFoundError
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.paging import Page
from chargeledger.services.payments.methods import default_card, session_payment
from chargeledger.services.payments.ports import PaymentFilter
from chargeledger.services.ports import UnitOfWork

STATE_SCAN_BATCH = 500  # stored payments read at a time while filtering on their state


@dataclass(frozen=True, slots=True)
class PaymentDetail:
    """A payment with its state and, when shown alone, its event log."""

    payment: Payment
    state: PaymentState
    events: list[PaymentEvent] | None = None


async def visible_account(uow: UnitOfWork, principal: Principal, account_id: uuid.UUID) -> Account:
    account = await uow.accounts.get(account_id)
    if account is None or not principal.may_see_account(account_id):
        raise NotFoundError(f"account {account_id} not found", code="account_not_found")
    return account


async def visible_payment(
    uow: UnitOfWork, principal: Principal, payment_id: uuid.UUID
) -> PaymentDetail:
    """A driver or fleet manager sees only their account's payments (as ``visible_invoice``)."""
    payment = await uow.payments.get(payment_id)
    hidden = payment is None or (
        principal.is_account_bound
        and (payment.account_id is None or not principal.may_see_account(payment.account_id))
    )
    if payment is None or hidden:
        raise NotFoundError(f"payment {payment_id} not found", code="payment_not_found")
    events = await uow.payments.events(payment.id)
    return PaymentDetail(payment, fold(events), events)


async def list_payments(
    uow: UnitOfWork, principal: Principal, criteria: PaymentFilter, limit: int, offset: int
) -> Page[PaymentDetail]:
    """A page of the payments ``principal`` may see; an account-bound principal asking for
    another account's gets an empty page. A filter on the state (``criteria.by_state``) is
    applied to the folded events, reading the stored matches a batch at a time."""
    if principal.is_account_bound:
        if criteria.account_id not in (None, principal.account_id):
            return Page(items=[], next_offset=None)
        criteria = replace(criteria, account_id=principal.account_id)
    if criteria.by_state:
        return await _by_state(uow, criteria, limit, offset)
    page = await uow.payments.search(criteria, limit=limit, offset=offset)
    events = await uow.payments.events_of([p.id for p in page.items])
    items = [PaymentDetail(p, fold(events[p.id])) for p in page.items]
    return Page(items=items, next_offset=page.next_offset)


def _state_matches(criteria: PaymentFilter, state: PaymentState) -> bool:
    if criteria.status is not None and state.status is not criteria.status:
        return False
    return state.refunded > 0 or not criteria.refunded


async def _by_state(
    uow: UnitOfWork, criteria: PaymentFilter, limit: int, offset: int
) -> Page[PaymentDetail]:
    """The ``offset``-th to ``offset + limit``-th payment whose state matches, in the
    storage's order; the next offset when there is one more."""
    matched: list[PaymentDetail] = []
    stored: int | None = 0
    while stored is not None and len(matched) <= offset + limit:
        page = await uow.payments.search(criteria, limit=STATE_SCAN_BATCH, offset=stored)
        events = await uow.payments.events_of([p.id for p in page.items])
        for payment in page.items:
            state = fold(events[payment.id])
            if _state_matches(criteria, state):
                matched.append(PaymentDetail(payment, state))
        stored = page.next_offset
    end = offset + limit
    return Page(items=matched[offset:end], next_offset=end if len(matched) > end else None)


async def session_payments(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID
) -> list[PaymentDetail]:
    """A session's payments with their event logs: those attached to it (card, wallet) and
    the QR checkout whose idTag started it (``methods.session_payment``: a checkout pays
    before its session exists, so it is found by the idTag); the session must be visible to
    ``principal`` (``session_review.get_session``), else NotFoundError."""
    session = await get_session(uow, principal, session_id)
    found = {p.id: p for p in await uow.payments.for_session(session.id)}
    checkout = await session_payment(uow, session)
    if checkout is not None:
        found.setdefault(checkout.id, checkout)
    details = []
    for payment in found.values():
        events = await uow.payments.events(payment.id)
        details.append(PaymentDetail(payment, fold(events), events))
    return details


async def all_payments(uow: UnitOfWork) -> list[PaymentDetail]:
    """Every payment with its state, in storage order (the demo's closing figures)."""
    return [
        PaymentDetail(payment, fold(await uow.payments.events(payment.id)))
        for payment in await uow.payments.all()
    ]


async def account_cards(uow: UnitOfWork, account_id: uuid.UUID) -> list[StoredCard]:
    return await uow.payments.cards(account_id)


async def remove_card(uow: UnitOfWork, account_id: uuid.UUID, card_id: uuid.UUID) -> None:
    """Remove an active card of the account (``card_not_found`` for any other)."""
    card = await uow.payments.get_card(card_id)
    if card is None or card.account_id != account_id or not card.active:
        raise NotFoundError(f"card {card_id} not found", code="card_not_found")
    await uow.payments.remove_card(card_id)


async def usable_card(uow: UnitOfWork, account: Account, card_id: uuid.UUID | None) -> StoredCard:
    """The card chosen (or the account's default) when it is the account's and active."""
    card = await uow.payments.get_card(card_id) if card_id else await default_card(uow, account)
    if card is None or card.account_id != account.id or not card.active:
        raise NotFoundError("no usable card on this account", code="card_not_found")
    return card
