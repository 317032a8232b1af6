"""What the overview page shows: the service's figures (``services.office_overview``) made
into tiles and charts. Tiles link only to pages that exist: live sessions to the sessions
list (status active), the quarantine queue to its review page, overdue receivables to the
invoices filtered on payment status overdue. The AR aging chart's overdue bars link to the
invoices overdue, its current bar to those open (the list filters by status, not by age).
This month's bars by site and by payment method link to the reports page's revenue report of
the month grouped the same way (the sessions list has no site or payment-method filter)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal
from chargeledger.domain.reports import AGING_BUCKETS, AgingLine
from chargeledger.domain.text import money_text
from chargeledger.money import ZERO, Currency
from chargeledger.office.availability_chart import availability_charts
from chargeledger.office.charts import Point, bar_chart
from chargeledger.services.billing.invoicing import today
from chargeledger.services.office_overview import (
    MonthBreakdown,
    Overview,
    Revenue,
    month_breakdown,
    overview,
    receivables_aging,
)

# What the tiles are shown in before anything was ever charged (no currency to take).
NO_SALES_CURRENCY = "EUR"


def _money(revenue: dict[str, Revenue], currency: str, gross: bool) -> str:
    found = revenue.get(currency, Revenue(currency))
    return money_text(found.gross if gross else found.net, currency)


def _kwh(value: Decimal) -> Decimal:
    """kWh without trailing zeros (12.5, not 12.500000), and 0 as 0."""
    return value.normalize() if value else Decimal(0)


def _sum(revenue: dict[str, Revenue], field: str) -> Any:
    return sum((getattr(r, field) for r in revenue.values()), ZERO if field != "sessions" else 0)


def charts(figures: Overview, currency: str) -> list[Markup]:
    days = figures.days
    cents = Currency.of(currency).quantum
    revenue = [
        Point(d.day.isoformat(), d.revenue.get(currency, Revenue(currency)).net.quantize(cents))
        for d in days
    ]
    energy = [Point(d.day.isoformat(), _kwh(_sum(d.revenue, "energy_kwh"))) for d in days]
    methods = [
        Point(method, by_currency.get(currency, Revenue(currency)).net.quantize(cents))
        for method, by_currency in figures.by_method.items()
    ]
    return [
        Markup(
            bar_chart(
                "chart-revenue-by-day",
                f"Net revenue by day, last {len(days)} days ({currency})",
                currency,
                revenue,
                label_every=7,
            )
        ),
        Markup(
            bar_chart(
                "chart-kwh-by-day",
                f"Energy charged by day, last {len(days)} days (kWh)",
                "kWh",
                energy,
                label_every=7,
            )
        ),
        Markup(
            bar_chart(
                "chart-revenue-by-method",
                f"Net revenue by payment method, last {len(days)} days ({currency})",
                currency,
                methods,
            )
        ),
    ]


def _revenue_report(month: str, by: str) -> str:
    return "/office/reports?" + urlencode({"report": "revenue", "period": month, "by": by})


def month_charts(month: MonthBreakdown, currency: str) -> list[Markup]:
    """This month's net revenue and kWh by site, and net revenue by payment method (issue 16);
    each bar links to the month's revenue report grouped by what the bar stands for."""
    cents = Currency.of(currency).quantum
    by_site = _revenue_report(month.month, "site,station")
    by_method = _revenue_report(month.month, "method")
    site_revenue = [
        Point(s.name, s.net.get(currency, ZERO).quantize(cents), by_site) for s in month.by_site
    ]
    site_energy = [Point(s.name, _kwh(s.energy_kwh), by_site) for s in month.by_site]
    methods = [
        Point(method, nets.get(currency, ZERO).quantize(cents), by_method)
        for method, nets in month.by_method.items()
    ]
    charts = (
        ("chart-revenue-by-site", f"Net revenue by site, {month.month} ({currency})", currency),
        ("chart-kwh-by-site", f"Energy charged by site, {month.month} (kWh)", "kWh"),
        (
            "chart-revenue-by-method-month",
            f"Net revenue by payment method, {month.month} ({currency})",
            currency,
        ),
    )
    return [
        Markup(bar_chart(chart_id, caption, unit, points))
        for (chart_id, caption, unit), points in zip(
            charts, (site_revenue, site_energy, methods), strict=True
        )
    ]


async def overview_context(rt: Runtime) -> dict[str, Any]:
    zone = rt.settings.operator_time_zone
    figures = await overview(rt.uow, rt.clock.now(), zone)
    month = await month_breakdown(rt.uow, rt.clock.now(), zone)
    currencies = figures.currencies or [NO_SALES_CURRENCY]
    main = currencies[0]
    periods = []
    for name, revenue in (("Today", figures.today_revenue), ("This month", figures.month_revenue)):
        periods.append(
            {
                "name": name,
                "net": [_money(revenue, c, False) for c in currencies],
                "gross": [_money(revenue, c, True) for c in currencies],
                "kwh": f"{_kwh(_sum(revenue, 'energy_kwh')):f}",
                "sessions": _sum(revenue, "sessions"),
            }
        )
    network = figures.network
    return {
        "figures": figures,
        "periods": periods,
        "offline": network.stations - network.online,
        "overdue": [
            (item.invoices, money_text(item.outstanding, item.currency)) for item in figures.overdue
        ],
        "overdue_count": sum(item.invoices for item in figures.overdue),
        "charts": charts(figures, main),
        "month_charts": month_charts(month, main),
        "availability": await availability_charts(rt),
    }


AGING_LABELS = {"current": "current", "over_90": ">90"}  # the others read as they are
AGING_LINKS = {"current": "/office/invoices?payment=open"}
OVERDUE_LINK = "/office/invoices?payment=overdue"


def aging_chart(line: AgingLine) -> Markup:
    """One currency's open receivables by days overdue (current, 1–30, 31–60, 61–90, >90),
    each bar the report's figure and a link to the invoices in that state."""
    currency = str(line.currency)
    points = [
        Point(
            AGING_LABELS.get(bucket, bucket.replace("-", "–")),
            amount,
            AGING_LINKS.get(bucket, OVERDUE_LINK),
        )
        for bucket, amount in zip(AGING_BUCKETS, line.buckets, strict=True)
    ]
    caption = f"Open receivables by days overdue ({currency})"
    return Markup(bar_chart(f"chart-ar-aging-{currency}", caption, currency, points))


async def aging_context(rt: Runtime, principal: Principal) -> dict[str, Any]:
    """The overview's AR aging charts, one per currency owed, on the operator's today."""
    on = today(rt.clock, rt.settings.operator_time_zone)
    lines = await receivables_aging(rt.uow, principal, on)
    return {"aging_charts": [aging_chart(line) for line in lines], "aging_on": on}
