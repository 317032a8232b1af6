"""A bar of an office chart can lead to the list it sums (issue 16, the AR aging chart): the
bar is wrapped in an SVG link with an escaped address and a label naming the bar."""

from __future__ import annotations

from decimal import Decimal

from chargeledger.office.charts import Point, bar_chart


def test_a_bar_with_a_link_is_a_link() -> None:
    points = [
        Point("current", Decimal("12.50"), "/office/invoices?payment=open&kind=invoice"),
        Point(">90", Decimal("3.00")),
    ]
    html = bar_chart("aging", "Open receivables (EUR)", "EUR", points)
    assert html.count("<a ") == 1
    assert '<a href="/office/invoices?payment=open&amp;kind=invoice"' in html
    assert 'aria-label="current: 12.50 EUR"><rect class="bar"' in html
    assert "<title>&gt;90: 3.00 EUR</title></rect><text" in html  # no link: a plain bar
