"""A contract's lines on its account's period invoice (issue 14): volume-tier adjustment,
fixed fees and the minimum-commitment shortfall (``domain.contract_lines`` decides them).

The contract is the account's own (a fleet, an employer or a utility whose counterparty the
account is), signed and running on some day of the period; its period terms are those of the
version valid on the last day of the period it covers. Only calendar-month periods take
monthly fees and commitments (a weekly or quarterly account's contract lines would need a
rule for partial months that no contract here states yet). A month the account charged
nothing in still gets an invoice when the contract bills fees or a commitment.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chargeledger.domain.accounts import Account, TokenStatus
from chargeledger.domain.billing import Charge, VatRates, supply_vat
from chargeledger.domain.contract_lines import PeriodUse, VatGroup, contract_lines
from chargeledger.domain.contract_money import prorated_commitment
from chargeledger.domain.contract_records import ContractRecord, StoredVersion
from chargeledger.domain.contract_terms import FeeBasis, Terms
from chargeledger.domain.contracts import ContractType, covers, version_on
from chargeledger.domain.invoicing import DocumentKind, Invoice, Layout, Party
from chargeledger.services.contracts.records import terms_of
from chargeledger.services.ports import UnitOfWork

# Contracts whose counterparty is the invoiced account and whose terms bill its periods.
BILLING_CONTRACTS = frozenset({ContractType.FLEET, ContractType.EMPLOYER, ContractType.UTILITY})


@dataclass(frozen=True, slots=True)
class PeriodContract:
    record: ContractRecord
    version: StoredVersion
    terms: Terms
    days: list[date]  # the days of the period the contract covers


async def period_contract(
    uow: UnitOfWork, account: Account, period: tuple[date, date]
) -> PeriodContract | None:
    """The account's billing contract for ``period`` (see the module docstring), if any."""
    days = [period[0] + timedelta(days=n) for n in range((period[1] - period[0]).days)]
    for record in await uow.contracts.covering(account.id):
        if record.account_id != account.id or record.contract.kind not in BILLING_CONTRACTS:
            continue
        covered = [d for d in days if covers(record.contract, d)]
        if not covered:
            continue
        versions = await uow.contracts.versions(record.id)
        found = version_on([v.version for v in versions], covered[-1])
        if found is None:
            continue
        version = next(v for v in versions if v.version.number == found.number)
        return PeriodContract(record, version, terms_of(version, record), covered)
    return None


def _is_month(period: tuple[date, date]) -> bool:
    start, end = period
    last = calendar.monthrange(start.year, start.month)[1]
    return start.day == 1 and end == start + timedelta(days=last)


async def with_contract_lines(
    uow: UnitOfWork,
    account: Account,
    period: tuple[date, date],
    draft: Invoice | None,
    charges: Sequence[Charge],
    *,
    seller: Party,
    buyer: Party,
    time_zone: str,
    rates: VatRates,
    run_key: str,
    layout: Layout,
) -> Invoice | None:
    """``draft`` (the period's charges, or None when there were none) with the contract's
    lines added; None when there is nothing to bill at all."""
    found = await period_contract(uow, account, period)
    if found is None or found.record.currency != account.currency:
        return draft
    terms, days = found.terms, found.days
    if draft is not None and draft.currency != found.record.currency:
        return draft
    covered = [c for c in charges if covers(found.record.contract, c.local_start.date())]
    monthly = _is_month(period)
    commitment = None
    if monthly and terms.monthly_commitment is not None:
        total = (period[1] - period[0]).days
        commitment = prorated_commitment(
            terms.monthly_commitment, len(days), total, account.currency
        )
    use = PeriodUse(
        charges=covered,
        counts=await _counts(uow, found, account) if monthly else {},
        commitment=commitment,
        fallback=_fallback(rates, seller, time_zone, days[-1], account),
    )
    first = len(draft.lines) + 1 if draft is not None else 1
    extra = contract_lines(terms, found.record.number, use, first, account.currency)
    if not extra and draft is None:
        return None
    if draft is None:
        draft = Invoice(
            kind=DocumentKind.INVOICE,
            account_id=account.id,
            seller=seller,
            buyer=buyer,
            currency=account.currency,
            period_start=period[0],
            period_end=period[1],
            lines=(),
            layout=layout,
            payment_terms_days=account.payment_terms_days,
            run_key=run_key,
            vat_note=use.fallback.note,
        )
    terms_days = terms.payment_terms_days
    cards = await _cards(uow, charges) if terms.annex is not None else {}
    lines = tuple(
        replace(
            line,
            cost_centre=terms.cost_centre,
            driver=None if line.session_id is None else cards.get(line.session_id),
        )
        for line in draft.lines + extra
    )
    return replace(
        draft,
        lines=lines,
        annex=None if terms.annex is None else terms.annex.value,
        payment_terms_days=draft.payment_terms_days if terms_days is None else terms_days,
        purchase_order=terms.purchase_order,
        contract_reference=found.record.number,
    )


async def _cards(uow: UnitOfWork, charges: Sequence[Charge]) -> dict[uuid.UUID, str]:
    """Each session's card as the annex names it: its label, else its number."""
    found: dict[uuid.UUID, str] = {}
    for charge in charges:
        session = await uow.sessions.get(charge.session_id)
        if session is None:
            continue
        token = await uow.tokens.get_by_uid(session.id_tag) if session.id_tag else None
        found[session.id] = (token.label if token and token.label else None) or (
            session.id_tag or "unknown card"
        )
    return found


async def _counts(uow: UnitOfWork, found: PeriodContract, account: Account) -> dict[FeeBasis, int]:
    """Per card: the account's active tokens; per vehicle: the same (a fleet card per
    vehicle, until vehicles are recorded); per site: the contract's sites; flat: once."""
    tokens = await uow.tokens.list(
        account_id=account.id, status=TokenStatus.ACTIVE, limit=10_000, offset=0
    )
    active = len(tokens.items)
    sites = len(await uow.contracts.covered_sites(found.record.id))
    return {
        FeeBasis.PER_CARD: active,
        FeeBasis.PER_VEHICLE: active,
        FeeBasis.PER_SITE: sites,
        FeeBasis.FLAT: 1,
    }


def _fallback(
    rates: VatRates, seller: Party, time_zone: str, day: date, account: Account
) -> VatGroup:
    """The VAT of a fee in a period without charges: the operator's country's, for this
    buyer (reverse charge for a business elsewhere in the EU)."""
    vat = supply_vat(rates, seller.country, time_zone, _noon(day, time_zone), account)
    return VatGroup(vat.category, vat.percent, seller.country, vat.note)


def _noon(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(time_zone))
