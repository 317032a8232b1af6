"""Re-pricings of charged sessions (issue 15): append-only rows, the corrections that wait for
an invoice (on no invoice line yet), and which document billed a charge."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import (
    billed_charges,
    invoice_lines,
    invoices,
    repricings,
)
from chargeledger.adapters.db.repositories.base import chunks
from chargeledger.adapters.db.repositories.billing_rows import money_value, percent_value
from chargeledger.domain.billing import (
    COMPONENTS,
    Billed,
    ComponentAmount,
    VatCategory,
    VatTreatment,
)
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.repricing import PricedAs, Repricing, RepricingOutcome
from chargeledger.errors import ConflictError
from chargeledger.money import Currency


def _components(billed: Billed) -> dict[str, str]:
    return {name: str(amount) for name, amount in billed.components}


def repricing_row(r: Repricing) -> dict[str, Any]:
    before, after, vat = r.before, r.after, r.after.billed.vat
    return {
        "id": r.id,
        "session_id": r.session_id,
        "charge_id": r.charge_id,
        "sequence": r.sequence,
        "request_key": r.request_key,
        "account_id": r.account_id,
        "currency": r.currency.code,
        "country": r.country,
        "vat_category": vat.category.value,
        "vat_percent": vat.percent,
        "vat_note": vat.note,
        "before_tariff_id": before.tariff_id,
        "before_meter_start_wh": before.meter_start_wh,
        "before_meter_stop_wh": before.meter_stop_wh,
        "before_energy_kwh": before.energy_kwh,
        "before_components": _components(before.billed),
        "tariff_id": after.tariff_id,
        "meter_start_wh": after.meter_start_wh,
        "meter_stop_wh": after.meter_stop_wh,
        "energy_kwh": after.energy_kwh,
        "components": _components(after.billed),
        "outcome": r.outcome.value,
        "amount": r.amount,
        "owed_after": r.owed_after,
        "credit_note_id": r.credit_note_id,
        "payment_id": r.payment_id,
        "reason": r.reason,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "booked_on": r.booked_on,
    }


def _billed(stored: dict[str, str], currency: Currency, vat: VatTreatment) -> Billed:
    nets = {name: money_value(Decimal(value), currency) for name, value in stored.items()}
    return Billed(currency, tuple(ComponentAmount(name, nets[name]) for name in COMPONENTS), vat)


def _plain(value: Decimal) -> Decimal:
    """Readings and quantities without the column's trailing zeros (``12500.000`` back as
    ``12500``, ``60.000000`` as ``60``)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def repricing_of(row: RowMapping) -> Repricing:
    currency = Currency.of(row["currency"])
    vat = VatTreatment(
        VatCategory(row["vat_category"]), percent_value(row["vat_percent"]), row["vat_note"]
    )
    return Repricing(
        session_id=row["session_id"],
        charge_id=row["charge_id"],
        sequence=row["sequence"],
        account_id=row["account_id"],
        country=row["country"],
        before=PricedAs(
            row["before_tariff_id"],
            _plain(row["before_meter_start_wh"]),
            _plain(row["before_meter_stop_wh"]),
            _plain(row["before_energy_kwh"]),
            _billed(row["before_components"], currency, vat),
        ),
        after=PricedAs(
            row["tariff_id"],
            _plain(row["meter_start_wh"]),
            _plain(row["meter_stop_wh"]),
            _plain(row["energy_kwh"]),
            _billed(row["components"], currency, vat),
        ),
        outcome=RepricingOutcome(row["outcome"]),
        amount=money_value(row["amount"], currency),
        owed_after=money_value(row["owed_after"], currency),
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        booked_on=row["booked_on"],
        request_key=row["request_key"],
        credit_note_id=row["credit_note_id"],
        payment_id=row["payment_id"],
        id=row["id"],
    )


# A correction's line on a document that bills (not on a credit note).
_BILLING_LINES = (
    select(invoice_lines.c.repricing_id, invoice_lines.c.invoice_id)
    .join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
    .where(invoices.c.kind != DocumentKind.CREDIT_NOTE.value)
)


class SqlRepricingRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, repricing: Repricing) -> None:
        try:
            async with self._connection.begin_nested():
                await self._connection.execute(insert(repricings), [repricing_row(repricing)])
        except IntegrityError as exc:
            raise ConflictError(
                "the session was re-priced meanwhile: look at its re-pricings and try again",
                code="repricing_in_progress",
            ) from exc

    async def of_session(self, session_id: uuid.UUID) -> list[Repricing]:
        query = (
            select(repricings)
            .where(repricings.c.session_id == session_id)
            .order_by(repricings.c.sequence)
        )
        return [repricing_of(row) for row in (await self._connection.execute(query)).mappings()]

    async def by_request_key(self, key: str) -> Repricing | None:
        query = select(repricings).where(repricings.c.request_key == key)
        row = (await self._connection.execute(query)).mappings().one_or_none()
        return None if row is None else repricing_of(row)

    async def with_ids(self, ids: Collection[uuid.UUID]) -> list[Repricing]:
        found: list[Repricing] = []
        for chunk in chunks(ids):
            query = select(repricings).where(repricings.c.id.in_(chunk))
            found += [repricing_of(r) for r in (await self._connection.execute(query)).mappings()]
        return found

    async def unbilled(self, account_ids: Sequence[uuid.UUID] | None) -> list[Repricing]:
        billed = _BILLING_LINES.subquery()
        query = (
            select(repricings)
            .outerjoin(billed, billed.c.repricing_id == repricings.c.id)
            .where(
                repricings.c.outcome == RepricingOutcome.NEXT_INVOICE.value,
                billed.c.invoice_id.is_(None),
            )
            .order_by(repricings.c.created_at, repricings.c.session_id, repricings.c.sequence)
        )
        if account_ids is None:
            rows = await self._connection.execute(query)
            return [repricing_of(r) for r in rows.mappings()]
        found: list[Repricing] = []
        for chunk in chunks(account_ids):
            rows = await self._connection.execute(query.where(repricings.c.account_id.in_(chunk)))
            found += [repricing_of(r) for r in rows.mappings()]
        return found

    async def billed_on(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        found: dict[uuid.UUID, uuid.UUID] = {}
        for chunk in chunks(ids):
            query = _BILLING_LINES.where(invoice_lines.c.repricing_id.in_(chunk))
            found |= {
                row.repricing_id: row.invoice_id for row in await self._connection.execute(query)
            }
        return found

    async def billing_document(self, charge_id: uuid.UUID) -> uuid.UUID | None:
        query = select(billed_charges.c.invoice_id).where(billed_charges.c.charge_id == charge_id)
        found: uuid.UUID | None = (await self._connection.execute(query)).scalar_one_or_none()
        return found
