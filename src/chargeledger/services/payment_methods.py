"""How a session is paid, decided from who started it (issue 6).

| who | pays by |
|---|---|
| nobody we know (a QR checkout's or a terminal's ad hoc idTag) | card, held before the start |
| a prepaid account | its wallet, debited at the stop |
| an app token of an account with a stored card | that card, held at the start |
| anyone else (an RFID card of a postpaid account) | the account's next invoice |

Sessions paid at once get a receipt per session; postpaid ones wait for the invoice run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.charging import Session
from chargeledger.domain.payments import Payment, PaymentMethodKind, StoredCard, refuse_card_data
from chargeledger.domain.station_link import SessionFilter
from chargeledger.errors import InvalidInputError
from chargeledger.services.ports import UnitOfWork

if TYPE_CHECKING:  # payment_operations → invoicing → ... → billing → this module
    from chargeledger.services.payment_operations import PaymentContext

AD_HOC_ID_TAG_PREFIX = "QR"  # a QR checkout's one-off idTag: "QR" + 16 hex digits
HELD = frozenset({PaymentMethodKind.CARD, PaymentMethodKind.APP})
PAID_AT_SESSION = frozenset(
    {PaymentMethodKind.CARD, PaymentMethodKind.APP, PaymentMethodKind.WALLET}
)


async def default_card(uow: UnitOfWork, account: Account) -> StoredCard | None:
    cards = await uow.payments.cards(account.id)
    defaults = [c for c in cards if c.is_default] or cards
    return defaults[-1] if defaults else None


async def how_session_pays(
    uow: UnitOfWork, session: Session
) -> tuple[PaymentMethodKind, Account | None]:
    if session.account_id is None:
        return PaymentMethodKind.CARD, None
    account = await uow.accounts.get(session.account_id)
    if account is None:
        return PaymentMethodKind.CARD, None
    if account.billing_mode is BillingMode.PREPAID:
        return PaymentMethodKind.WALLET, account
    token = await uow.tokens.get_by_uid(session.id_tag) if session.id_tag else None
    if token is not None and token.type is TokenType.APP and await default_card(uow, account):
        return PaymentMethodKind.APP, account
    return PaymentMethodKind.RFID, account


async def payment_to_follow(uow: UnitOfWork, session: Session) -> PaymentMethodKind | None:
    """How the session pays, when there is payment work at its start, while it charges or
    at its stop; None for postpaid sessions and strangers (no background work for them)."""
    if session.account_id is None:
        ad_hoc = session.id_tag is not None and session.id_tag.startswith(AD_HOC_ID_TAG_PREFIX)
        return PaymentMethodKind.CARD if ad_hoc else None
    method, _ = await how_session_pays(uow, session)
    return None if method is PaymentMethodKind.RFID else method


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
