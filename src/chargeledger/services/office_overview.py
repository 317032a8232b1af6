"""The figures of the back office's overview (issue 16): revenue, energy and sessions today,
this month and per day, the live state of the network and the queues that wait for people.

Days and months are the operator's (``CHARGELEDGER_OPERATOR_TIME_ZONE``): this module turns
them into UTC instants and the repository sums charges into those buckets in SQL (one
aggregate query per figure, no rows loaded). Revenue is what ``reports`` calls charged revenue:
the charges of sessions that stopped in the window (booked on the stop's local date); net is
the sum of the charges' nets, gross adds each charge's own VAT (``domain.billing.vat_of``, one
VAT figure per charge, DESIGN §2), so the figures match the documents to the cent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.identity import Principal
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.reports import AgingLine
from chargeledger.money import ZERO
from chargeledger.services.billing import reports
from chargeledger.services.overview_ports import ChargedBucket, NetworkState, Overdue, SiteBucket
from chargeledger.services.ports import UnitOfWorkFactory

CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class Revenue:
    currency: str
    sessions: int = 0
    energy_kwh: Decimal = ZERO
    net: Decimal = ZERO
    gross: Decimal = ZERO

    def plus(self, bucket: ChargedBucket) -> Revenue:
        return Revenue(
            self.currency,
            self.sessions + bucket.sessions,
            self.energy_kwh + bucket.energy_kwh,
            self.net + bucket.net,
            self.gross + bucket.net + bucket.vat,
        )


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    revenue: dict[str, Revenue]  # currency → figures


@dataclass(frozen=True, slots=True)
class Overview:
    today: date
    time_zone: str
    today_revenue: dict[str, Revenue]
    month_revenue: dict[str, Revenue]
    days: list[DayFigures]  # the last CHART_DAYS days, today last
    by_method: dict[str, dict[str, Revenue]]  # method → currency → figures, over those days
    network: NetworkState
    failed_payments_today: int
    failed_payments_month: int
    open_disputes: int
    overdue: list[Overdue] = field(default_factory=list)

    @property
    def currencies(self) -> list[str]:
        found = {c for day in self.days for c in day.revenue} | set(self.month_revenue)
        return sorted(found)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _add(into: dict[str, Revenue], bucket: ChargedBucket) -> None:
    into[bucket.currency] = into.get(bucket.currency, Revenue(bucket.currency)).plus(bucket)


async def overview(uows: UnitOfWorkFactory, now: datetime, time_zone: str) -> Overview:
    """The overview as of ``now`` in the operator's ``time_zone``: today and this month so
    far (until the end of today), and each of the last :data:`CHART_DAYS` days."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    month_start = today.replace(day=1)
    first_day = min(today - timedelta(days=CHART_DAYS - 1), month_start)
    days = [first_day + timedelta(days=i) for i in range((today - first_day).days + 1)]
    edges = [_midnight(day, zone) for day in days] + [_midnight(today + timedelta(1), zone)]
    chart_from = today - timedelta(days=CHART_DAYS - 1)
    async with uows() as uow:
        source = uow.overview
        buckets = await source.charged_buckets(edges)
        network = await source.network_state()
        failed_today = await source.failed_payments(edges[-2], edges[-1])
        failed_month = await source.failed_payments(_midnight(month_start, zone), edges[-1])
        disputes = await source.open_disputes()
        overdue = await source.overdue(today)
    per_day: dict[date, dict[str, Revenue]] = {day: {} for day in days}
    month: dict[str, Revenue] = {}
    by_method: dict[str, dict[str, Revenue]] = {}
    for bucket in buckets:
        day = days[bucket.bucket]
        _add(per_day[day], bucket)
        if day >= month_start:
            _add(month, bucket)
        if day >= chart_from:
            _add(by_method.setdefault(PaymentRoute(bucket.payment_route).method.value, {}), bucket)
    return Overview(
        today=today,
        time_zone=time_zone,
        today_revenue=per_day[today],
        month_revenue=month,
        days=[DayFigures(day, per_day[day]) for day in days if day >= chart_from],
        by_method=dict(sorted(by_method.items())),
        network=network,
        failed_payments_today=failed_today,
        failed_payments_month=failed_month,
        open_disputes=disputes,
        overdue=overdue,
    )


async def receivables_aging(
    uows: UnitOfWorkFactory, principal: Principal, today: date
) -> list[AgingLine]:
    """Open receivables on ``today`` by days overdue, one line per currency: the totals of
    the aging report (``reports.aging``, as ``GET /api/v1/reports/aging`` and the CLI's
    ``reports aging``), so the overview's chart and the report never disagree."""
    async with uows() as uow:
        report = await reports.aging(uow, principal, today)
    return [total.line for total in report.totals]


# --- This month by site and by payment method (issue 16: "charts … by site, by payment method")


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """One site's charged revenue of the month: net per currency, kWh and sessions in all."""

    site_id: uuid.UUID
    name: str
    sessions: int = 0
    energy_kwh: Decimal = ZERO
    net: dict[str, Decimal] = field(default_factory=dict)  # currency → net

    def plus(self, bucket: SiteBucket) -> SiteFigures:
        net = dict(self.net)
        net[bucket.currency] = net.get(bucket.currency, ZERO) + bucket.net
        return SiteFigures(
            self.site_id,
            self.name,
            self.sessions + bucket.sessions,
            self.energy_kwh + bucket.energy_kwh,
            net,
        )


@dataclass(frozen=True, slots=True)
class MonthBreakdown:
    """The operator's current month so far (``month``: ``2026-02``, its first day ``start``),
    charged revenue by site (by name) and by payment method (method → currency → net)."""

    month: str
    start: date
    by_site: list[SiteFigures]
    by_method: dict[str, dict[str, Decimal]]


async def month_breakdown(uows: UnitOfWorkFactory, now: datetime, time_zone: str) -> MonthBreakdown:
    """This month until the end of today in the operator's ``time_zone`` — the window of the
    overview's "This month" tile, so the bars of each chart add up to the tile. One grouped
    query (``charged_by_site``: per site, payment route and currency), folded both ways."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    start = today.replace(day=1)
    async with uows() as uow:
        buckets = await uow.overview.charged_by_site(
            _midnight(start, zone), _midnight(today + timedelta(1), zone)
        )
    sites: dict[uuid.UUID, SiteFigures] = {}
    by_method: dict[str, dict[str, Decimal]] = {}
    for bucket in buckets:
        found = sites.get(bucket.site_id, SiteFigures(bucket.site_id, bucket.site_name))
        sites[bucket.site_id] = found.plus(bucket)
        nets = by_method.setdefault(PaymentRoute(bucket.payment_route).method.value, {})
        nets[bucket.currency] = nets.get(bucket.currency, ZERO) + bucket.net
    return MonthBreakdown(
        month=f"{start.year:04d}-{start.month:02d}",
        start=start,
        by_site=sorted(sites.values(), key=lambda s: (s.name, str(s.site_id))),
        by_method=dict(sorted(by_method.items())),
    )
