"""The journal: balanced entries and their postings, stored in integer minor units.

Amounts are kept as integer cents (or the currency's minor unit) so that sums are exact in SQL
on SQLite and PostgreSQL alike; a posting that is not a whole number of minor units is refused.
Entries are only ever inserted (DESIGN §2: append-only money records).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import journal_entries, postings
from chargeledger.adapters.db.repositories.audit import queue_written
from chargeledger.adapters.db.repositories.bulk import BulkInsert, insert_rows
from chargeledger.domain.audit import RecordType
from chargeledger.domain.ledger import Balance, EntryKind, JournalEntry, Posting
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, Money

_ENTRIES = BulkInsert(
    journal_entries,
    ("id", "kind", "booked_on", "description", "source_type", "source_id", "created_at"),
)
_POSTINGS = BulkInsert(postings, ("entry_id", "line", "account", "currency", "amount_minor"))


def _minor(units: Money) -> int:
    scaled = units.amount.scaleb(units.currency.minor_units)
    if scaled != scaled.to_integral_value():
        raise InvalidInputError(
            f"{units.amount} {units.currency} is not a whole number of minor units",
            code="unrounded_posting",
        )
    return int(scaled)


def _decimal(minor: int, currency: Currency) -> Decimal:
    return Decimal(minor).scaleb(-currency.minor_units)


def _balance(account: str, currency: Currency, debit: Any, credit: Any) -> Balance:
    return Balance(
        account, currency, _decimal(int(debit), currency), _decimal(int(credit), currency)
    )


def _lock_key(account: str) -> int:
    digest = hashlib.sha256(f"ledger-account/{account}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_HOLD_ACCOUNTS = text(
    "SELECT count(pg_advisory_xact_lock(key)) FROM unnest(CAST(:keys AS bigint[])) AS key"
)


class SqlLedgerRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def hold_account(self, account: str) -> None:
        """PostgreSQL: a transaction-level advisory lock on the account's name, released by
        the commit or rollback (two transactions at READ COMMITTED would both read the same
        balance and both spend it). SQLite: nothing to do, writers already take turns (each
        unit of work begins IMMEDIATE)."""
        await self.hold_accounts([account])

    async def hold_accounts(self, accounts: Sequence[str]) -> None:
        """The advisory locks of ``accounts`` in one statement, taken in the order of their
        keys (``unnest`` yields the array in order), so two holders of overlapping sets
        never wait on each other crosswise."""
        if self._connection.dialect.name != "postgresql" or not accounts:
            return
        keys = sorted({_lock_key(account) for account in accounts})
        await self._connection.execute(_HOLD_ACCOUNTS, {"keys": keys})

    async def add(self, entries: Sequence[JournalEntry], created_at: Any) -> None:
        """Insert entries and their postings in two bulk statements (``bulk``), and queue them
        for the audit chain in the same transaction, hashed from the rows written."""
        if not entries:
            return
        entry_rows = [
            (
                e.id,
                e.kind.value,
                e.booked_on,
                e.description,
                e.source_type,
                e.source_id,
                e.created_at or created_at,
            )
            for e in entries
        ]
        posting_rows = [
            (e.id, line, p.account, p.units.currency.code, _minor(p.units))
            for e in entries
            for line, p in enumerate(e.postings, 1)
        ]
        dialect = self._connection.dialect
        heads = _ENTRIES.driver_rows(dialect, entry_rows)
        lines = _POSTINGS.driver_rows(dialect, posting_rows)
        await insert_rows(self._connection, (_ENTRIES, heads), (_POSTINGS, lines), converted=True)
        await queue_written(
            self._connection, RecordType.JOURNAL_ENTRY, (_ENTRIES, heads), (_POSTINGS, lines)
        )

    async def find(self, kind: EntryKind, source_type: str, source_id: str) -> JournalEntry | None:
        result = await self._connection.execute(
            select(journal_entries.c.id).where(
                journal_entries.c.kind == kind.value,
                journal_entries.c.source_type == source_type,
                journal_entries.c.source_id == source_id,
            )
        )
        entry_id = result.scalar_one_or_none()
        if entry_id is None:
            return None
        found = await self.entries(ids=[entry_id])
        return found[0]

    async def entries(
        self,
        start: date | None = None,
        end: date | None = None,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> list[JournalEntry]:
        """Entries booked in [start, end), in booking order, with their postings."""
        conditions = []
        if start is not None:
            conditions.append(journal_entries.c.booked_on >= start)
        if end is not None:
            conditions.append(journal_entries.c.booked_on < end)
        if ids is not None:
            conditions.append(journal_entries.c.id.in_(list(ids)))
        query = (
            select(journal_entries, postings.c.line, postings.c.account)
            .add_columns(postings.c.currency, postings.c.amount_minor)
            .join(postings, postings.c.entry_id == journal_entries.c.id)
            .where(and_(True, *conditions))
            .order_by(
                journal_entries.c.booked_on,
                journal_entries.c.created_at,
                journal_entries.c.id,
                postings.c.line,
            )
        )
        result = await self._connection.execute(query)
        grouped: dict[uuid.UUID, tuple[Any, list[Posting]]] = {}
        for row in result.mappings():
            _, lines = grouped.setdefault(row["id"], (row, []))
            units = Money.from_minor_units(row["amount_minor"], row["currency"])
            lines.append(Posting(row["account"], units))
        return [
            JournalEntry(
                kind=EntryKind(head["kind"]),
                booked_on=head["booked_on"],
                description=head["description"],
                postings=tuple(lines),
                source_type=head["source_type"],
                source_id=head["source_id"],
                id=head["id"],
                created_at=head["created_at"],
            )
            for head, lines in grouped.values()
        ]

    async def balances(self, prefix: str | None = None, until: date | None = None) -> list[Balance]:
        """Debits and credits per account and currency, for entries booked before ``until``.

        When no entry is booked on or after ``until`` (a balance as of today; the index on
        ``booked_on`` tells), every posting counts and is summed without joining each to its
        entry's date: that join was most of the trial balance's time (issue 16: office pages
        under 200 ms on the demo database)."""
        amount = postings.c.amount_minor
        query = select(
            postings.c.account,
            postings.c.currency,
            func.coalesce(func.sum(case((amount > 0, amount), else_=0)), 0).label("debit"),
            func.coalesce(func.sum(case((amount < 0, -amount), else_=0)), 0).label("credit"),
        ).group_by(postings.c.account, postings.c.currency)
        if prefix is not None:
            query = query.where(
                (postings.c.account == prefix) | postings.c.account.startswith(prefix + ":")
            )
        if until is not None and await self._booked_since(until):
            query = query.join(journal_entries, journal_entries.c.id == postings.c.entry_id).where(
                journal_entries.c.booked_on < until
            )
        result = await self._connection.execute(query.order_by(postings.c.account))
        return [
            _balance(row.account, Currency.of(row.currency), row.debit, row.credit)
            for row in result
        ]

    async def _booked_since(self, day: date) -> bool:
        query = select(journal_entries.c.id).where(journal_entries.c.booked_on >= day).limit(1)
        return (await self._connection.execute(query)).first() is not None

    async def statement(
        self, account: str, start: date | None, end: date | None
    ) -> list[tuple[JournalEntry, Posting]]:
        """The postings to one account in [start, end), each with its entry."""
        query = (
            select(journal_entries.c.id)
            .join(postings, postings.c.entry_id == journal_entries.c.id)
            .where(postings.c.account == account)
        )
        if start is not None:
            query = query.where(journal_entries.c.booked_on >= start)
        if end is not None:
            query = query.where(journal_entries.c.booked_on < end)
        ids = list((await self._connection.execute(query.distinct())).scalars())
        entries = await self.entries(ids=ids) if ids else []
        return [(e, p) for e in entries for p in e.postings if p.account == account]

    async def unbalanced(self) -> list[tuple[uuid.UUID, str, Decimal]]:
        """Entries whose postings do not add up to zero in some currency (should be none)."""
        query = (
            select(postings.c.entry_id, postings.c.currency, func.sum(postings.c.amount_minor))
            .group_by(postings.c.entry_id, postings.c.currency)
            .having(func.sum(postings.c.amount_minor) != 0)
        )
        result = await self._connection.execute(query)
        return [(row[0], row[1], _decimal(int(row[2]), Currency.of(row[1]))) for row in result]

    async def count(self) -> tuple[int, int]:
        entries = await self._connection.execute(select(func.count()).select_from(journal_entries))
        lines = await self._connection.execute(select(func.count()).select_from(postings))
        return int(entries.scalar_one()), int(lines.scalar_one())

    async def sources(self, kind: EntryKind, source_type: str) -> set[str]:
        """The source ids booked with ``kind``: what the invariant check compares against."""
        result = await self._connection.execute(
            select(journal_entries.c.source_id).where(
                journal_entries.c.kind == kind.value, journal_entries.c.source_type == source_type
            )
        )
        return set(result.scalars())
