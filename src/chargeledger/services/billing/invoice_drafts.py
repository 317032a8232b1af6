"""The drafts of an invoice run (issue 5): which postpaid accounts, which periods of their
cycle, which unbilled charges (late ones included) and re-pricings' corrections (issue 15), one
draft per (account, period, currency), with the lines their contract adds (issue 14). Nothing
is stored here: the run numbers, stores and books the drafts (``invoicing.run_invoices``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chargeledger.domain.accounts import Account, BillingMode
from chargeledger.domain.billing import Charge, VatRates
from chargeledger.domain.billing_periods import Period, period_containing, periods_within
from chargeledger.domain.charge_documents import by_currency, charges_document
from chargeledger.domain.invoicing import DocumentKind, Invoice, Layout, Party
from chargeledger.domain.repricing import Repricing
from chargeledger.domain.repricing_documents import correction_line
from chargeledger.services.billing.contract_billing import with_contract_lines
from chargeledger.services.ports import UnitOfWork

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_midnight(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)


def buyer_of(account: Account) -> Party:
    address = account.billing_address
    return Party(
        name=account.name,
        street=address.street,
        postal_code=address.postal_code,
        city=address.city,
        country=address.country,
        vat_id=account.vat_id,
        email=account.email,
    )


def run_key(account: Account, period: tuple[date, date], currency: str) -> str:
    """One invoice per (account, period, currency). The account's own currency keeps the key
    it always had, so periods invoiced before are still recognised; charges in another
    currency (a site priced in it) get their own invoice under a key naming it."""
    key = f"invoice:{account.id}:{period[0].isoformat()}:{period[1].isoformat()}"
    return key if currency == account.currency.code else f"{key}:{currency}"


async def late_charges(
    uow: UnitOfWork,
    accounts: Sequence[Account],
    periods: dict[uuid.UUID, list[Period]],
    by_account: dict[uuid.UUID, list[Charge]],
) -> set[uuid.UUID]:
    """Unbilled charges from before this run's periods whose own period was invoiced already:
    they missed their invoice and go on this one. Charges of a period never invoiced wait for
    that period's run."""
    earlier: dict[str, list[uuid.UUID]] = defaultdict(list)
    for account in accounts:
        if not periods[account.id]:
            continue
        first = periods[account.id][0][0]
        for charge in by_account[account.id]:
            day = charge.local_start.date()
            if day < first:
                own = period_containing(account.billing_cycle, day)
                earlier[run_key(account, own, charge.currency)].append(charge.id)
    invoiced = await uow.billing.run_keys(list(earlier))
    return {charge_id for key in invoiced for charge_id in earlier[key]}


@dataclass(frozen=True, slots=True)
class Corrections:
    """Re-pricings' corrections waiting for an invoice (issue 15, ``domain.repricing``), with
    the charges they correct, and the ids of the charges not billed yet. A correction goes on
    the invoice of its charge when that is not billed yet (so the customer is invoiced the new
    price at once), else on the period of its session, or on the first period of the run when
    its session's period is past (like a late charge)."""

    waiting_by_account: dict[uuid.UUID, list[Repricing]]
    charges: dict[uuid.UUID, Charge]
    unbilled: set[uuid.UUID]

    @classmethod
    async def waiting(
        cls, uow: UnitOfWork, accounts: Sequence[Account], unbilled: Sequence[Charge]
    ) -> Corrections:
        found = await uow.repricings.unbilled([a.id for a in accounts])
        charges = await uow.billing.charges_with_ids({r.charge_id for r in found})
        by_account: dict[uuid.UUID, list[Repricing]] = defaultdict(list)
        for repricing in found:
            if repricing.account_id is not None:
                by_account[repricing.account_id].append(repricing)
        return cls(by_account, {c.id: c for c in charges}, {c.id for c in unbilled})

    def billed_with(
        self, account: Account, period: Period, first: bool, billed: Sequence[Charge]
    ) -> list[Repricing]:
        with_charges = {c.id for c in billed}
        fixes = []
        for repricing in self.waiting_by_account.get(account.id, []):
            if repricing.charge_id in with_charges:
                fixes.append(repricing)
            elif repricing.charge_id not in self.unbilled:
                day = self.charges[repricing.charge_id].local_start.date()
                if period[0] <= day < period[1] or (first and day < period[0]):
                    fixes.append(repricing)
        return fixes

    def added_to(self, draft: Invoice, fixes: Sequence[Repricing]) -> Invoice:
        """``draft`` with a line per correction after its own (their VAT note, a reverse
        charge's, when it has none)."""
        first = len(draft.lines) + 1
        lines = tuple(
            correction_line(position, fix, self.charges[fix.charge_id])
            for position, fix in enumerate(fixes, first)
        )
        notes = (self.charges[f.charge_id].vat.note for f in fixes)
        note = draft.vat_note or next((n for n in notes if n), None)
        return replace(draft, lines=draft.lines + lines, vat_note=note)


async def postpaid_accounts(uow: UnitOfWork) -> list[Account]:
    found: list[Account] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.accounts.list(
            kind=None, only_id=None, search=None, limit=1000, offset=offset
        )
        found += [a for a in page.items if a.billing_mode is BillingMode.POSTPAID]
        offset = page.next_offset
    return found


async def period_drafts(
    uow: UnitOfWork,
    accounts: Sequence[Account],
    month: tuple[date, date],
    seller: Party,
    time_zone: str,
    layout: Layout,
    rates: VatRates,
) -> tuple[list[Invoice], int]:
    periods = {a.id: periods_within(a.billing_cycle, *month) for a in accounts}
    ends = [p[1] for ps in periods.values() for p in ps] or [month[1]]
    # Every unbilled charge before the last period's end, for the late ones: a charge whose own
    # period was already invoiced (released from quarantine after the run, say) goes on the
    # account's next invoice. Local dates of sites anywhere on Earth lie within a day of the
    # operator's.
    window = (EPOCH, utc_midnight(max(ends), time_zone) + timedelta(days=1))
    pending = await uow.billing.unbilled_charges(*window, account_ids=[a.id for a in accounts])
    by_account: dict[uuid.UUID, list[Charge]] = defaultdict(list)
    for charge in pending:
        if charge.account_id is not None:
            by_account[charge.account_id].append(charge)
    late = await late_charges(uow, accounts, periods, by_account)
    # Only accounts a contract names can have contract lines: one query for the batch
    # instead of one per account (issue 17).
    under_contract = await uow.billing.accounts_under_contract([a.id for a in accounts])
    corrections = await Corrections.waiting(uow, accounts, pending)
    # (account, period, run key, its charges, its corrections): one invoice per currency
    batches: list[tuple[Account, Period, str, list[Charge], list[Repricing]]] = []
    for account in accounts:
        for index, period in enumerate(periods[account.id]):
            billed = [
                c
                for c in by_account[account.id]
                if period[0] <= c.local_start.date() < period[1] or (index == 0 and c.id in late)
            ]
            fixes = corrections.billed_with(account, period, index == 0, billed)
            charged = by_currency(billed)
            for currency in dict.fromkeys([*charged, *(r.currency.code for r in fixes)]):
                key = run_key(account, period, currency)
                mine = [r for r in fixes if r.currency == currency]
                batches.append((account, period, key, charged.get(currency, []), mine))
    # The (account, period) pairs a previous run billed (in the account's own currency, or
    # in any currency this run would bill again) count as done.
    pairs = [(a, p) for a in accounts for p in periods[a.id]]
    own = [run_key(a, p, a.currency.code) for a, p in pairs]
    done = await uow.billing.run_keys(list(dict.fromkeys([*own, *(b[2] for b in batches)])))
    # A period of no charges may still owe a contract's fees or commitment (issue 14).
    batched = {key for _, _, key, _, _ in batches}
    batches += [
        (a, p, k, [], []) for a, p in pairs if (k := run_key(a, p, a.currency.code)) not in batched
    ]
    drafts = []
    for account, period, key, charges, fixes in batches:
        if key in done:
            continue
        buyer = buyer_of(account)
        draft = None
        if charges:
            draft = charges_document(
                DocumentKind.INVOICE,
                charges,
                account_id=account.id,
                seller=seller,
                buyer=buyer,
                period=period,
                run_key=key,
                layout=layout,
                payment_terms_days=account.payment_terms_days,
            )
        if fixes:
            empty = Invoice(
                kind=DocumentKind.INVOICE,
                account_id=account.id,
                seller=seller,
                buyer=buyer,
                currency=fixes[0].currency,
                period_start=period[0],
                period_end=period[1],
                lines=(),
                layout=layout,
                payment_terms_days=account.payment_terms_days,
                run_key=key,
            )
            draft = corrections.added_to(draft or empty, fixes)
        if account.id not in under_contract:
            if draft is not None:
                drafts.append(draft)
            continue
        draft = await with_contract_lines(
            uow,
            account,
            period,
            draft,
            charges,
            seller=seller,
            buyer=buyer,
            time_zone=time_zone,
            rates=rates,
            run_key=key,
            layout=layout,
        )
        if draft is not None:
            drafts.append(draft)
    return drafts, len(done)
