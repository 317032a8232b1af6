"""Bank statements in, invoices paid (issue 13): import once, match, book, and the unmatched
queue finance works through.

An import holds the ``bank-import`` lock (every node) and runs in one transaction: the
statements and their new entries are stored, each booked entry is matched
(``domain.bank_matching``) and booked (``domain.bank_postings``), and the settlements it
makes are kept (``domain.receivables``). Importing the same file again, or a statement that
overlaps an earlier one, adds only the entries not seen before; a failure keeps nothing.
A caller may follow the import (issue 16: long jobs show progress): ``progress`` is told after
each batch of ``PROGRESS_BATCH`` entries of a statement; it changes nothing that is imported.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.bank_matching import (
    BookedPayout,
    Match,
    MatchRule,
    OpenInvoice,
    OpenInvoices,
    OpenPayouts,
    invoice_number_of,
)
from chargeledger.domain.bank_postings import (
    bank_debit,
    bank_receipt,
)
from chargeledger.domain.bank_statements import (
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.domain.ids import new_id
from chargeledger.domain.receivables import Settlement, SettlementKind
from chargeledger.services.billing.bank_booking import Booking, describe_entry, settle_from
from chargeledger.services.billing.customer_credit import apply_credit
from chargeledger.services.billing.document_notices import announce_payments
from chargeledger.services.billing.invoicing import today
from chargeledger.services.billing.statements import StatementReader
from chargeledger.services.locking import exclusive
from chargeledger.services.ports import Clock, Locks, UnitOfWork, UnitOfWorkFactory

IMPORT_LOCK = "bank-import"
PROGRESS_BATCH = 200  # entries of one statement between two ``progress`` calls


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far an import is: entries looked at (new or known) and matched so far, of all the
    file's entries, and the stored statement of the batch just done."""

    read: int
    matched: int
    total: int
    statement_row: uuid.UUID


Progress = Callable[[ImportProgress], Awaitable[None]]


@dataclass
class ImportReport:
    """What an import found: entries new, already known, and what became of the new ones."""

    statements: int = 0
    new: int = 0
    duplicates: int = 0
    states: Counter[EntryState] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    balance_gaps: list[str] = field(default_factory=list)  # statements whose sums disagree
    payout_differences: list[str] = field(default_factory=list)  # bank line != payout net

    @property
    def matched(self) -> int:
        return self.states[EntryState.MATCHED] + self.states[EntryState.CREDITED]

    @property
    def unmatched(self) -> int:
        return self.states[EntryState.UNMATCHED]


async def import_statements(
    uows: UnitOfWorkFactory,
    locks: Locks,
    clock: Clock,
    time_zone: str,
    statements: Sequence[Statement],
    *,
    filename: str | None,
    imported_by: str | None,
    wait_seconds: float = 60.0,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``statements`` (read from one file) exactly once; see the module docstring."""
    report = ImportReport(statements=len(statements))
    total = sum(len(statement.entries) for statement in statements)

    async def tell(read: int, statement_row: uuid.UUID) -> None:
        if progress is not None:
            await progress(ImportProgress(read, report.matched, total, statement_row))

    async with (
        exclusive(
            locks, IMPORT_LOCK, wait_seconds, code="bank_import_busy", what="the bank import"
        ),
        uows() as uow,
    ):
        index = OpenInvoices(await uow.billing.open_invoices(), await uow.bank.known_ibans())
        booking = Booking(payouts=OpenPayouts(await uow.bank.open_payouts()))
        for statement in statements:
            await _import_one(
                uow,
                clock,
                time_zone,
                statement,
                (filename, imported_by),
                index,
                booking,
                report,
                tell,
            )
        await uow.bank.add_entries(booking.records)
        report.payout_differences = booking.payout_differences
        await uow.billing.add_settlements(booking.settlements)  # each from a new entry
        await announce_payments(uow, clock, booking.settlements, booking.addressees)
        await uow.ledger.add(booking.journal, clock.now())
        for account_id in sorted(booking.credited_accounts):
            await apply_credit(uow, clock, time_zone, account_id)
        await uow.commit()
    return report


async def import_statement_file(
    uows: UnitOfWorkFactory,
    locks: Locks,
    clock: Clock,
    time_zone: str,
    reader: StatementReader,
    data: bytes,
    *,
    filename: str | None,
    imported_by: str | None,
    progress: Progress | None = None,
) -> ImportReport:
    """Read a camt.053 or CSV file (refused whole when it is not valid) and import it."""
    statements = reader.read(data, filename)
    return await import_statements(
        uows,
        locks,
        clock,
        time_zone,
        statements,
        filename=filename,
        imported_by=imported_by,
        progress=progress,
    )


async def _import_one(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    statement: Statement,
    source: tuple[str | None, str | None],  # (file name, imported by)
    index: OpenInvoices,
    booking: Booking,
    report: ImportReport,
    tell: Callable[[int, uuid.UUID], Awaitable[None]],
) -> None:
    now = clock.now()
    filename, imported_by = source
    read_before = report.new + report.duplicates
    row = await uow.bank.add_statement(statement, now, imported_by, filename)
    refs = [entry.entry_ref for entry in statement.entries]
    known = await uow.bank.known_refs(statement.account_iban, refs)
    # Two statements of one file may repeat an entry (overlapping days): it is new once.
    new = []
    for entry in statement.entries:
        key = (statement.account_iban, entry.entry_ref)
        if entry.entry_ref not in known and key not in booking.seen:
            booking.seen.add(key)
            new.append(entry)
    report.new += len(new)
    report.duplicates += len(statement.entries) - len(new)
    gap = statement.balance_gap()
    if gap is not None and not gap.is_zero:
        report.balance_gaps.append(f"{statement.statement_id}: {gap.amount} {gap.currency}")
    reopens = await _what_returns_reopen(uow, [e for e in new if e.is_return])
    fallback_day = today(clock, time_zone)
    known_count = len(statement.entries) - len(new)
    for done, entry in enumerate(new, 1):
        arrival = _Arrival(entry, statement.account_iban, row, now)
        record = _decide(arrival, index, reopens, fallback_day, booking)
        booking.records.append(record)
        report.states[record.state] += 1
        if record.rule is not None and record.state is not EntryState.UNMATCHED:
            report.by_rule[record.rule] += 1
        if done % PROGRESS_BATCH == 0 and done < len(new):
            await tell(read_before + known_count + done, row)
    await tell(read_before + len(statement.entries), row)


@dataclass(frozen=True)
class _Arrival:
    """A new entry of a statement, with what every record of it carries."""

    entry: StatementEntry
    account_iban: str
    statement_row: uuid.UUID
    imported_at: datetime
    id: uuid.UUID = field(default_factory=new_id)

    def kept(
        self,
        state: EntryState,
        *,
        match: Match | None = None,
        invoice_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
        rule: str | None = None,
        payout_id: str | None = None,
    ) -> BankEntry:
        return BankEntry(
            entry=self.entry,
            account_iban=self.account_iban,
            state=state,
            imported_at=self.imported_at,
            statement_row=self.statement_row,
            rule=match.rule.value if match is not None else rule,
            confidence=match.confidence if match is not None else (Decimal(1) if rule else None),
            invoice_id=match.invoice.invoice_id if match is not None else invoice_id,
            account_id=account_id,
            payout_id=payout_id,
            id=self.id,
        )


async def _what_returns_reopen(
    uow: UnitOfWork, returns: Sequence[StatementEntry]
) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    """The invoice (and customer) each returned payment reopens, by entry reference: the
    credit it returns, named by its end-to-end id; else the invoice its RF reference names.
    A return that names neither waits for finance."""
    if not returns:
        return {}
    ends = [e.end_to_end_id for e in returns if e.end_to_end_id]
    originals = await uow.bank.paid_by(ends) if ends else {}
    found: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
    for entry in returns:
        original = originals.get(entry.end_to_end_id or "")
        if original is not None and original.invoice_id and original.account_id:
            found[entry.entry_ref] = (original.invoice_id, original.account_id)
            continue
        number = invoice_number_of(entry.creditor_reference or "")
        invoice = await uow.billing.invoice_by_number(number) if number else None
        if invoice is not None and invoice.account_id is not None:
            found[entry.entry_ref] = (invoice.id, invoice.account_id)
    return found


def _decide(
    arrival: _Arrival,
    index: OpenInvoices,
    reopens: dict[str, tuple[uuid.UUID, uuid.UUID]],
    fallback_day: date,
    booking: Booking,
) -> BankEntry:
    """What becomes of one new entry; its bookings are added to ``booking``."""
    entry, now = arrival.entry, arrival.imported_at
    if entry.status is not EntryStatus.BOOKED:
        return arrival.kept(EntryState.PENDING)  # reported, not booked: nothing moved yet
    on = entry.booking_date or fallback_day
    text = describe_entry(entry)
    if entry.direction is Direction.DEBIT:
        reopened = reopens.get(entry.entry_ref) if entry.is_return else None
        if reopened is None:
            booking.journal.append(bank_debit(arrival.id, on, entry.amount, None, text))
            return arrival.kept(EntryState.UNMATCHED)
        invoice_id, account_id = reopened
        booking.settlements.append(
            Settlement(
                invoice_id=invoice_id,
                account_id=account_id,
                kind=SettlementKind.RETURN,
                amount=-entry.amount,
                source=f"bank_entry:{arrival.id}",
                booked_at=now,
                booked_on=on,
                note=f"returned: {entry.return_reason or 'reversal'}",
            )
        )
        booking.journal.append(bank_debit(arrival.id, on, entry.amount, account_id, text))
        return arrival.kept(
            EntryState.RETURNED, rule="return", invoice_id=invoice_id, account_id=account_id
        )
    payout = booking.payouts.match(entry)
    if payout is not None:
        # The payout's money was booked when the PSP reported it (paid_out); the bank line
        # confirms it. Only a difference moves: to suspense, for finance to explain.
        if not payout.difference.is_zero:
            booking.payout_differences.append(
                f"{payout.payout.payout_id}: the bank brought {entry.amount.amount}, the PSP "
                f"reported {payout.payout.net.amount} {entry.amount.currency}"
            )
        if payout.difference.amount > 0:
            booking.journal.append(
                bank_receipt(arrival.id, on, payout.difference, None, f"payout difference {text}")
            )
        elif payout.difference.amount < 0:
            booking.journal.append(
                bank_debit(arrival.id, on, -payout.difference, None, f"payout difference {text}")
            )
        return arrival.kept(
            EntryState.MATCHED, rule=MatchRule.PAYOUT.value, payout_id=payout.payout.payout_id
        )
    match = None if entry.is_return else index.match(entry)
    if match is None or not match.automatic or match.invoice.account_id is None:
        booking.journal.append(bank_receipt(arrival.id, on, entry.amount, None, text))
        return arrival.kept(EntryState.UNMATCHED, match=match)  # the best guess is shown
    applied = settle_from(match.invoice, entry.amount, arrival.id, now, on, None, booking)
    index.settled(match.invoice, applied.settles)
    booking.journal.append(bank_receipt(arrival.id, on, entry.amount, applied, text))
    state = EntryState.CREDITED if applied.settles.is_zero else EntryState.MATCHED
    return arrival.kept(state, match=match, account_id=applied.account_id)


async def awaiting_money(uow: UnitOfWork) -> tuple[list[OpenInvoice], list[BookedPayout]]:
    """The invoices still open and the PSP payouts whose bank line has not come yet."""
    return await uow.billing.open_invoices(), await uow.bank.open_payouts()
