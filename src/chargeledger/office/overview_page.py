"""What the overview page shows: the service's figures (``services.office_overview``) made
into tiles and charts. Tiles link only to pages that exist: live sessions to the sessions
list (status active), the quarantine queue to its review page, overdue receivables to the
invoices filtered on payment status overdue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from markupsafe import Markup

from chargeledger.bootstrap import Runtime
from chargeledger.domain.text import money_text
from chargeledger.money import ZERO, Currency
from chargeledger.office.availability_chart import availability_charts
from chargeledger.office.charts import Point, bar_chart
from chargeledger.services.office_overview import Overview, Revenue, overview

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


async def overview_context(rt: Runtime) -> dict[str, Any]:
    zone = rt.settings.operator_time_zone
    figures = await overview(rt.uow, rt.clock.now(), zone)
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
        "availability": await availability_charts(rt),
    }
