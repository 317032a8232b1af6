"""Bars that link to the list behind them (issue 16: the overview's AR aging chart and its
charts by site and by payment method): each linked bar is an SVG ``<a>`` with an escaped address
named by its tooltip, the picture a group so assistive technology reaches the links; unlinked
bars and charts stay plain."""

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


REPORT = "/office/reports?report=revenue&by=method"


def test_a_linked_bar_is_a_named_link_and_the_chart_a_group() -> None:
    html = bar_chart(
        "c",
        "Net revenue by payment method (EUR)",
        "EUR",
        [Point("card", Decimal("4.20"), REPORT), Point('"x"', Decimal(1), REPORT)],
    )
    assert 'role="group" aria-labelledby="c-caption"' in html
    link = '<a href="/office/reports?report=revenue&amp;by=method" aria-label="card: 4.20 EUR">'
    assert link + '<rect class="bar"' in html
    assert 'aria-label="&quot;x&quot;: 1 EUR"' in html  # escaped in the attribute
    assert html.count("</a>") == 2
    assert '<th scope="row">card</th>' in html  # the hidden table: text, no hidden link


def test_a_chart_without_links_stays_an_image() -> None:
    html = bar_chart("c", "kWh", "kWh", [Point("a", Decimal(5))])
    assert 'role="img"' in html
    assert "<a " not in html
