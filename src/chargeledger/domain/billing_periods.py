"""Billing periods: the weeks, months and quarters an account's charges are invoiced for.

A period is a half-open range of local dates, [start, end), so one period's end is the next
one's start and no day is billed twice (DESIGN §2: invoice periods use the local zone).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import NamedTuple

from chargeledger.domain.accounts import BillingCycle
from chargeledger.errors import InvalidInputError


class Period(NamedTuple):
    """[start, end) in the operator's local dates; ``end`` is the next period's start."""

    start: date
    end: date


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


def billing_period(cycle: BillingCycle, label: str) -> Period:
    """``2026-10`` (monthly), ``2026-W43`` (ISO week) or ``2026-Q4``: [start, end) in the
    operator's local dates."""
    text = label.strip()
    try:
        if cycle is BillingCycle.MONTHLY and (m := _MONTH.fullmatch(text)):
            start = date(int(m[1]), int(m[2]), 1)
            return Period(start, _add_months(start, 1))
        if cycle is BillingCycle.QUARTERLY and (m := _QUARTER.fullmatch(text)):
            start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
            return Period(start, _add_months(start, 3))
        if cycle is BillingCycle.WEEKLY and (m := _WEEK.fullmatch(text)):
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return Period(start, start + timedelta(days=7))
    except ValueError:
        pass
    examples = {"monthly": "2026-10", "weekly": "2026-W43", "quarterly": "2026-Q4"}
    raise InvalidInputError(
        f"{label!r} is not a {cycle.value} period (e.g. {examples[cycle.value]})",
        code="invalid_period",
        field="period",
    )


def periods_within(cycle: BillingCycle, start: date, end: date) -> list[Period]:
    """The periods of ``cycle`` that end within [start, end]: the ones a run over a month bills
    for weekly, monthly and quarterly accounts alike."""
    found = []
    if cycle is BillingCycle.WEEKLY:
        cursor = start - timedelta(days=start.weekday())
        step: tuple[int, int] = (7, 0)
    else:
        months = 1 if cycle is BillingCycle.MONTHLY else 3
        first_month = start.month - (start.month - 1) % months
        cursor = date(start.year, first_month, 1)
        step = (0, months)
    while cursor < end:
        following = cursor + timedelta(days=step[0]) if step[0] else _add_months(cursor, step[1])
        if start < following <= end:
            found.append(Period(cursor, following))
        cursor = following
    return found


def period_containing(cycle: BillingCycle, day: date) -> Period:
    if cycle is BillingCycle.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=7))
    months = 1 if cycle is BillingCycle.MONTHLY else 3
    start = date(day.year, day.month - (day.month - 1) % months, 1)
    return Period(start, _add_months(start, months))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
