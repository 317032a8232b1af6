"""How a session pays: decided once when its driver is identified (the table and the
rule: ``domain.payment_routes``), then read from the session (issue 6, issue 12 item 2).

Sessions paid at once get a receipt per session; postpaid ones wait for the invoice run.
"""

from __future__ import annotations

from chargeledger.domain.accounts import Account
from chargeledger.domain.charging import Session
from chargeledger.domain.payment_routes import decide_payment_route
from chargeledger.domain.payments import Payment, PaymentMethodKind, StoredCard, refuse_card_data
from chargeledger.domain.session_lifecycle import Payer
from chargeledger.domain.station_link import SessionFilter
from chargeledger.errors import InvalidInputError
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.ports import UnitOfWork


async def default_card(uow: UnitOfWork, account: Account) -> StoredCard | None:
    cards = await uow.payments.cards(account.id)
    defaults = [c for c in cards if c.is_default] or cards
    return defaults[-1] if defaults else None


async def identify_payer(uow: UnitOfWork, id_tag: str | None) -> Payer:
    """Who pays for a session started with ``id_tag`` and by which route, from the token,
    its account and the account's cards as they are now (the session's start)."""
    token = await uow.tokens.get_by_uid(id_tag) if id_tag else None
    account = await uow.accounts.get(token.account_id) if token else None
    has_card = account is not None and await default_card(uow, account) is not None
    route = decide_payment_route(id_tag, account, token, has_card)
    return Payer(token.account_id if token else None, route)


def payment_to_follow(session: Session) -> PaymentMethodKind | None:
    """How the session pays, when there is payment work at its start, while it charges or
    at its stop; None for postpaid sessions and strangers (no background work for them)."""
    return session.payment_route.to_follow


async def payment_session(uow: UnitOfWork, payment: Payment) -> Session | None:
    """The session a payment pays: attached to it, or started with its checkout's idTag."""
    if payment.session_id is not None:
        return await uow.sessions.get(payment.session_id)
    if payment.id_tag is None:
        return None
    page = await uow.sessions.search(SessionFilter(id_tag=payment.id_tag), limit=1, offset=0)
    return page.items[0] if page.items else None


async def session_payment(uow: UnitOfWork, session: Session) -> Payment | None:
    """The card payment of a session: attached to it, or the QR checkout whose idTag started
    it."""
    attached = [p for p in await uow.payments.for_session(session.id) if p.gateway != "wallet"]
    if attached:
        return attached[0]
    if session.id_tag:
        return await uow.payments.by_id_tag(session.id_tag)
    return None


async def store_card(
    ctx: PaymentContext, account: Account, token: str, gateway: str | None, make_default: bool
) -> StoredCard:
    """Keep a tokenised card on an account: the PSP tells brand, last four and expiry."""
    refuse_card_data(token, "token")
    name = gateway or ctx.default_gateway
    details = await ctx.gateway(name).card_details(token)
    card = StoredCard(
        account_id=account.id,
        gateway=name,
        token=details.token,
        brand=details.brand,
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
        is_default=make_default,
    )
    if card.expired_at(ctx.clock.now()):
        raise InvalidInputError("the card has expired", code="expired_card")
    async with ctx.uow() as uow:
        await uow.payments.add_card(card, ctx.clock.now())
        await uow.commit()
    return card
