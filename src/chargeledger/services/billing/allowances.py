"""An OEM bundle's pre-paid allowance (issue 14): sold to the car maker once, drawn by its
buyers' sessions, with the deferred revenue released per session in the ledger.

- **Sale**: an invoice to the car maker's account for the allowance's price, booked as a
  contract liability, not as revenue (``domain.contract_postings.allowance_sold_entry``:
  IFRS 15.106; the VAT of the sale is due on it, Directive 2006/112/EC art. 30b(1) / 65).
  Once per contract (``contract_billings`` kind ``allowance_sold``).
- **Draw**: when a covered driver's postpaid session is charged, the allowance left covers it
  (kWh, or net money) up to what is left; the driver's charge keeps only the part beyond it,
  and the deferred revenue the draw releases (the sale price's share of the allowance drawn,
  ``deferred_release``) is booked as charging revenue (``allowance_drawn_entry``). A session is
  drawn once (``allowance_draws`` is unique per session). Sessions paid at the station (card,
  app, wallet) were paid at the price before any draw and draw nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from chargeledger.domain.billing import Charge, ComponentAmount, VatRates, supply_vat
from chargeledger.domain.charging import Session
from chargeledger.domain.contract_money import draw
from chargeledger.domain.contract_postings import (
    allowance_drawn_entry,
    allowance_sold_entry,
    deferred_release,
    drawn_components,
)
from chargeledger.domain.contract_records import AllowanceDraw, ContractBilling
from chargeledger.domain.contract_terms import AllowanceUnit
from chargeledger.domain.contracts import ContractType, version_on
from chargeledger.domain.invoicing import DocumentKind, Invoice, InvoiceLine, Party
from chargeledger.domain.ledger import JournalEntry, contract_liability
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.text import quantity_text
from chargeledger.errors import ConflictError, NotFoundError
from chargeledger.money import ZERO, Money
from chargeledger.services.billing.document_notices import announce_issued
from chargeledger.services.billing.invoice_drafts import buyer_of
from chargeledger.services.billing.invoicing import issue_all, today
from chargeledger.services.contracts.records import get_contract, terms_of
from chargeledger.services.ports import Clock, UnitOfWork

ALLOWANCE_SOLD = "allowance_sold"


async def sell_allowance(
    uow: UnitOfWork,
    clock: Clock,
    seller: Party,
    time_zone: str,
    rates: VatRates,
    contract_id: uuid.UUID,
) -> Invoice:
    """Invoice the car maker for the allowance of its signed OEM bundle (the terms valid on
    its start); selling it again answers the first invoice."""
    record = await get_contract(uow, contract_id)
    if record.contract.kind is not ContractType.OEM_BUNDLE:
        raise ConflictError(
            f"contract {record.number} is not an OEM bundle", code="not_an_oem_bundle"
        )
    if not record.contract.signed or record.account_id is None:
        raise ConflictError(f"contract {record.number} is not signed", code="contract_unsigned")
    # Two requests at once: the second waits here and then finds the first one's invoice.
    await uow.ledger.hold_account(contract_liability(record.id))
    sold = await uow.contracts.billings(record.id, ALLOWANCE_SOLD)
    if sold and sold[0].invoice_id is not None:
        existing = await uow.billing.get_invoice(sold[0].invoice_id)
        if existing is not None:
            return existing
    versions = await uow.contracts.versions(record.id)
    first = version_on([v.version for v in versions], record.contract.start)
    version = next(v for v in versions if first and v.version.number == first.number)
    allowance = terms_of(version, record).allowance
    if allowance is None:
        raise ConflictError(f"contract {record.number} has no allowance", code="no_allowance")
    account = await uow.accounts.get(record.account_id)
    if account is None:
        raise NotFoundError(f"account {record.account_id} not found", code="account_not_found")
    day = today(clock, time_zone)
    vat = supply_vat(rates, seller.country, time_zone, clock.now(), account)
    size = (
        quantity_text(allowance.amount, "kWh")
        if allowance.unit is AllowanceUnit.KWH
        else f"{allowance.amount} {record.currency.code}"
    )
    line = InvoiceLine(
        position=1,
        description=f"Charging allowance of {size} for the drivers of contract {record.number}",
        net=allowance.sale_price,
        vat_category=vat.category,
        vat_percent=vat.percent,
        components=(ComponentAmount("Fixed", allowance.sale_price),),
        country=seller.country,
    )
    draft = Invoice(
        kind=DocumentKind.INVOICE,
        account_id=account.id,
        seller=seller,
        buyer=buyer_of(account),
        currency=record.currency,
        period_start=day,
        period_end=day + timedelta(days=1),
        lines=(line,),
        payment_terms_days=account.payment_terms_days,
        vat_note=vat.note,
        run_key=f"allowance:{record.id}",
    )
    (document,) = await issue_all(uow, clock, [draft], day)
    now = clock.now()
    await uow.billing.add_invoices([document], now)
    entry = allowance_sold_entry(
        record.id,
        account.id,
        document.net_total,
        document.tax_total,
        seller.country,
        record.currency,
        day,
        str(document.id),
    )
    await uow.ledger.add([entry], now)
    await uow.contracts.add_billing(
        ContractBilling(
            record.id,
            ALLOWANCE_SOLD,
            record.contract.start,
            record.contract.end or record.contract.start,
            document.net_total,
            record.currency,
            document.id,
            created_at=now,
        )
    )
    await announce_issued(uow, clock, [document])
    return document


async def draw_allowance(
    uow: UnitOfWork, session: Session, charge: Charge, booked_on: date
) -> tuple[Charge, JournalEntry | None]:
    """The charge a covered postpaid session keeps after its draw on the allowance, and the
    entry releasing the deferred revenue drawn (none when nothing was drawn)."""
    if session.contract_version_id is None or session.payment_route is not PaymentRoute.INVOICE:
        return charge, None
    found = (await uow.contracts.versions_by_id([session.contract_version_id])).get(
        session.contract_version_id
    )
    record = None if found is None else await uow.contracts.get(found.contract_id)
    if found is None or record is None or record.contract.kind is not ContractType.OEM_BUNDLE:
        return charge, None
    sold = await uow.contracts.billings(record.id, ALLOWANCE_SOLD)
    allowance = terms_of(found, record).allowance
    if allowance is None or not sold or charge.currency != record.currency:
        return charge, None
    wanted = charge.energy_kwh if allowance.unit is AllowanceUnit.KWH else charge.net
    # Two charging runs at once must not both spend what is left: the draw reads the
    # allowance drawn and books against it as one step (DESIGN §2).
    await uow.ledger.hold_account(contract_liability(record.id))
    before = await uow.contracts.drawn(record.id)
    taken = draw(max(allowance.amount - before, ZERO), wanted)
    if not taken.covered or not wanted:
        return charge, None
    released = deferred_release(
        sold[0].amount, allowance.amount, before, taken.covered, record.currency
    )
    kept = _beyond(charge, taken.beyond / wanted)
    await uow.contracts.add_draw(
        AllowanceDraw(
            record.id,
            session.id,
            allowance.unit.value,
            taken.covered,
            released,
            record.currency,
            drawn_at=charge.stopped_at,
        )
    )
    components = drawn_components(charge.components, released, record.currency)
    entry = allowance_drawn_entry(
        record.id, components, record.currency, booked_on, str(charge.id), source_type="draw"
    )
    return kept, entry if released else None


def _beyond(charge: Charge, share: Decimal) -> Charge:
    """The charge for the part of the session beyond the allowance: each component's net
    times ``share``, the total rounded half-up once and spread by the largest remainder."""
    currency = charge.currency
    total = Money(sum((a for _, a in charge.components), ZERO) * share, currency).round()
    weights = [max(a, ZERO) for _, a in charge.components]
    if not sum(weights) or not total.amount:
        parts = [ZERO] * len(charge.components)
    else:
        parts = [p.amount for p in total.allocate(weights)]
    components = tuple(
        ComponentAmount(name, part)
        for (name, _), part in zip(charge.components, parts, strict=True)
    )
    return replace(charge, components=components)
