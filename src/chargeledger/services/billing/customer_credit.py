"""A customer's credit (over-payments, prepayments kept for them) pays their open invoices,
oldest first, as far as it goes, and then what their reminders claimed (issue 13): after a
bank import that left credit, and when the invoice run issues a customer's next invoice.
Handed the open unit of work; the caller commits (DESIGN §3)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.bank_postings import credit_applied
from chargeledger.domain.dunning import claims_paid, late_payment_receivable
from chargeledger.domain.ledger import CUSTOMER_CREDIT, customer_credit, customer_of
from chargeledger.domain.receivables import Settlement, SettlementKind
from chargeledger.money import Currency, Money
from chargeledger.services.billing.document_notices import announce_payment
from chargeledger.services.ports import Clock, UnitOfWork


async def apply_credit(
    uow: UnitOfWork, clock: Clock, time_zone: str, account_id: uuid.UUID
) -> list[Settlement]:
    """Use ``account_id``'s credit on its open invoices, oldest first, then on its claims.
    The credit is held until the caller's transaction ends (a bank import, finance's match
    and an invoice run may spend it at once). Does not commit."""
    await uow.ledger.hold_account(customer_credit(account_id))
    balances = await uow.ledger.balances(prefix=customer_credit(account_id))
    available = {b.currency: -b.balance for b in balances if b.balance < 0}
    if not available:
        return []
    now = clock.now()
    on = now.astimezone(ZoneInfo(time_zone)).date()
    used: list[Settlement] = []
    for invoice in await uow.billing.open_invoices(account_id):
        left = available.get(invoice.outstanding.currency, Decimal(0))
        if left <= 0:
            continue
        amount = min(left, invoice.outstanding.amount)
        settlement = Settlement(
            invoice_id=invoice.invoice_id,
            account_id=account_id,
            kind=SettlementKind.ACCOUNT_CREDIT,
            amount=Money(amount, invoice.outstanding.currency),
            source=f"credit:{uuid.uuid4()}",
            booked_at=now,
            booked_on=on,
        )
        if await uow.billing.add_settlement(settlement):
            await announce_payment(uow, clock, settlement)
        await uow.ledger.add(
            [credit_applied(settlement.id, on, account_id, settlement.amount, invoice.number)],
            now,
        )
        available[invoice.outstanding.currency] = left - amount
        used.append(settlement)
    await _pay_claims(uow, account_id, available, on, now)
    return used


async def _pay_claims(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    available: dict[Currency, Decimal],
    on: date,
    now: datetime,
) -> None:
    """What credit is left after the invoices pays the account's open late-payment claims
    (fees, compensation, interest its reminders claimed), as far as it goes."""
    for claim in await uow.ledger.balances(prefix=late_payment_receivable(account_id)):
        left = available.get(claim.currency, Decimal(0))
        amount = min(left, claim.balance)
        if amount <= 0:
            continue
        paid = Money(amount, claim.currency)
        await uow.ledger.add([claims_paid(account_id, paid, on, str(uuid.uuid4()))], now)
        available[claim.currency] = left - amount


async def apply_credits(
    uow: UnitOfWork, clock: Clock, time_zone: str, account_ids: Iterable[uuid.UUID]
) -> list[Settlement]:
    """``apply_credit`` for those of ``account_ids`` that hold credit (one query to know)."""
    wanted = set(account_ids)
    if not wanted:
        return []
    with_credit = {
        customer_of(b.account)
        for b in await uow.ledger.balances(prefix=CUSTOMER_CREDIT)
        if b.balance < 0
    }
    used: list[Settlement] = []
    for account_id in sorted(a for a in wanted if a in with_credit):
        used += await apply_credit(uow, clock, time_zone, account_id)
    return used
