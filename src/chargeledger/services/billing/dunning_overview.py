"""Where each overdue invoice stands in dunning (issue 16, the office's dunning page; issue
13 for the rules): its last notice, the schedule's next level and the first day it may be
sent, and whether a dispute pauses it.

The same reading as ``dunning.run_dunning``: the invoices overdue on the day (the SQL status
filter), their open items and histories, the account group's schedule
(``DunningTerms.policy_for``) and the domain's ``next_step`` — so the page shows what the next
run will do, never a second idea of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from chargeledger.domain.accounts import Account
from chargeledger.domain.dunning import (
    DunningEvent,
    DunningLevel,
    is_disputed,
    next_step,
    notices_in,
)
from chargeledger.domain.invoicing import DocumentKind, Invoice
from chargeledger.domain.receivables import PaymentStatus, outstanding_of
from chargeledger.money import Money
from chargeledger.services.billing.dunning import DunningTerms
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoicing import open_items, today
from chargeledger.services.common import page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class DunningStanding:
    invoice: Invoice
    outstanding: Money
    days_overdue: int
    paused: bool  # a dispute is open: no notice goes out
    last_notice: DunningEvent | None
    next_level: DunningLevel | None  # None: the final notice went out (or no schedule)
    next_on: date | None  # the first day the next level may be sent
    history: list[DunningEvent]


async def overdue_standing(
    uow: UnitOfWork, clock: Clock, terms: DunningTerms, limit: int, offset: int
) -> Page[DunningStanding]:
    """The invoices overdue today (the operator's day), by the invoice list's order."""
    limit, offset = page_bounds(limit, offset)
    on = today(clock, terms.time_zone)
    criteria = InvoiceFilter(kind=DocumentKind.INVOICE, payment_status=PaymentStatus.OVERDUE, on=on)
    page = await uow.billing.list_invoices(criteria, limit=limit, offset=offset)
    items = await open_items(uow, page.items)
    histories = await uow.dunning.history([i.id for i in page.items])
    accounts: dict[uuid.UUID, Account | None] = {}
    standings = []
    for invoice in page.items:
        history = histories[invoice.id]
        account_id = invoice.account_id
        if account_id is not None and account_id not in accounts:
            accounts[account_id] = await uow.accounts.get(account_id)
        policy = terms.policy_for(None if account_id is None else accounts[account_id])
        due = invoice.due_date
        step = None if policy is None or due is None else next_step(policy, due, history)
        sent = notices_in(history)
        standings.append(
            DunningStanding(
                invoice=invoice,
                outstanding=Money(outstanding_of(invoice, items[invoice.id]), invoice.currency),
                days_overdue=0 if due is None else (on - due).days,
                paused=is_disputed(history),
                last_notice=sent[-1] if sent else None,
                next_level=None if step is None else step[0],
                next_on=None if step is None else step[1],
                history=history,
            )
        )
    return Page(items=standings, next_offset=page.next_offset)
