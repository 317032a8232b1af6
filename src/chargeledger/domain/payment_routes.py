"""How a session pays, decided once when the driver is identified and frozen on the session
like its tariff (DESIGN §3: decisions live on the aggregates; issue 6, issue 12 item 2).

| who started it | route | pays by |
|---|---|---|
| a QR checkout's one-off idTag (no account) | ``checkout_card`` | card, held before the start |
| nobody we know (a terminal's or unknown idTag) | ``walk_in`` | card at the station (receipt) |
| a prepaid account | ``wallet`` | its wallet, debited at the stop |
| an app token of an account with a stored card | ``app_card`` | that card, held at the start |
| anyone else (an RFID card of a postpaid account) | ``invoice`` | the account's next invoice |

An account that changes while the session runs (its card removed, its billing mode switched)
does not change the route: the card hold, the credit checks and the bill all follow the one
decided here, so a session is never billed by a different route than its hold.
"""

from __future__ import annotations

from enum import StrEnum

from chargeledger.domain.accounts import Account, BillingMode, Token, TokenType
from chargeledger.domain.payments import PaymentMethodKind

AD_HOC_ID_TAG_PREFIX = "QR"  # a QR checkout's one-off idTag: "QR" + 16 hex digits


class PaymentRoute(StrEnum):
    CHECKOUT_CARD = "checkout_card"
    WALK_IN = "walk_in"
    APP_CARD = "app_card"
    WALLET = "wallet"
    INVOICE = "invoice"

    @property
    def method(self) -> PaymentMethodKind:
        """The payment method the charge, receipt and ledger group it by."""
        return _METHODS[self]

    @property
    def paid_at_session(self) -> bool:
        """Paid at once with a receipt per session; an invoice route waits for the run."""
        return self is not PaymentRoute.INVOICE

    @property
    def to_follow(self) -> PaymentMethodKind | None:
        """The method when there is payment work at the start, while charging or at the
        stop; None for postpaid sessions and walk-ins (no background work for them)."""
        return None if self in (PaymentRoute.INVOICE, PaymentRoute.WALK_IN) else self.method

    @property
    def card_held(self) -> bool:
        """A card hold stands behind the session: raised while it charges, captured at the
        stop (``session_payments``)."""
        return self in (PaymentRoute.CHECKOUT_CARD, PaymentRoute.APP_CARD)


_METHODS = {
    PaymentRoute.CHECKOUT_CARD: PaymentMethodKind.CARD,
    PaymentRoute.WALK_IN: PaymentMethodKind.CARD,
    PaymentRoute.APP_CARD: PaymentMethodKind.APP,
    PaymentRoute.WALLET: PaymentMethodKind.WALLET,
    PaymentRoute.INVOICE: PaymentMethodKind.RFID,
}


def decide_payment_route(
    id_tag: str | None, account: Account | None, token: Token | None, has_card: bool
) -> PaymentRoute:
    """The route from what is known when the driver is identified: the idTag, the account
    behind it, the token presented and whether the account has a stored card then."""
    if account is None:
        ad_hoc = id_tag is not None and id_tag.startswith(AD_HOC_ID_TAG_PREFIX)
        return PaymentRoute.CHECKOUT_CARD if ad_hoc else PaymentRoute.WALK_IN
    if account.billing_mode is BillingMode.PREPAID:
        return PaymentRoute.WALLET
    if token is not None and token.type is TokenType.APP and has_card:
        return PaymentRoute.APP_CARD
    return PaymentRoute.INVOICE
