"""The demo's weeks after the bank days (issue 13): dunning of what stays unpaid, and the
month handed to the accountant as a DATEV batch.

The invoices nobody paid in full are dunned on the days the schedule names (+7, +21 and +35
days after the due date, ``domain.dunning.DEFAULT_POLICIES``). The demo cannot wait five weeks,
so each run is handed a clock that reads those days (a run is refused a date after its
clock's today, so a real server reaches them only by living through them). Each notice is
written as the PDF the customer gets; after the final notice the dunned accounts' tokens are
asked for, as a station would at Authorize, and answer Blocked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console
from chargeledger.domain.dunning import DunningEvent
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.domain.reports import ReportPeriod, month_of
from chargeledger.domain.text import money_figure
from chargeledger.services.billing import books, dunning, invoice_documents, invoicing
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.charging.authorization import authorize_token
from chargeledger.services.ports import Clock
from chargeledger.services.transactions import in_transaction, reading

DUNNING_DAYS = (7, 21, 35)  # after the due date: the default schedule's levels
DATEV_FILE = "EXTF_Buchungsstapel-{month}.csv"

# The demo's PT site bills Portuguese VAT, for which DATEV's standard charts have no automatic
# account: the batch books it net on a revenue account and the VAT on an account of its own
# (``RevenueRule.vat_account``). Demo numbers in SKR03: an operator's tax advisor chooses them.
DEMO_DATEV_ACCOUNTS = """\
# Revenue of the demo's Portuguese site: Portuguese VAT, net and VAT on accounts of their own.
# Demo numbers (SKR03): have the operator's tax advisor confirm them.
[accounts]
"Liabilities:VAT:PT" = 1767

[[revenue]]
country = "PT"
category = "S"
percent = "23"
account = 8320
vat_account = 1767

# Portuguese business customers with a VAT id: reverse charge, as for other EU countries.
[[revenue]]
country = "PT"
category = "AE"
percent = "0"
account = 8336
"""


class _DaysLater:
    """A clock ``days`` ahead of ``clock``: the demo's way of reaching a dunning day."""

    def __init__(self, clock: Clock, days: int) -> None:
        self._clock, self._ahead = clock, timedelta(days=days)

    def now(self) -> datetime:
        return self._clock.now() + self._ahead


@dataclass
class DunningDemo:
    runs: list[tuple[date, int, int]] = field(default_factory=list)  # day, overdue, notices
    notices: list[tuple[str, DunningEvent]] = field(default_factory=list)  # invoice number
    files: list[Path] = field(default_factory=list)
    authorize: list[tuple[str, str]] = field(default_factory=list)  # token, answer
    datev: Path | None = None
    datev_lines: int = 0


async def weeks_after(runtime: Runtime, output_dir: Path) -> DunningDemo:
    """Run dunning on its days, write the notices, ask for the blocked tokens, export DATEV."""
    demo = DunningDemo()
    zone = runtime.settings.operator_time_zone
    today = invoicing.today(runtime.clock, zone)
    due = await _latest_due_date(runtime, today)
    clock: Clock = runtime.clock
    if due is not None:
        for after in DUNNING_DAYS:
            clock = _DaysLater(runtime.clock, (due + timedelta(days=after) - today).days)
            run = await in_transaction(
                runtime.uow, dunning.run_dunning, clock, runtime.dunning_terms()
            )
            demo.runs.append((run.on, run.overdue, len(run.notices)))
            for notice in run.notices:
                invoice = await reading(runtime.uow, invoicing.get_invoice, notice.invoice_id)
                number = invoice.number or str(invoice.id)
                folder = output_dir / "dunning"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{number}-reminder-{notice.level}.pdf"
                path.write_bytes(runtime.reminders.pdf(notice, invoice))
                demo.notices.append((number, notice))
                demo.files.append(path)
        await _ask_blocked_tokens(runtime, clock, demo)
    demo.datev, demo.datev_lines = await _datev(runtime, output_dir, month_of(today))
    return demo


async def _latest_due_date(runtime: Runtime, today: date) -> date | None:
    """The last due date among the invoices still open: every open invoice is overdue by
    at least the schedule's days on the runs' days."""
    criteria = InvoiceFilter(kind=DocumentKind.INVOICE)
    page = await reading(runtime.uow, invoice_documents.list_documents, criteria, 10_000, 0, today)
    unpaid = (PaymentStatus.OPEN, PaymentStatus.PARTIALLY_PAID, PaymentStatus.OVERDUE)
    dues = [v.invoice.due_date for v in page.items if v.status in unpaid and v.invoice.due_date]
    return max(dues, default=None)


async def _ask_blocked_tokens(runtime: Runtime, clock: Clock, demo: DunningDemo) -> None:
    """Authorize one token of each account the final notice blocked, as a station would."""
    accounts = {n.account_id for _, n in demo.notices if n.blocks_tokens and n.account_id}
    floor = runtime.payments.wallet_floor
    for account_id in sorted(accounts):
        async with runtime.uow() as uow:
            tokens = await uow.tokens.list(account_id=account_id, status=None, limit=1, offset=0)
            for token in tokens.items:
                answer = await authorize_token(uow, clock, token.uid, wallet_floor=floor)
                demo.authorize.append((token.uid, answer.status.value))


async def _datev(
    runtime: Runtime, output_dir: Path, month: ReportPeriod
) -> tuple[Path | None, int]:
    """The month's journal as a DATEV Buchungsstapel (``chargeledger export ledger --format
    datev --from … --to …`` writes the same), when the operator's DATEV numbers are set. A
    batch lies within one fiscal year, so the dunning weeks (next year) are not in it."""
    datev = runtime.settings.datev
    if datev.consultant is None or datev.client is None:
        return None, 0
    chosen = runtime.exports.accounting("datev")
    first, last = month.start, month.end
    entries, sources = await reading(
        runtime.uow, books.journal_for_export, first, last, chosen.needs_sources
    )
    title = runtime.settings.operator.get("name", "chargeledger")
    text = chosen.export(entries, start=first, end=last, title=title, sources=sources)
    folder = output_dir / "datev"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DATEV_FILE.format(month=month.label)
    path.write_bytes(text.encode(chosen.encoding))
    return path, max(len(text.splitlines()) - 2, 0)  # less the header and the column names


def print_dunning(demo: DunningDemo) -> None:
    if not demo.runs and demo.datev is None:
        return
    table = Table(title="Dunning of what stays unpaid, and the DATEV batch", title_justify="left")
    table.add_column("what")
    table.add_column("value")
    for day, overdue, notices in demo.runs:
        table.add_row(f"dunning run {day}", f"{overdue} overdue, {notices} notices")
    for number, notice in demo.notices:
        claims = [
            f"{label} {money_figure(amount.amount, amount.currency.code)}"
            for label, amount in (
                ("fee", notice.fee),
                ("compensation", notice.compensation),
                ("interest", notice.interest),
            )
            if amount is not None and not amount.is_zero
        ]
        blocks = "; tokens blocked" if notice.blocks_tokens else ""
        text = f"level {notice.level} {notice.title}{blocks}"
        table.add_row(f"  {number}", text + (f" ({', '.join(claims)})" if claims else ""))
    for uid, answer in demo.authorize:
        table.add_row(f"Authorize {uid}", answer)
    if demo.datev is not None:
        table.add_row("DATEV Buchungsstapel", f"{demo.datev} ({demo.datev_lines} bookings)")
    console.print(table)
