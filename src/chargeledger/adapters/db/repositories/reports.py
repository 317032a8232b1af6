"""The queries of the reports (issue 13): open items, credit sales, revenue and cash movements.

Only reads. Open items use the same SQL as the invoice list's status filter
(``receivable_rows``), so the aging and the invoice list never disagree. Amounts are summed in
Python from exact values (SQLite's SUM of fixed-scale text is a float) or, for the journal, in
SQL over integer minor units.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import (
    charges,
    invoice_lines,
    invoices,
    journal_entries,
    postings,
    repricings,
)
from chargeledger.adapters.db.repositories.receivable_rows import open_invoices_query
from chargeledger.adapters.db.tables import accounts, sessions, tariffs
from chargeledger.domain.billing import COMPONENTS
from chargeledger.domain.cash_collections import BANK_ROOT, FEES_ACCOUNT, PSP_ROOT, CashMovement
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.reports import Dimension, IssuedDocument, OpenItem, RevenueSlice
from chargeledger.domain.repricing import RepricingOutcome
from chargeledger.domain.unbilled import Pending, PendingSessions
from chargeledger.money import ZERO, Currency, Money

_NETS = (
    charges.c.energy_net,
    charges.c.time_net,
    charges.c.parking_net,
    charges.c.fixed_net,
    charges.c.reservation_net,
)
_AMOUNT_SCALE, _KWH_SCALE, _WH_SCALE = 4, 6, 3  # the columns' scales
UNATTRIBUTED = ("", "unattributed")
AD_HOC = ("", "ad hoc")


def _exact(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _exact_sum(column: Any, scale: int) -> ColumnElement[Any]:
    """SUM of a fixed-scale decimal column as an integer of its smallest unit: exact on
    PostgreSQL (NUMERIC) and on SQLite (text, which a plain SUM would add up as floats; each
    value of at most 15 digits survives the one conversion and is rounded back exactly)."""
    scaled = func.round(column * literal_column(str(10**scale)))
    return func.coalesce(func.sum(cast(scaled, BigInteger)), 0)


def _unscaled(value: Any, scale: int) -> Decimal:
    return Decimal(int(value)).scaleb(-scale)


def _labels(row: Any, route: str | None) -> dict[Dimension, tuple[str, str]]:
    """The (key, label) of each dimension of a row naming a charge's place and payer."""
    method = PaymentRoute(route).method.value if route is not None else UNATTRIBUTED[1]
    return {
        Dimension.SITE: (str(row.site_id), row.site_name)
        if row.site_id is not None
        else UNATTRIBUTED,
        Dimension.STATION: (str(row.station_id), row.station_name)
        if row.station_id is not None
        else UNATTRIBUTED,
        Dimension.TARIFF: (row.tariff or "", row.tariff or "no tariff")
        if row.site_id is not None
        else UNATTRIBUTED,
        Dimension.METHOD: (method, method),
        Dimension.ACCOUNT: (str(row.account_id), row.account_name)
        if row.account_id is not None
        else AD_HOC,
    }


class SqlReportRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def open_items(
        self, account_id: uuid.UUID | None = None, as_of: date | None = None
    ) -> list[OpenItem]:
        query = open_invoices_query(as_of).add_columns(invoices.c.issue_date, invoices.c.due_date)
        if account_id is not None:
            query = query.where(invoices.c.account_id == account_id)
        found = []
        for row in await self._connection.execute(query):
            currency = Currency.of(row.currency)
            left = _exact(row.gross_total) - _exact(row.credited) - _exact(row.paid)
            left -= _exact(row.written_off)
            found.append(
                OpenItem(
                    invoice_id=row.id,
                    number=row.number,
                    account_id=row.account_id,
                    account_name=row.buyer.get("name", ""),
                    currency=currency,
                    issue_date=row.issue_date,
                    due_date=row.due_date,
                    outstanding=left.quantize(currency.quantum),
                )
            )
        return found

    async def credit_sales(
        self, start: date, end: date, account_id: uuid.UUID | None = None
    ) -> list[IssuedDocument]:
        original = invoices.alias("original")
        query = (
            select(invoices.c.kind, invoices.c.currency, invoices.c.gross_total)
            .select_from(invoices.outerjoin(original, original.c.id == invoices.c.original_id))
            .where(
                invoices.c.status == DocumentStatus.ISSUED.value,
                invoices.c.issue_date >= start,
                invoices.c.issue_date < end,
                or_(
                    invoices.c.kind == DocumentKind.INVOICE.value,
                    and_(
                        invoices.c.kind == DocumentKind.CREDIT_NOTE.value,
                        original.c.kind == DocumentKind.INVOICE.value,
                    ),
                ),
            )
        )
        if account_id is not None:
            query = query.where(invoices.c.account_id == account_id)
        return [
            IssuedDocument(
                Currency.of(row.currency),
                _exact(row.gross_total),
                row.kind == DocumentKind.CREDIT_NOTE.value,
            )
            for row in await self._connection.execute(query)
        ]

    async def charged(self, stopped_from: datetime, stopped_before: datetime) -> list[RevenueSlice]:
        groups = (
            charges.c.site_id,
            charges.c.site_name,
            charges.c.station_id,
            charges.c.station_name,
            tariffs.c.ocpi_id.label("tariff"),
            sessions.c.payment_route,
            charges.c.account_id,
            accounts.c.name.label("account_name"),
            charges.c.currency,
        )
        query = (
            select(
                *groups,
                func.count().label("sessions"),
                _exact_sum(charges.c.energy_kwh, _KWH_SCALE).label("energy"),
                *(_exact_sum(net, _AMOUNT_SCALE).label(f"net_{i}") for i, net in enumerate(_NETS)),
            )
            .select_from(
                charges.join(sessions, sessions.c.id == charges.c.session_id)
                .outerjoin(tariffs, tariffs.c.id == charges.c.tariff_id)
                .outerjoin(accounts, accounts.c.id == charges.c.account_id)
            )
            .where(charges.c.stopped_at >= stopped_from, charges.c.stopped_at < stopped_before)
            .group_by(*groups)
        )
        found = []
        for row in await self._connection.execute(query):
            currency = Currency.of(row.currency)
            nets = [_unscaled(getattr(row, f"net_{i}"), _AMOUNT_SCALE) for i in range(len(_NETS))]
            found.append(
                RevenueSlice(
                    labels=_labels(row, row.payment_route),
                    currency=currency,
                    sessions=int(row.sessions),
                    energy_kwh=_unscaled(row.energy, _KWH_SCALE),
                    components=tuple(nets),
                )
            )
        return found

    async def corrected(self, start: date, end: date) -> list[RevenueSlice]:
        query = (
            select(
                repricings.c.currency,
                repricings.c.before_components,
                repricings.c.components,
                repricings.c.before_energy_kwh,
                repricings.c.energy_kwh,
                charges.c.site_id,
                charges.c.site_name,
                charges.c.station_id,
                charges.c.station_name,
                tariffs.c.ocpi_id.label("tariff"),
                sessions.c.payment_route,
                charges.c.account_id,
                accounts.c.name.label("account_name"),
            )
            .select_from(
                repricings.join(charges, charges.c.id == repricings.c.charge_id)
                .join(sessions, sessions.c.id == charges.c.session_id)
                .outerjoin(tariffs, tariffs.c.id == charges.c.tariff_id)
                .outerjoin(accounts, accounts.c.id == charges.c.account_id)
            )
            .where(
                repricings.c.outcome == RepricingOutcome.NEXT_INVOICE.value,
                repricings.c.booked_on >= start,
                repricings.c.booked_on < end,
            )
        )
        found = []
        for row in await self._connection.execute(query):
            before, after = row.before_components, row.components
            found.append(
                RevenueSlice(
                    labels=_labels(row, row.payment_route),
                    currency=Currency.of(row.currency),
                    sessions=0,
                    energy_kwh=_exact(row.energy_kwh) - _exact(row.before_energy_kwh),
                    components=tuple(
                        Decimal(after[name]) - Decimal(before[name]) for name in COMPONENTS
                    ),
                )
            )
        return found

    async def credited(self, start: date, end: date) -> list[RevenueSlice]:
        query = (
            select(
                invoices.c.currency,
                invoice_lines.c.net,
                invoice_lines.c.components,
                charges.c.site_id,
                charges.c.site_name,
                charges.c.station_id,
                charges.c.station_name,
                tariffs.c.ocpi_id.label("tariff"),
                sessions.c.payment_route,
                invoices.c.account_id,
                accounts.c.name.label("account_name"),
            )
            .select_from(
                invoice_lines.join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
                .outerjoin(charges, charges.c.id == invoice_lines.c.charge_id)
                .outerjoin(sessions, sessions.c.id == charges.c.session_id)
                .outerjoin(tariffs, tariffs.c.id == charges.c.tariff_id)
                .outerjoin(accounts, accounts.c.id == invoices.c.account_id)
            )
            .where(
                invoices.c.kind == DocumentKind.CREDIT_NOTE.value,
                invoices.c.status == DocumentStatus.ISSUED.value,
                invoices.c.issue_date >= start,
                invoices.c.issue_date < end,
            )
        )
        found = []
        for row in await self._connection.execute(query):
            net = _exact(row.net)
            # Where the credit note reversed revenue (``postings.credit_note_issued``).
            shares = {name: _exact(amount) for name, amount in (row.components or {}).items()}
            shares = shares or {"Fixed": net}
            found.append(
                RevenueSlice(
                    labels=_labels(row, row.payment_route),
                    currency=Currency.of(row.currency),
                    sessions=0,
                    energy_kwh=ZERO,
                    components=tuple(-shares.get(name, ZERO) for name in COMPONENTS),
                    credited=net,
                )
            )
        return found

    async def cash_movements(self, start: date, end: date) -> list[CashMovement]:
        account = postings.c.account
        money_accounts = or_(
            *(
                or_(account == root, account.startswith(root + ":"))
                for root in (PSP_ROOT, BANK_ROOT, FEES_ACCOUNT)
            )
        )
        groups = (journal_entries.c.booked_on, journal_entries.c.kind, account, postings.c.currency)
        booked = postings.join(journal_entries, journal_entries.c.id == postings.c.entry_id)
        query = (
            select(*groups, func.sum(postings.c.amount_minor).label("minor"))
            .select_from(booked)
            .where(
                journal_entries.c.booked_on >= start,
                journal_entries.c.booked_on < end,
                money_accounts,
            )
            .group_by(*groups)
        )
        return [
            CashMovement(
                row.booked_on,
                row.kind,
                row.account,
                Currency.of(row.currency),
                Money.from_minor_units(int(row.minor), row.currency).amount,
            )
            for row in await self._connection.execute(query)
        ]

    async def pending_sessions(self) -> list[PendingSessions]:
        stopped = func.coalesce(sessions.c.meter_stop_wh, sessions.c.meter_start_wh)
        uncharged = and_(sessions.c.status == SessionStatus.COMPLETED.value, charges.c.id.is_(None))
        state = {
            Pending.QUARANTINED: sessions.c.status == SessionStatus.QUARANTINED.value,
            Pending.NOT_CHARGED: uncharged,
        }
        found = []
        for pending, condition in state.items():
            query = (
                select(
                    func.count().label("sessions"),
                    _exact_sum(stopped, _WH_SCALE).label("stop"),
                    _exact_sum(sessions.c.meter_start_wh, _WH_SCALE).label("start"),
                )
                .select_from(sessions.outerjoin(charges, charges.c.session_id == sessions.c.id))
                .where(condition)
            )
            row = (await self._connection.execute(query)).one()
            wh = _unscaled(row.stop, _WH_SCALE) - _unscaled(row.start, _WH_SCALE)
            found.append(PendingSessions(pending, int(row.sessions), (wh / 1000).normalize()))
        return found
