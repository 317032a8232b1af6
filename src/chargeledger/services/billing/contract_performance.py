"""A contract's performance per month (issue 14): gathers what the books hold and hands it
to ``domain.contract_performance``, which says what each figure means.

Which sessions are the contract's: those priced under one of its versions (frozen on the
session at its start, ``services.contracts.pricing``) for the contracts that price sessions,
and those at its sites for a site host's (whose sessions are priced by the site's tariff).
A month holds the sessions whose local start date at their site falls in it, as the period
invoices take them (``services.billing.invoicing``). Only reads; run it with ``reading``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from chargeledger.domain.billing import Charge, VatRates
from chargeledger.domain.contract_money import prorated_commitment
from chargeledger.domain.contract_performance import (
    EnergyPrice,
    MonthFigures,
    PerformanceReport,
    months_between,
    next_month,
    performance_report,
)
from chargeledger.domain.contract_records import ContractRecord, StoredVersion
from chargeledger.domain.contracts import ContractType, covers, version_on
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice
from chargeledger.money import ZERO
from chargeledger.services.billing.contract_billing import BILLING_CONTRACTS
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.contracts.pricing import price_book
from chargeledger.services.contracts.records import ContractView, terms_of, visible_contract
from chargeledger.services.ports import UnitOfWork

REVENUE_SHARE = "revenue_share"  # the kind of a site host's settlement in contract_billings
# Every time zone's day is within a day of UTC's: the widened window a month's local dates fit.
_SLACK = timedelta(days=1)


async def contract_performance(
    uow: UnitOfWork,
    principal: Principal,
    contract_id: uuid.UUID,
    first_month: date,
    last_month: date,
    rates: VatRates,
    energy_cost: EnergyPrice | None,
) -> PerformanceReport:
    """One row per month from ``first_month`` to ``last_month`` (at most 36) and their
    total. A fleet manager reads their own account's contracts only (``visible_contract``:
    anyone else's is ``contract_not_found``)."""
    months = months_between(first_month, last_month)
    view = await visible_contract(uow, principal, contract_id, months[-1])
    record = view.record
    invoices = await _period_invoices(uow, record)
    figures = [await _month(uow, view, month, invoices, rates) for month in months]
    return performance_report(
        str(record.id), record.contract.number, record.currency, figures, energy_cost
    )


def _window(month: date) -> tuple[datetime, datetime]:
    start = datetime.combine(month, time(0), UTC) - _SLACK
    return start, datetime.combine(next_month(month), time(0), UTC) + _SLACK


async def _month(
    uow: UnitOfWork,
    view: ContractView,
    month: date,
    invoices: dict[date, Invoice],
    rates: VatRates,
) -> MonthFigures:
    record = view.record
    at_sites = record.contract.kind is ContractType.SITE_HOST
    read = uow.contracts.charges_at_sites if at_sites else uow.contracts.charges_under
    charges = [
        c
        for c in await read(record.id, *_window(month))
        if month <= c.local_start.date() < next_month(month) and c.currency == record.currency
    ]
    charged = sum((c.net for c in charges), ZERO)
    invoice = invoices.get(month)
    lines = () if invoice is None else tuple(_contract_lines(invoice))
    shares = await uow.contracts.billings_between(
        record.id, REVENUE_SHARE, month, next_month(month)
    )
    return MonthFigures(
        month=month,
        sessions=len(charges),
        energy_kwh=sum((c.energy_kwh for c in charges), ZERO),
        charged_net=charged,
        list_net=charged + await _discount(uow, view, charges, rates),
        contract_lines=lines,
        commitment=_commitment(record, view.versions, month),
        revenue_share=sum((s.amount for s in shares if s.currency == record.currency), ZERO),
    )


def _contract_lines(invoice: Invoice) -> list[tuple[str, Decimal]]:
    """The lines a contract added (they bill no charge: ``domain.contract_lines``)."""
    return [(line.description, line.net) for line in invoice.lines if line.charge_id is None]


async def _period_invoices(uow: UnitOfWork, record: ContractRecord) -> dict[date, Invoice]:
    """The issued monthly invoices of the contract's own account (the counterparty its lines
    are billed to), by the first day of their period."""
    if record.account_id is None or record.contract.kind not in BILLING_CONTRACTS:
        return {}
    criteria = InvoiceFilter(
        account_id=record.account_id, kind=DocumentKind.INVOICE, status=DocumentStatus.ISSUED
    )
    found: dict[date, Invoice] = {}
    offset: int | None = 0
    while offset is not None:
        page = await uow.billing.list_invoices(criteria, limit=500, offset=offset)
        for invoice in page.items:
            start = invoice.period_start
            monthly = start.day == 1 and invoice.period_end == next_month(start)
            if monthly and invoice.currency == record.currency:
                found[start] = invoice
        offset = page.next_offset
    return found


async def _discount(
    uow: UnitOfWork, view: ContractView, charges: Sequence[Charge], rates: VatRates
) -> Decimal:
    """What the sessions' list price exceeds what they were charged, net: each session
    priced again by the one pricing path (``price_captured_session``) as if no contract
    version were frozen on it, so ``price()`` runs over its own tariff snapshot. Sessions
    under a version without a discount book paid the list price (a tariff override is
    their snapshot: its price is the list price they were offered)."""
    discounting = {v.id for v in view.versions if _discounts(view.record, v)}
    total = ZERO
    for charge in charges:
        session = await uow.sessions.get(charge.session_id)
        if session is None or session.contract_version_id not in discounting:
            continue
        listed = await price_captured_session(
            uow, replace(session, contract_version_id=None), rates
        )
        total += listed.billed.net - charge.net
    return total


def _discounts(record: ContractRecord, version: StoredVersion) -> bool:
    book = price_book(record, version)
    return book is not None and book.discount is not None


def _commitment(
    record: ContractRecord, versions: Sequence[StoredVersion], month: date
) -> Decimal | None:
    """The month's minimum commitment, prorated by the days the contract covers in it, under
    the version valid on the last of them (as ``contract_billing`` bills it); None when the
    contract commits to nothing that month or is not billed per month."""
    if record.contract.kind not in BILLING_CONTRACTS:
        return None
    total = (next_month(month) - month).days
    days = [month + timedelta(days=n) for n in range(total)]
    covered = [d for d in days if covers(record.contract, d)]
    found = version_on([v.version for v in versions], covered[-1]) if covered else None
    if found is None:
        return None
    version = next(v for v in versions if v.version.number == found.number)
    commitment = terms_of(version, record).monthly_commitment
    if commitment is None:
        return None
    return prorated_commitment(commitment, len(covered), total, record.currency)
