"""The ledger pages (issue 16): ``GET /office/ledger``, the trial balance as of a day, and
``GET /office/ledger/accounts/{name}``, one account's statement (postings with the running
balance, a date range, pagination, CSV).

The same use cases as ``GET /api/v1/ledger/trial-balance`` and ``/ledger/statement`` and the
CLI's ``ledger balances`` / ``ledger statement`` (``services.billing.ledger.balances``,
``statement``) and the same role as ``ReadLedger`` (finance; admin always). Dates are the
entries' accounting days (DESIGN §5: booked on the operator's date); "as of" and "to"
include their whole day (the services take the day after, exclusive). Per currency the
debits equal the credits: the page says so, or shows the difference (an invariant broken,
as ``ledger check`` reports it). The statement is read whole (as the API answers it) and
shown 50 postings a page; the CSV has every posting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.domain.identity import Role
from chargeledger.domain.ledger import Balance
from chargeledger.domain.text import exact_amount
from chargeledger.errors import InvalidInputError
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import day_filter
from chargeledger.office.pages import PAGE_HEADERS, render
from chargeledger.services.billing import ledger
from chargeledger.services.billing.invoicing import today
from chargeledger.services.billing.ledger import Statement
from chargeledger.services.transactions import reading

router = APIRouter()
LEDGER = "/office/ledger"
LEDGER_ROLES = frozenset({Role.FINANCE})  # ``ReadLedger`` (admin is implied by ``admit``)
PAGE_SIZE = 50
Day = Annotated[str | None, Query(max_length=40)]
BALANCE_COLUMNS = ("Account", "Currency", "Debit", "Credit", "Balance")
STATEMENT_COLUMNS = ("Booked on", "Currency", "Kind", "Description", "Amount", "Balance")


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """One currency's column sums; a trial balance balances when debits equal credits."""

    currency: str
    debit: Decimal
    credit: Decimal

    @property
    def balanced(self) -> bool:
        return self.debit == self.credit


def totals(balances: Sequence[Balance]) -> list[CurrencyTotal]:
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    for b in balances:
        debit, credit = sums.get(str(b.currency), (Decimal(0), Decimal(0)))
        sums[str(b.currency)] = (debit + b.debit, credit + b.credit)
    return [CurrencyTotal(c, d, k) for c, (d, k) in sorted(sums.items())]


def balance_row(b: Balance) -> list[str]:
    currency = str(b.currency)
    amounts = (b.debit, b.credit, b.balance)
    return [b.account, currency, *(exact_amount(a, currency) for a in amounts)]


def _csv(name: str, header: Sequence[str], rows: list[list[str]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _after(day: date | None) -> date | None:
    return None if day is None else day + timedelta(days=1)


@router.get("/ledger")
async def trial_balance(
    request: Request, rt: RuntimeDep, as_of: Day = None, format: Day = None
) -> Response:
    visitor = await admit(request, rt, LEDGER_ROLES)
    if isinstance(visitor, Response):
        return visitor
    on = today(rt.clock, rt.settings.operator_time_zone)
    typed = as_of or ""
    try:
        day = day_filter(typed, "as_of") or on
    except InvalidInputError as exc:
        return _trial_page(visitor, typed, [], exc)
    balances = await reading(rt.uow, ledger.balances, None, _after(day))
    if format == "csv":
        return _csv(f"trial-balance-{day.isoformat()}", BALANCE_COLUMNS, _balance_rows(balances))
    return _trial_page(visitor, typed or day.isoformat(), balances, None)


def _balance_rows(balances: Sequence[Balance]) -> list[list[str]]:
    return [balance_row(b) for b in balances]


def _trial_page(
    visitor: Visitor, as_of: str, balances: list[Balance], error: InvalidInputError | None
) -> Response:
    return render(
        "ledger.html",
        422 if error else 200,
        title="Trial balance",
        **visitor.context("ledger"),
        as_of=as_of,
        columns=BALANCE_COLUMNS,
        rows=_balance_rows(balances),
        totals=[
            (t, exact_amount(t.debit, t.currency), exact_amount(t.credit, t.currency))
            for t in totals(balances)
        ],
        error=error,
        csv_link=f"{LEDGER}?{urlencode({'as_of': as_of, 'format': 'csv'})}",
        account_link=account_link,
    )


def account_link(name: str) -> str:
    return f"{LEDGER}/accounts/{quote(name, safe=':')}"


def statement_rows(statements: Sequence[Statement]) -> list[list[str]]:
    """Every posting of the statement, currency by currency, with its running balance."""
    rows = []
    for s in statements:
        currency = str(s.currency)
        for line in s.lines:
            rows.append(
                [
                    line.entry.booked_on.isoformat(),
                    currency,
                    line.entry.kind.value,
                    line.entry.description,
                    exact_amount(line.posting.units.amount, currency),
                    exact_amount(line.running_balance, currency),
                ]
            )
    return rows


@router.get("/ledger/accounts/{name}")
async def account_statement(
    request: Request,
    rt: RuntimeDep,
    name: Annotated[str, Path(min_length=1, max_length=200)],
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Day = None,
) -> Response:
    visitor = await admit(request, rt, LEDGER_ROLES)
    if isinstance(visitor, Response):
        return visitor
    typed = {"from": start or "", "to": end or ""}
    statements: list[Statement] = []
    error = None
    try:
        first, last = day_filter(typed["from"], "from"), day_filter(typed["to"], "to")
    except InvalidInputError as exc:
        error = exc
    else:
        statements = await reading(rt.uow, ledger.statement, name, first, _after(last))
    rows = statement_rows(statements)
    if format == "csv" and error is None:
        stem = name.replace(":", "-").replace("/", "-").replace('"', "")
        return _csv(f"statement-{stem}", STATEMENT_COLUMNS, rows)
    base = f"{account_link(name)}?"
    query = {k: v for k, v in typed.items() if v}
    page = rows[offset : offset + PAGE_SIZE]
    more = offset + PAGE_SIZE < len(rows)
    return render(
        "ledger_account.html",
        422 if error else 200,
        title=f"Statement of {name}",
        **visitor.context("ledger"),
        name=name,
        filters=typed,
        columns=STATEMENT_COLUMNS,
        rows=page,
        summaries=[
            (
                str(s.currency),
                exact_amount(s.opening, str(s.currency)),
                exact_amount(s.closing, str(s.currency)),
            )
            for s in statements
        ],
        error=error,
        action=account_link(name),
        csv_link=base + urlencode({**query, "format": "csv"}),
        next_link=base + urlencode({**query, "offset": offset + PAGE_SIZE}) if more else None,
        previous_link=None
        if offset == 0
        else base + urlencode({**query, "offset": max(offset - PAGE_SIZE, 0)}),
    )
