"""A contract's credit limit (issue 14): how much a postpaid fleet may owe before its cards
stop being accepted.

What the account owes is what the ledger says: its receivable (invoices issued, not yet
paid) plus its unbilled receivable (sessions charged, not yet invoiced), in the contract's
currency. At or above the limit of the contract version valid today, Authorize answers
NoCredit (OCPP 2.0.1 AuthorizationStatusEnumType; 1.6 has no such value and the edge maps it
as it maps a prepaid refusal). A payment, a credit note or a written-off invoice lowers what
is owed, so the cards work again at once; nothing is written onto the tokens.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeledger.domain.accounts import Account
from chargeledger.domain.contracts import covers
from chargeledger.domain.ledger import receivable, unbilled
from chargeledger.money import ZERO
from chargeledger.services.contracts.records import terms_of, version_for_session
from chargeledger.services.ports import UnitOfWork


async def owed(uow: UnitOfWork, account: Account) -> Decimal:
    """Invoiced and unbilled, in the account's currency (debits less credits)."""
    total = ZERO
    for name in (receivable(account.id), unbilled(account.id)):
        for balance in await uow.ledger.balances(name):
            if balance.account == name and balance.currency == account.currency:
                total += balance.debit - balance.credit
    return total


async def over_credit_limit(uow: UnitOfWork, account: Account, day: date) -> bool:
    """Whether the account's own contract (it is the counterparty) sets a credit limit that
    what it owes has reached."""
    found = await version_for_session(uow, account.id, day)
    if found is None:
        return False
    record, version = found
    if record.account_id != account.id or not covers(record.contract, day):
        return False
    limit = terms_of(version, record).credit_limit
    return limit is not None and await owed(uow, account) >= limit
