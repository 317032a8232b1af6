"""How a contract performed, month by month (issue 14): sessions, kWh, revenue, the discount
it gave, its commitment and how much of it was bought, the shortfall billed, the revenue share
paid to site hosts, and the margin against the energy bought.

Every figure is read from what the books already hold (DESIGN §2: a stored decision is never
re-derived), so the report reconciles with the invoices and the ledger:

- **revenue** (net) is what the contract's sessions were charged (``Income:Charging`` of their
  accruals) plus the contract's lines on the month's invoice (the volume-tier adjustment, the
  fixed fees, the commitment shortfall; ``domain.contract_lines``);
- **discount given** is the list price of the same sessions (``price()`` over their tariff
  snapshot, without the contract's discount book) less what they were charged, net;
- **commitment** is the month's minimum commitment prorated by the days the contract covered
  (``contract_money.prorated_commitment``), and **attainment** what the customer bought
  (sessions plus the tier adjustment, the base ``contract_lines`` measures the shortfall
  against) as a percentage of it, rounded half-up to 0.1 %;
- **revenue share paid** is what the site-host settlements of the month credited (the
  ``revenue_share`` billings of the contract, self-billed under EN 16931 type 389/381);
- **energy cost** is the kWh times a configured net price per kWh, rounded half-up to the
  currency's minor unit (the named rounding point "report line"); the **margin** is revenue
  less energy cost less revenue share. Without an energy price neither is shown.

Months are calendar months of the site's local dates, the periods the contract's lines are
billed for (DESIGN §2: periods use the local zone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.domain.contract_terms import UNIT_PRICE
from chargeledger.domain.report_tables import Cell, Column, ColumnKind, ReportTable
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency, Money

# The descriptions ``domain.contract_lines`` gives its lines (held equal by a unit test).
TIER_LINE = "Volume tiers"
SHORTFALL_LINE = "Minimum commitment"
MAX_MONTHS = 36  # three years of rows: a contract's usual term
PERCENT_QUANTUM = Decimal("0.1")
HUNDRED = Decimal(100)
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str, field: str) -> date:
    """``2026-01`` → 1 January 2026; anything else is ``invalid_month`` at ``field``."""
    match = _MONTH.fullmatch(text.strip())
    if match is not None and 1 <= int(match[2]) <= 12 and int(match[1]) >= 1:
        return date(int(match[1]), int(match[2]), 1)
    raise InvalidInputError(
        f"{text!r} is not a month like 2026-01", code="invalid_month", field=field
    )


def months_asked(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The first and last month a reader asked for: ``first`` defaults to the month of
    ``today``, ``last`` to ``first``."""
    start = today.replace(day=1) if first is None else parse_month(first, "from")
    return start, start if last is None else parse_month(last, "to")


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> tuple[date, ...]:
    """The first days of the months ``first`` to ``last`` (both included), at most
    :data:`MAX_MONTHS`; ``to`` before ``from`` is ``invalid_period``."""
    first, last = first.replace(day=1), last.replace(day=1)
    if last < first:
        raise InvalidInputError(
            "the last month is before the first", code="invalid_period", field="to"
        )
    months = [first]
    while months[-1] < last:
        months.append(next_month(months[-1]))
        if len(months) > MAX_MONTHS:
            raise InvalidInputError(
                f"a performance report covers at most {MAX_MONTHS} months",
                code="period_too_long",
                field="to",
            )
    return tuple(months)


@dataclass(frozen=True, slots=True)
class EnergyPrice:
    """What a kWh costs the operator, net: one configured price for every site and month
    (the day-ahead series of dynamic tariffs is folded into their tariffs, not stored).
    ``currency`` None: the operator's one currency, whatever the contract's."""

    per_kwh: Decimal
    currency: Currency | None = None

    def __post_init__(self) -> None:
        UNIT_PRICE.check(self.per_kwh, "energy_cost_per_kwh")
        if self.currency is not None:
            object.__setattr__(self, "currency", Currency.of(self.currency))

    def applies_to(self, currency: Currency) -> bool:
        return self.currency is None or self.currency == currency


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """What the books hold about one contract month, as the service gathers it."""

    month: date  # its first day
    sessions: int
    energy_kwh: Decimal
    charged_net: Decimal  # the contract's sessions, as charged
    list_net: Decimal  # the same sessions at their list price
    contract_lines: tuple[tuple[str, Decimal], ...]  # (description, net) on the invoice
    commitment: Decimal | None  # the month's, prorated; None: no commitment
    revenue_share: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ContractPerformance:
    """One row: a contract's month (or, ``label`` "total", the sum of its months)."""

    label: str
    currency: Currency
    sessions: int
    energy_kwh: Decimal
    sessions_net: Decimal
    contract_lines_net: Decimal
    revenue_net: Decimal
    discount_given: Decimal
    commitment: Decimal | None
    bought: Decimal
    attainment_percent: Decimal | None
    shortfall_billed: Decimal
    revenue_share_paid: Decimal
    energy_cost: Decimal | None
    margin: Decimal | None


def _lines(figures: MonthFigures, prefix: str) -> Decimal:
    return sum((net for text, net in figures.contract_lines if text.startswith(prefix)), ZERO)


def attainment(bought: Decimal, commitment: Decimal | None) -> Decimal | None:
    """``bought`` as a percentage of ``commitment``, half-up to 0.1 % (None: none agreed)."""
    if commitment is None or not commitment:
        return None
    return (bought * HUNDRED / commitment).quantize(PERCENT_QUANTUM, ROUND_HALF_UP)


def _energy_cost(kwh: Decimal, price: EnergyPrice | None, currency: Currency) -> Decimal | None:
    if price is None or not price.applies_to(currency):
        return None
    return (kwh * price.per_kwh).quantize(currency.quantum, ROUND_HALF_UP)


def month_performance(
    figures: MonthFigures, currency: Currency, price: EnergyPrice | None
) -> ContractPerformance:
    """The row of one month (see the module docstring for each figure)."""
    lines_net = sum((net for _, net in figures.contract_lines), ZERO)
    revenue = figures.charged_net + lines_net
    bought = figures.charged_net + _lines(figures, TIER_LINE)
    cost = _energy_cost(figures.energy_kwh, price, currency)
    return ContractPerformance(
        label=f"{figures.month.year:04d}-{figures.month.month:02d}",
        currency=currency,
        sessions=figures.sessions,
        energy_kwh=figures.energy_kwh,
        sessions_net=figures.charged_net,
        contract_lines_net=lines_net,
        revenue_net=revenue,
        discount_given=figures.list_net - figures.charged_net,
        commitment=figures.commitment,
        bought=bought,
        attainment_percent=attainment(bought, figures.commitment),
        shortfall_billed=_lines(figures, SHORTFALL_LINE),
        revenue_share_paid=figures.revenue_share,
        energy_cost=cost,
        margin=None if cost is None else revenue - cost - figures.revenue_share,
    )


def _total(values: Sequence[Decimal | None]) -> Decimal | None:
    known = [v for v in values if v is not None]
    return sum(known, ZERO) if known else None


def total(rows: Sequence[ContractPerformance], currency: Currency) -> ContractPerformance:
    """The months summed; attainment over the summed commitment of the months that had one
    (what was bought in them against what was committed in them)."""
    committed = [r for r in rows if r.commitment is not None]
    commitment = _total([r.commitment for r in committed])
    bought_committed = sum((r.bought for r in committed), ZERO)
    return ContractPerformance(
        label="total",
        currency=currency,
        sessions=sum(r.sessions for r in rows),
        energy_kwh=sum((r.energy_kwh for r in rows), ZERO),
        sessions_net=sum((r.sessions_net for r in rows), ZERO),
        contract_lines_net=sum((r.contract_lines_net for r in rows), ZERO),
        revenue_net=sum((r.revenue_net for r in rows), ZERO),
        discount_given=sum((r.discount_given for r in rows), ZERO),
        commitment=commitment,
        bought=sum((r.bought for r in rows), ZERO),
        attainment_percent=attainment(bought_committed, commitment),
        shortfall_billed=sum((r.shortfall_billed for r in rows), ZERO),
        revenue_share_paid=sum((r.revenue_share_paid for r in rows), ZERO),
        energy_cost=_total([r.energy_cost for r in rows]),
        margin=_total([r.margin for r in rows]),
    )


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    contract_id: str
    contract_number: str
    currency: Currency
    first_month: date
    last_month: date
    rows: tuple[ContractPerformance, ...]
    total: ContractPerformance
    energy_price: EnergyPrice | None  # None: no margin shown


def performance_report(
    contract_id: str,
    contract_number: str,
    currency: Currency,
    months: Sequence[MonthFigures],
    price: EnergyPrice | None,
) -> PerformanceReport:
    if price is not None and not price.applies_to(currency):
        price = None  # an energy price in another currency says nothing about this contract
    rows = tuple(month_performance(m, currency, price) for m in months)
    return PerformanceReport(
        contract_id,
        contract_number,
        currency,
        months[0].month,
        months[-1].month,
        rows,
        total(rows, currency),
        price,
    )


# --- as a table (CSV, XLSX, JSON, the CLI) ----------------------------------------------

_MONEY_COLUMNS = (
    ("sessions_net", "sessions net"),
    ("contract_lines_net", "contract lines"),
    ("revenue_net", "revenue net"),
    ("discount_given", "discount given"),
    ("commitment", "commitment"),
)
_AFTER_ATTAINMENT = (
    ("shortfall_billed", "shortfall billed"),
    ("revenue_share_paid", "revenue share paid"),
)
_MARGIN_COLUMNS = (("energy_cost", "energy cost"), ("margin", "margin"))


def performance_table(report: PerformanceReport) -> ReportTable:
    """Per month: sessions, kWh, the money columns, attainment; the total row last. The
    energy cost and margin columns are there only when an energy price is known."""
    margin = report.energy_price is not None
    columns = (
        Column("month", "month"),
        Column("currency", "currency"),
        Column("sessions", "sessions", ColumnKind.COUNT),
        Column("energy_kwh", "kWh", ColumnKind.QUANTITY),
        *(Column(key, title, ColumnKind.MONEY) for key, title in _MONEY_COLUMNS),
        Column("attainment_percent", "attainment %", ColumnKind.QUANTITY),
        *(Column(key, title, ColumnKind.MONEY) for key, title in _AFTER_ATTAINMENT),
        *(Column(k, t, ColumnKind.MONEY) for k, t in (_MARGIN_COLUMNS if margin else ())),
    )
    parameters = [
        ("contract", report.contract_number),
        ("contract_id", report.contract_id),
        ("from", f"{report.first_month.year:04d}-{report.first_month.month:02d}"),
        ("to", f"{report.last_month.year:04d}-{report.last_month.month:02d}"),
    ]
    if report.energy_price is not None:
        parameters.append(("energy_cost_per_kwh", str(report.energy_price.per_kwh)))
    return ReportTable(
        "performance",
        f"Contract {report.contract_number} performance",
        tuple(parameters),
        columns,
        tuple(_cells(row, margin) for row in report.rows),
        (_cells(report.total, margin),),
    )


def _money(amount: Decimal | None, currency: Currency) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _cells(row: ContractPerformance, margin: bool) -> tuple[Cell, ...]:
    currency = row.currency
    money = [_money(getattr(row, key), currency) for key, _ in _MONEY_COLUMNS]
    after = [_money(getattr(row, key), currency) for key, _ in _AFTER_ATTAINMENT]
    ends = [_money(getattr(row, key), currency) for key, _ in _MARGIN_COLUMNS] if margin else []
    return (
        row.label,
        currency.code,
        row.sessions,
        row.energy_kwh,
        *money,
        row.attainment_percent,
        *after,
        *ends,
    )
