"""Dunning runs, disputes and an invoice's dunning history (issue 13).

A run looks at every invoice overdue on the day (the SQL status filter), decides each one's
next notice (``domain.dunning.notice_for``) and, in the caller's transaction, keeps the
notice as an event on the invoice, books what it claims, and announces it in the outbox
(e-mail to the buyer with the reminder and the invoice as PDFs; webhooks). A level is kept
once per invoice (unique key), so running again, or on two nodes at once, sends nothing
twice. Handed an open unit of work; the caller commits (DESIGN §3).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.dunning import (
    DEFAULT_POLICIES,
    DunningEvent,
    DunningEventKind,
    DunningPolicy,
    OverdueInvoice,
    claim_waived,
    is_disputed,
    late_payment_receivable,
    notice_claimed,
    notice_for,
    notices_in,
    waiver_of,
)
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice
from chargeledger.domain.late_payment import LatePaymentTerms
from chargeledger.domain.receivables import PaymentStatus, outstanding_of
from chargeledger.domain.text import optional_text
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
from chargeledger.money import ZERO, Money
from chargeledger.services.billing.dunning_notices import notice_message
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoicing import (
    find_invoice,
    get_invoice,
    open_items,
    today,
    visible_invoice,
)
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.ports import Clock, UnitOfWork

PAGE = 500


@dataclass(frozen=True)
class DunningTerms:
    """The schedules per account group (the account's kind: ``individual``, ``business``),
    the B2B late-payment terms, and the operator's time zone (whose calendar days count)."""

    time_zone: str
    policies: Mapping[str, DunningPolicy] = field(default_factory=lambda: DEFAULT_POLICIES)
    late_payment: LatePaymentTerms = field(default_factory=LatePaymentTerms)

    def policy_for(self, account: Account | None) -> DunningPolicy | None:
        group = AccountKind.INDIVIDUAL if account is None else account.kind
        return self.policies.get(group.value)


@dataclass
class DunningReport:
    on: date
    overdue: int = 0
    notices: list[DunningEvent] = field(default_factory=list)
    disputed: int = 0  # overdue invoices skipped because they are disputed


async def run_dunning(
    uow: UnitOfWork, clock: Clock, terms: DunningTerms, on: date | None = None
) -> DunningReport:
    """Send every overdue invoice the notice it is due on ``on`` (default: the operator's
    today; a day after today is refused, a notice is never dated ahead)."""
    now_day = today(clock, terms.time_zone)
    day = on or now_day
    if day > now_day:
        raise InvalidInputError(
            f"a dunning run cannot be dated after today ({now_day})",
            code="dunning_date_in_future",
            field="date",
        )
    report = DunningReport(day)
    overdue = await _overdue(uow, day)
    report.overdue = len(overdue)
    items = await open_items(uow, overdue)
    histories = await uow.dunning.history([i.id for i in overdue])
    accounts: dict[uuid.UUID, Account | None] = {}
    for invoice in overdue:
        history = histories[invoice.id]
        if is_disputed(history):
            report.disputed += 1
            continue
        account = await _account(uow, accounts, invoice.account_id)
        policy = terms.policy_for(account)
        if policy is None or invoice.due_date is None:
            continue
        case = OverdueInvoice(
            invoice_id=invoice.id,
            account_id=invoice.account_id,
            due_date=invoice.due_date,
            outstanding=Money(outstanding_of(invoice, items[invoice.id]), invoice.currency),
            business=account is not None and account.kind is AccountKind.BUSINESS,
        )
        notice = notice_for(case, policy, terms.late_payment, history, day, clock.now())
        if notice is not None and await _keep(uow, clock, notice, invoice):
            report.notices.append(notice)
    return report


async def _overdue(uow: UnitOfWork, on: date) -> list[Invoice]:
    criteria = InvoiceFilter(kind=DocumentKind.INVOICE, payment_status=PaymentStatus.OVERDUE, on=on)
    found: list[Invoice] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.billing.list_invoices(criteria, limit=PAGE, offset=offset)
        found += page.items
        offset = page.next_offset
    return found


async def _account(
    uow: UnitOfWork, known: dict[uuid.UUID, Account | None], account_id: uuid.UUID | None
) -> Account | None:
    if account_id is None:
        return None
    if account_id not in known:
        known[account_id] = await uow.accounts.get(account_id)
    return known[account_id]


async def _keep(uow: UnitOfWork, clock: Clock, notice: DunningEvent, invoice: Invoice) -> bool:
    """The notice as an event, its booking and its announcement, in one transaction; False
    when another run kept this level first."""
    if not await uow.dunning.add(notice):
        return False
    entry = notice_claimed(notice)
    if entry is not None:
        await uow.ledger.add([entry], clock.now())
    await announce(uow, clock, notice_message(notice, invoice))
    return True


# --- disputes and history ---------------------------------------------------------------------


async def set_disputed(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    invoice_id: uuid.UUID,
    disputed: bool,
    by: str,
    note: str | None = None,
) -> list[DunningEvent]:
    """Finance opens (or closes) a dispute on an issued invoice: while it is open the
    invoice gets no notice and blocks no token. Answers the invoice's dunning history."""
    invoice = await get_invoice(uow, invoice_id)
    if invoice.kind is not DocumentKind.INVOICE or invoice.status is not DocumentStatus.ISSUED:
        raise ConflictError(
            f"{invoice.number or invoice.id} is no issued invoice", code="not_payable"
        )
    history = (await uow.dunning.history([invoice.id]))[invoice.id]
    if is_disputed(history) == disputed:
        raise ConflictError(
            "the invoice is already disputed" if disputed else "the invoice is not disputed",
            code="invoice_already_disputed" if disputed else "invoice_not_disputed",
        )
    event = DunningEvent(
        kind=DunningEventKind.DISPUTED if disputed else DunningEventKind.UNDISPUTED,
        invoice_id=invoice.id,
        account_id=invoice.account_id,
        on=today(clock, time_zone),
        at=clock.now(),
        by=by,
        note=optional_text(note, "note", 500),
    )
    await uow.dunning.add(event)
    return [*history, event]


async def waive_claim(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    invoice_id: uuid.UUID,
    level: int,
    by: str,
    note: str,
) -> list[DunningEvent]:
    """Finance waives what the invoice's notice of ``level`` claimed (fee, compensation,
    interest): a ``waived`` event with who and why, and the claim's booking turned round.
    Once per notice (``claim_already_waived``); a notice that claimed nothing has nothing to
    waive (``nothing_claimed``). Answers the invoice's dunning history."""
    invoice = await get_invoice(uow, invoice_id)
    history = (await uow.dunning.history([invoice.id]))[invoice.id]
    notice = next((n for n in notices_in(history) if n.level == level), None)
    if notice is None:
        raise NotFoundError(
            f"{invoice.number or invoice.id} got no notice of level {level}",
            code="dunning_notice_not_found",
        )
    if notice.claimed is None or notice.claimed.is_zero:
        raise ConflictError(
            f"the level {level} notice claimed nothing to waive", code="nothing_claimed"
        )
    already = ConflictError(
        f"the level {level} notice's claim is already waived", code="claim_already_waived"
    )
    if any(e.kind is DunningEventKind.WAIVED and e.level == level for e in history):
        raise already
    await _check_still_claimed(uow, notice)
    reason = optional_text(note, "note", 500)
    if reason is None:
        raise InvalidInputError("say why the claim is waived", code="note_required", field="note")
    waiver = waiver_of(notice, today(clock, time_zone), clock.now(), by, reason)
    if not await uow.dunning.add(waiver):  # another waiver of it was kept meanwhile
        raise already
    entry = claim_waived(notice, waiver)
    if entry is not None:
        await uow.ledger.add([entry], clock.now())
    return [*history, waiver]


async def _check_still_claimed(uow: UnitOfWork, notice: DunningEvent) -> None:
    """A claim the customer's credit already paid is given back as a refund, not waived: the
    account's open claims must cover this notice's."""
    claimed = notice.claimed
    if claimed is None or notice.account_id is None:
        return
    account = late_payment_receivable(notice.account_id)
    balances = await uow.ledger.balances(prefix=account)
    still_open = sum(
        (b.balance for b in balances if b.account == account and b.currency == claimed.currency),
        ZERO,
    )
    if still_open < claimed.amount:
        raise ConflictError(
            f"only {still_open} {claimed.currency} of the account's claims is still open: "
            "what was paid is refunded, not waived",
            code="claim_paid",
        )


async def dunning_history(
    uow: UnitOfWork, principal: Principal, invoice_id: uuid.UUID
) -> list[DunningEvent]:
    """An invoice's notices and disputes, oldest first (drivers and fleet managers: their
    own account's invoices only)."""
    invoice = await visible_invoice(uow, principal, invoice_id)
    return (await uow.dunning.history([invoice.id]))[invoice.id]


async def history_by_reference(
    uow: UnitOfWork, reference: str
) -> tuple[Invoice, list[DunningEvent]]:
    """An invoice named by number or id, with its dunning history (the command line)."""
    invoice = await find_invoice(uow, reference)
    return invoice, (await uow.dunning.history([invoice.id]))[invoice.id]
