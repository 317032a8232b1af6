"""Prepaid wallets: top-ups through the PSP, the balance Authorize checks, auto top-up, and
who may set which minimum (``domain.wallets``: the operator's floor, the driver's own).

The balance is the ledger's ``Liabilities:Wallets:<account>`` (what the operator owes the
driver), so it cannot drift from the books: a top-up credits it, a session debits it, a
refund of a top-up debits it.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from chargeledger.domain.accounts import Account, BillingMode
from chargeledger.domain.ids import new_id
from chargeledger.domain.ledger import JournalEntry, Posting, wallet
from chargeledger.domain.payments import (
    Operation,
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    StoredCard,
)
from chargeledger.domain.wallets import MAX_TOP_UP, WalletSettings, check_own_minimum
from chargeledger.errors import DuplicateError, InvalidInputError, NotFoundError
from chargeledger.money import Money
from chargeledger.services.locking import exclusive
from chargeledger.services.payments._operations import (
    PAYMENT_BUSY,
    payment_lock,
    run_operation,
    state_of,
)
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.methods import default_card
from chargeledger.services.ports import Clock, UnitOfWork

TOP_UP_NAMESPACE = uuid.UUID("0b8f3a52-51a4-4e0e-8f43-6a1a43e8e7c2")


@dataclass(frozen=True, slots=True)
class WalletView:
    account_id: uuid.UUID
    currency: str
    balance: Decimal
    settings: WalletSettings
    floor: Decimal  # the operator's floor that applies (the account's or the default)
    minimum: Decimal  # the higher of the floor and the driver's own minimum


@dataclass(frozen=True, slots=True)
class WalletRules:
    """What a driver, a fleet manager or finance may set on a wallet (not the floor)."""

    minimum_balance: Decimal | None
    auto_top_up: bool
    top_up_below: Decimal
    top_up_amount: Decimal


def wallet_lock(ctx: PaymentContext, account_id: uuid.UUID) -> AbstractAsyncContextManager[None]:
    """Held by what takes money out of a wallet on the strength of its balance (a top-up's
    refund), so two of them cannot both spend one balance. Session debits do not wait for
    it: the price of a finished session is owed whatever the balance (it may go below zero)."""
    return exclusive(
        ctx.locks,
        f"wallet:{account_id}",
        ctx.lock_wait,
        code=PAYMENT_BUSY,
        what=f"the wallet of account {account_id}",
    )


async def wallet_settings(uow: UnitOfWork, account: Account) -> WalletSettings:
    found = await uow.payments.wallet(account.id)
    return found or WalletSettings(account.id, account.currency)


async def wallet_balance(uow: UnitOfWork, account_id: uuid.UUID) -> Decimal:
    """What the operator owes the driver: minus the wallet account's (credit) balance."""
    balances = await uow.ledger.balances(prefix=wallet(account_id))
    return -sum((b.balance for b in balances), Decimal(0))


async def view_wallet(uow: UnitOfWork, account: Account, default_floor: Decimal) -> WalletView:
    settings = await wallet_settings(uow, account)
    balance = await wallet_balance(uow, account.id)
    return WalletView(
        account.id,
        settings.currency,
        balance,
        settings,
        settings.floor_or(default_floor),
        settings.effective_minimum(default_floor),
    )


async def wallet_allows(uow: UnitOfWork, account: Account, default_floor: Decimal) -> bool:
    """Authorize of a prepaid account (2.0.1 C01 NoCredit): at least the effective minimum
    (the higher of the operator's floor and the driver's own minimum)."""
    if account.billing_mode is not BillingMode.PREPAID:
        return True
    settings = await wallet_settings(uow, account)
    minimum = settings.effective_minimum(default_floor)
    return await wallet_balance(uow, account.id) >= minimum


async def set_wallet_rules(
    uow: UnitOfWork, clock: Clock, account: Account, rules: WalletRules, default_floor: Decimal
) -> WalletView:
    """The driver's own minimum and auto top-up. The floor stays as finance set it, and the
    own minimum may not be under it (``minimum_below_floor``): the operator sets the floor,
    a driver may only raise it (issue 11 item 5). Does not commit."""
    current = await wallet_settings(uow, account)
    settings = replace(
        current,
        minimum_balance=rules.minimum_balance,
        auto_top_up=rules.auto_top_up,
        top_up_below=rules.top_up_below,
        top_up_amount=rules.top_up_amount,
    )
    check_own_minimum(settings, default_floor)
    await uow.payments.save_wallet(settings, clock.now())
    return await view_wallet(uow, account, default_floor)


async def set_wallet_floor(
    uow: UnitOfWork, clock: Clock, account: Account, floor: Decimal | None, default_floor: Decimal
) -> WalletView:
    """The operator's floor of one account (finance; None: back to the operator-wide
    default). A driver's own minimum under a raised floor no longer matters: the higher of
    the two applies. Does not commit."""
    settings = replace(await wallet_settings(uow, account), floor=floor)
    await uow.payments.save_wallet(settings, clock.now())
    return await view_wallet(uow, account, default_floor)


async def wallet_history(
    uow: UnitOfWork, account_id: uuid.UUID, start: date | None = None, end: date | None = None
) -> list[tuple[JournalEntry, Posting]]:
    return await uow.ledger.statement(wallet(account_id), start, end)


async def top_up(
    ctx: PaymentContext,
    account: Account,
    amount: Decimal,
    card: StoredCard,
    payment_id: uuid.UUID | None = None,
) -> tuple[Payment, PaymentStatus]:
    """Charge the card at once and credit the wallet (DESIGN §5: PSP / Wallets)."""
    currency = account.currency
    if amount <= 0 or amount > MAX_TOP_UP or amount != amount.quantize(currency.quantum):
        raise InvalidInputError(
            f"a top-up is 0 to {MAX_TOP_UP} {currency} in whole minor units",
            code="invalid_top_up",
            field="amount",
        )
    if card.account_id != account.id or not card.active:
        raise NotFoundError("no such card on this account", code="card_not_found")
    payment = Payment(
        id=payment_id or new_id(),
        purpose=PaymentPurpose.TOP_UP,
        method=PaymentMethodKind.APP,
        gateway=card.gateway,
        currency=currency,
        account_id=account.id,
        method_token=card.token,
    )
    async with payment_lock(ctx, payment.id):
        async with ctx.uow() as uow:
            if await uow.payments.get(payment.id) is None:
                try:
                    await uow.payments.add(payment, ctx.clock.now())
                    await uow.commit()
                except DuplicateError:
                    pass  # the same top-up sent twice at once (an auto top-up, a client retry)
        money = Money(amount, currency)
        await run_operation(
            ctx,
            payment,
            Operation.AUTHORISE,
            amount,
            lambda gw, key: gw.authorise(
                amount=money,
                method_token=card.token,
                idempotency_key=key,
                reference=str(payment.id),
                capture=True,
            ),
        )
        async with ctx.uow() as uow:
            state = await state_of(uow, payment)
    return payment, state.status


async def auto_top_up(ctx: PaymentContext, account_id: uuid.UUID, trigger: str) -> None:
    """Top the wallet up from the default card when it fell below the account's threshold;
    one top-up per trigger (the wallet debit that caused it), however often this runs."""
    async with ctx.uow() as uow:
        account = await uow.accounts.get(account_id)
        if account is None:
            return
        settings = await wallet_settings(uow, account)
        balance = await wallet_balance(uow, account_id)
        card = await default_card(uow, account)
    if not settings.auto_top_up or balance >= settings.top_up_below or card is None:
        return
    payment_id = uuid.uuid5(TOP_UP_NAMESPACE, f"{account_id}:{trigger}")
    await top_up(ctx, account, settings.top_up_amount, card, payment_id)
