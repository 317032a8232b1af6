"""Receivables and revenue reports (issue 13): the pure shapes and the arithmetic.

Every figure here is a sum of what the books already hold, so each report reconciles to the
ledger (DESIGN §5): the aging total is what ``Assets:Receivable:C…`` holds, the revenue of a
period is what ``Income:Charging:…`` moved in it, the collections of a day are what
``Assets:PSP:…`` and ``Assets:Bank`` moved. Periods are half-open ranges of the operator's
local dates, ``[start, end)``, like billing periods (DESIGN §2: reports use the local zone).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from chargeledger.domain.billing import COMPONENTS
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency

# --- periods ---------------------------------------------------------------------------------

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """``[start, end)`` in the operator's local dates, with the label it was asked by."""

    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def split(self, grain: Grain) -> list[ReportPeriod]:
        """The period cut into days or calendar months (the last part may be shorter)."""
        if grain is Grain.PERIOD:
            return [self]
        parts = []
        cursor = self.start
        while cursor < self.end:
            if grain is Grain.DAY:
                following, label = cursor + timedelta(days=1), cursor.isoformat()
            else:
                following = min(_next_month(cursor), self.end)
                label = f"{cursor.year:04d}-{cursor.month:02d}"
            parts.append(ReportPeriod(label, cursor, following))
            cursor = following
        return parts


class Grain(StrEnum):
    """How finely a revenue report cuts its period into rows."""

    PERIOD = "period"
    MONTH = "month"
    DAY = "day"


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def report_period(label: str) -> ReportPeriod:
    """``2026``, ``2026-Q1``, ``2026-01``, ``2026-W05`` (ISO 8601 week) or ``2026-01-15``."""
    text = label.strip()
    try:
        if m := _YEAR.fullmatch(text):
            return ReportPeriod(text, date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1))
        if m := _QUARTER.fullmatch(text):
            start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
            return ReportPeriod(text, start, _next_month(_next_month(_next_month(start))))
        if m := _MONTH.fullmatch(text):
            start = date(int(m[1]), int(m[2]), 1)
            return ReportPeriod(text, start, _next_month(start))
        if m := _WEEK.fullmatch(text):
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return ReportPeriod(text, start, start + timedelta(days=7))
        if _DAY.fullmatch(text):
            day = date.fromisoformat(text)
            return ReportPeriod(text, day, day + timedelta(days=1))
    except (ValueError, OverflowError):  # no such date, or beyond the calendar's end
        pass
    raise InvalidInputError(
        f"{label!r} is not a period: 2026, 2026-Q1, 2026-01, 2026-W05 or 2026-01-15",
        code="invalid_period",
        field="period",
    )


def month_of(day: date) -> ReportPeriod:
    return report_period(f"{day.year:04d}-{day.month:02d}")


def period_or_month(label: str | None, today: date) -> ReportPeriod:
    """The period asked for, or the month of ``today`` (the operator's)."""
    return month_of(today) if label is None else report_period(label)


# The days a report may be asked about: the books start after the first and end before the
# last (the window of a date near either end would leave the calendar).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def report_day(day: date, field: str = "as_of") -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInputError(
            f"{day.isoformat()} is outside {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}",
            code="invalid_date",
            field=field,
        )
    return day


def days_up_to(as_of: date, days: int) -> ReportPeriod:
    """The ``days`` days ending with ``as_of`` (included): the default window of the DSO."""
    start = report_day(as_of) - timedelta(days=days - 1)
    return ReportPeriod(f"{start.isoformat()}..{as_of.isoformat()}", start, as_of + timedelta(1))


# --- aging of receivables --------------------------------------------------------------------

# Days past the due date (the usual AR aging columns); "current" is not yet due.
AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")
_BUCKET_ENDS = (0, 30, 60, 90)
DSO_WINDOW_DAYS = 90


def aging_bucket(due_date: date | None, as_of: date) -> int:
    """The index in :data:`AGING_BUCKETS` of an item due on ``due_date`` seen on ``as_of``:
    due today is still current (it is overdue from the next day on, like ``payment_status``)."""
    late = 0 if due_date is None else (as_of - due_date).days
    for index, end in enumerate(_BUCKET_ENDS):
        if late <= end:
            return index
    return len(_BUCKET_ENDS)


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An issued invoice with something still to pay (``domain.receivables``: gross less
    credit notes less settlements), as the aging sees it."""

    invoice_id: uuid.UUID
    number: str
    account_id: uuid.UUID | None
    account_name: str
    currency: Currency
    issue_date: date | None
    due_date: date | None
    outstanding: Decimal


@dataclass(frozen=True, slots=True)
class AgingLine:
    """What one account owes in one currency, by age; ``account_id`` None on a total line."""

    account_id: uuid.UUID | None
    account_name: str
    currency: Currency
    buckets: tuple[Decimal, ...]
    invoices: int

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)


@dataclass(frozen=True, slots=True)
class AgingTotal:
    """One currency's receivables: by age, the customers' unapplied credit (over-payments
    owed back or kept for their next invoice), net receivables, and the DSO over the period."""

    line: AgingLine
    customer_credit: Decimal
    credit_sales: Decimal
    dso_days: Decimal | None

    @property
    def net(self) -> Decimal:
        return self.line.total - self.customer_credit


@dataclass(frozen=True, slots=True)
class AgingReport:
    as_of: date
    period: ReportPeriod  # the window of the DSO's credit sales
    lines: tuple[AgingLine, ...]
    totals: tuple[AgingTotal, ...]


def aged_lines(items: Iterable[OpenItem], as_of: date) -> list[AgingLine]:
    """One line per (account, currency), ordered by currency then name."""
    sums: dict[tuple[uuid.UUID | None, Currency], list[Decimal]] = {}
    names: dict[tuple[uuid.UUID | None, Currency], str] = {}
    counts: dict[tuple[uuid.UUID | None, Currency], int] = defaultdict(int)
    for item in items:
        key = (item.account_id, item.currency)
        buckets = sums.setdefault(key, [ZERO] * len(AGING_BUCKETS))
        buckets[aging_bucket(item.due_date, as_of)] += item.outstanding
        names[key] = item.account_name
        counts[key] += 1
    lines = [
        AgingLine(account, names[(account, currency)], currency, tuple(b), counts[key])
        for key, b in sums.items()
        for account, currency in [key]
    ]
    return sorted(lines, key=lambda line: (line.currency, line.account_name.casefold()))


def days_sales_outstanding(
    receivables: Decimal, credit_sales: Decimal, days: int
) -> Decimal | None:
    """DSO = receivables ÷ net credit sales of the period × days in the period, to a tenth of
    a day (half-up): the textbook "days sales outstanding" (receivables turnover in days, e.g.
    CFA Institute, *Financial Reporting and Analysis*). None without credit sales."""
    if credit_sales <= 0 or days <= 0:
        return None
    return (receivables / credit_sales * days).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """An invoice, or a credit note of one, issued in the DSO window: its gross counts in the
    period's net credit sales (a receipt is a cash sale and does not)."""

    currency: Currency
    gross: Decimal
    is_credit_note: bool


def net_credit_sales(documents: Iterable[IssuedDocument]) -> dict[Currency, Decimal]:
    """Invoices issued less credit notes of invoices issued (returns and allowances)."""
    sales: dict[Currency, Decimal] = defaultdict(lambda: ZERO)
    for document in documents:
        sales[document.currency] += -document.gross if document.is_credit_note else document.gross
    return dict(sales)


def aging_report(
    items: Iterable[OpenItem],
    as_of: date,
    period: ReportPeriod,
    customer_credit: dict[Currency, Decimal],
    credit_sales: dict[Currency, Decimal],
) -> AgingReport:
    lines = aged_lines(items, as_of)
    currencies = sorted({line.currency for line in lines} | set(customer_credit))
    totals = []
    for currency in currencies:
        mine = [line for line in lines if line.currency == currency]
        buckets = tuple(
            sum(column, ZERO) for column in zip(*(m.buckets for m in mine), strict=True)
        )
        total = AgingLine(
            None,
            "total",
            currency,
            buckets or (ZERO,) * len(AGING_BUCKETS),
            sum(m.invoices for m in mine),
        )
        sales = credit_sales.get(currency, ZERO)
        dso = days_sales_outstanding(total.total, sales, period.days)
        totals.append(AgingTotal(total, customer_credit.get(currency, ZERO), sales, dso))
    return AgingReport(as_of, period, tuple(lines), tuple(totals))


# --- revenue ---------------------------------------------------------------------------------


class Dimension(StrEnum):
    """What revenue rows may be grouped by."""

    SITE = "site"
    STATION = "station"
    TARIFF = "tariff"
    METHOD = "method"  # how the session was paid (``PaymentRoute.method``)
    ACCOUNT = "account"


def dimensions(text: str | Sequence[str]) -> tuple[Dimension, ...]:
    """``site,method`` → (SITE, METHOD), in the order given, each once."""
    names = text.split(",") if isinstance(text, str) else list(text)
    chosen: list[Dimension] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        try:
            dimension = Dimension(name)
        except ValueError:
            known = ", ".join(d.value for d in Dimension)
            raise InvalidInputError(
                f"cannot group revenue by {name!r}: by one or more of {known}",
                code="unknown_report_dimension",
                field="by",
            ) from None
        if dimension not in chosen:
            chosen.append(dimension)
    return tuple(chosen)


@dataclass(frozen=True, slots=True)
class RevenueSlice:
    """Revenue of one finest group (site, station, tariff, method, account, currency) of one
    period: what sessions accrued there (``sessions``, ``energy_kwh`` and the component nets)
    less what credit notes issued in the period took back (``credited``, already subtracted
    from the components: DESIGN §5 reverses revenue per component)."""

    labels: dict[Dimension, tuple[str, str]]  # dimension → (key, label)
    currency: Currency
    sessions: int
    energy_kwh: Decimal
    components: tuple[Decimal, ...]  # COMPONENTS order
    credited: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class RevenueRow:
    period: str
    labels: tuple[str, ...]  # one per chosen dimension
    currency: Currency
    sessions: int
    energy_kwh: Decimal
    components: tuple[Decimal, ...]
    credited: Decimal

    @property
    def net(self) -> Decimal:
        return sum(self.components, ZERO)


@dataclass(frozen=True, slots=True)
class RevenueReport:
    period: ReportPeriod
    grain: Grain
    by: tuple[Dimension, ...]
    rows: tuple[RevenueRow, ...]
    totals: tuple[RevenueRow, ...]  # one per currency, over the whole period
    top: int | None = None


def _summed(period: str, labels: tuple[str, ...], slices: Sequence[RevenueSlice]) -> RevenueRow:
    components = tuple(sum((s.components[i] for s in slices), ZERO) for i in range(len(COMPONENTS)))
    return RevenueRow(
        period,
        labels,
        slices[0].currency,
        sum(s.sessions for s in slices),
        sum((s.energy_kwh for s in slices), ZERO),
        components,
        sum((s.credited for s in slices), ZERO),
    )


def revenue_report(
    period: ReportPeriod,
    grain: Grain,
    by: tuple[Dimension, ...],
    parts: Sequence[tuple[ReportPeriod, Sequence[RevenueSlice]]],
    top: int | None = None,
) -> RevenueReport:
    """Rows grouped by (part of the period, chosen dimensions, currency); with ``top``, only
    the ``top`` rows of highest net revenue, highest first (e.g. the top accounts)."""
    rows: list[RevenueRow] = []
    for part, slices in parts:
        groups: dict[tuple[tuple[tuple[str, str], ...], Currency], list[RevenueSlice]] = {}
        for s in slices:
            groups.setdefault((tuple(s.labels[d] for d in by), s.currency), []).append(s)
        for (keys, _), members in groups.items():
            rows.append(_summed(part.label, tuple(label for _, label in keys), members))
    rows.sort(key=lambda r: (r.period, r.currency, [label.casefold() for label in r.labels]))
    if top is not None:
        rows = sorted(rows, key=lambda r: r.net, reverse=True)[:top]
    every = [s for _, slices in parts for s in slices]
    totals = [
        _summed(period.label, ("total",) * len(by), [s for s in every if s.currency == currency])
        for currency in sorted({s.currency for s in every})
    ]
    return RevenueReport(period, grain, by, tuple(rows), tuple(totals), top)
