"""The aggregates of the back office's overview (issue 16, ``services.overview_ports``).

Every figure is one aggregate query. Amounts are summed as integers of their smallest unit
(``reports._exact_sum``: exact on PostgreSQL and on SQLite, whose SUM of fixed-scale text
would add floats). A charge's VAT is rounded half-up to its currency's minor unit row by row
in integer arithmetic — net in 1/10 000, percent in 1/1 000, so the exact VAT is
``net × percent`` in 10⁻⁹ units, divided with a half-unit added — exactly as
``domain.billing.vat_of`` rounds it, and only then summed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, cast, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import charges, invoices
from chargeledger.adapters.db.dispute_tables import disputes
from chargeledger.adapters.db.payment_tables import payment_events
from chargeledger.adapters.db.repositories.receivable_rows import open_invoices_query
from chargeledger.adapters.db.repositories.reports import (
    _AMOUNT_SCALE,
    _KWH_SCALE,
    _NETS,
    _exact_sum,
    _unscaled,
)
from chargeledger.adapters.db.tables import (
    connector_states,
    sessions,
    sites,
    station_states,
    stations,
)
from chargeledger.currencies import MINOR_UNITS
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.disputes import DisputeState
from chargeledger.domain.payments import EventKind
from chargeledger.services.overview_ports import ChargedBucket, NetworkState, Overdue, SiteBucket

_VAT_SCALE = 9  # net (10^-4) × percent (10^-3) / 100
_FAILED = (EventKind.DECLINED.value, EventKind.CAPTURE_FAILED.value)
_OPEN_DISPUTES = tuple(state.value for state in DisputeState if not state.is_closed)
_FAULTED = "Faulted"  # OCPP 1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType


def _by_minor_units(currency: Any, value: Callable[[int], int]) -> ColumnElement[Any]:
    """``value(units)`` of the currency's minor units (ISO 4217; 2 unless the table says
    otherwise), in one CASE on the currency: evaluated for every charge of the window, so one
    test per other number of units, not one CASE of the units per candidate number."""
    others: dict[int, list[str]] = {}
    for code, units in MINOR_UNITS.items():
        if units != 2:
            others.setdefault(units, []).append(code)
    return case(
        *((currency.in_(codes), literal(value(units))) for units, codes in sorted(others.items())),
        else_=literal(value(2)),
    )


def _charge_vat_minor() -> ColumnElement[Any]:
    """Each charge's VAT in its currency's minor unit, rounded half-up (nets are never
    negative, so integer division is the floor)."""
    net = sum(_NETS[1:], _NETS[0])
    net_units = cast(func.round(net * literal(10**_AMOUNT_SCALE)), BigInteger)
    percent_units = cast(func.round(charges.c.vat_percent * literal(1000)), BigInteger)
    divisor = _by_minor_units(charges.c.currency, lambda units: 10 ** (_VAT_SCALE - units))
    half = _by_minor_units(charges.c.currency, lambda units: 10 ** (_VAT_SCALE - units) // 2)
    return (net_units * percent_units + half) // divisor


def _bucket_of(at: Any, edges: Sequence[datetime], first: int = 0) -> ColumnElement[Any]:
    """The index ``i`` of the first of ``edges`` that ``at`` is before (-1 after the last),
    as a balanced tree of CASEs: about log2(edges) comparisons per charge instead of one per
    edge up to its day (a month's 31 edges: 5, not 16 on average)."""
    if len(edges) == 1:
        return case((at < edges[0], literal(first)), else_=literal(-1))
    middle = len(edges) // 2
    return case(
        (at < edges[middle - 1], _bucket_of(at, edges[:middle], first)),
        else_=_bucket_of(at, edges[middle:], first + middle),
    )


class SqlOverviewRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def charged_buckets(self, edges: Sequence[datetime]) -> list[ChargedBucket]:
        if len(edges) < 2:
            return []
        bucket = _bucket_of(charges.c.stopped_at, edges[1:]).label("bucket")
        net = sum(_NETS[1:], _NETS[0])
        query = (
            select(
                bucket,
                charges.c.currency,
                sessions.c.payment_route,
                func.count().label("sessions"),
                _exact_sum(charges.c.energy_kwh, _KWH_SCALE).label("energy"),
                _exact_sum(net, _AMOUNT_SCALE).label("net"),
                func.coalesce(func.sum(_charge_vat_minor()), 0).label("vat"),
            )
            .select_from(charges.join(sessions, sessions.c.id == charges.c.session_id))
            .where(charges.c.stopped_at >= edges[0], charges.c.stopped_at < edges[-1])
            .group_by(bucket, charges.c.currency, sessions.c.payment_route)
        )
        return [
            ChargedBucket(
                bucket=int(row.bucket),
                currency=row.currency,
                payment_route=row.payment_route,
                sessions=int(row.sessions),
                energy_kwh=_unscaled(row.energy, _KWH_SCALE),
                net=_unscaled(row.net, _AMOUNT_SCALE),
                vat=_unscaled(row.vat, MINOR_UNITS.get(row.currency, 2)),
            )
            for row in await self._connection.execute(query)
        ]

    async def charged_by_site(self, since: datetime, until: datetime) -> list[SiteBucket]:
        """One grouped query over the window's charges and their sessions (for the route)."""
        query = (
            select(
                charges.c.site_id,
                func.coalesce(sites.c.name, func.max(charges.c.site_name)).label("site_name"),
                sessions.c.payment_route,
                charges.c.currency,
                func.count().label("sessions"),
                _exact_sum(charges.c.energy_kwh, _KWH_SCALE).label("energy"),
                _exact_sum(sum(_NETS[1:], _NETS[0]), _AMOUNT_SCALE).label("net"),
            )
            .select_from(
                charges.join(sessions, sessions.c.id == charges.c.session_id).outerjoin(
                    sites, sites.c.id == charges.c.site_id
                )
            )
            .where(charges.c.stopped_at >= since, charges.c.stopped_at < until)
            .group_by(charges.c.site_id, sites.c.name, sessions.c.payment_route, charges.c.currency)
        )
        return [
            SiteBucket(
                site_id=row.site_id,
                site_name=row.site_name,
                payment_route=row.payment_route,
                currency=row.currency,
                sessions=int(row.sessions),
                energy_kwh=_unscaled(row.energy, _KWH_SCALE),
                net=_unscaled(row.net, _AMOUNT_SCALE),
            )
            for row in await self._connection.execute(query)
        ]

    async def network_state(self) -> NetworkState:
        faulted = (
            select(func.count(distinct(connector_states.c.station_id)))
            .where(connector_states.c.status == _FAULTED)
            .scalar_subquery()
        )
        online = (
            select(func.count())
            .select_from(station_states)
            .where(station_states.c.connected.is_(True))
            .scalar_subquery()
        )
        live = (
            select(func.count())
            .select_from(sessions)
            .where(sessions.c.status == SessionStatus.ACTIVE.value)
            .scalar_subquery()
        )
        held = (
            select(func.count())
            .select_from(sessions)
            .where(sessions.c.status == SessionStatus.QUARANTINED.value)
            .scalar_subquery()
        )
        row = (
            await self._connection.execute(
                select(
                    select(func.count()).select_from(stations).scalar_subquery(),
                    online,
                    faulted,
                    live,
                    held,
                )
            )
        ).one()
        return NetworkState(*(int(value) for value in row))

    async def failed_payments(self, since: datetime, until: datetime) -> int:
        query = select(func.count(distinct(payment_events.c.payment_id))).where(
            payment_events.c.kind.in_(_FAILED),
            payment_events.c.at >= since,
            payment_events.c.at < until,
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def open_disputes(self) -> int:
        query = (
            select(func.count()).select_from(disputes).where(disputes.c.state.in_(_OPEN_DISPUTES))
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def overdue(self, today: date) -> list[Overdue]:
        due = (
            open_invoices_query()
            .add_columns(invoices.c.due_date)
            .where(invoices.c.due_date < today)
            .order_by(None)
            .subquery()
        )
        parts = (due.c.gross_total, due.c.credited, due.c.paid, due.c.written_off)
        query = select(
            due.c.currency,
            func.count().label("invoices"),
            *(_exact_sum(part, _AMOUNT_SCALE).label(f"part_{i}") for i, part in enumerate(parts)),
        ).group_by(due.c.currency)
        found = []
        for row in await self._connection.execute(query):
            gross, credited, paid, written_off = (
                _unscaled(getattr(row, f"part_{i}"), _AMOUNT_SCALE) for i in range(4)
            )
            found.append(
                Overdue(row.currency, int(row.invoices), gross - credited - paid - written_off)
            )
        return sorted(found, key=lambda item: item.currency)
