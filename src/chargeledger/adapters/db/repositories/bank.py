"""Imported bank statements and their entries (issue 13)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import (
    bank_entries,
    bank_statements,
    journal_entries,
    postings,
)
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.bank_matching import BookedPayout
from chargeledger.domain.bank_statements import (
    BankTransactionCode,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.domain.ids import new_id
from chargeledger.domain.ledger import BANK, EntryKind
from chargeledger.money import Money
from chargeledger.services.billing.bank_ports import StoredStatement
from chargeledger.services.paging import Page

_BATCH = 500


def _code_text(code: BankTransactionCode | None) -> str | None:
    if code is None:
        return None
    parts = [code.domain, code.family, code.sub_family, code.proprietary]
    return "/".join(p or "" for p in parts)[:64]


def _code_of(text: str | None) -> BankTransactionCode | None:
    if not text:
        return None
    domain, family, sub_family, proprietary = [*text.split("/"), "", "", ""][:4]
    return BankTransactionCode(
        domain or None, family or None, sub_family or None, proprietary or None
    )


def entry_row(record: BankEntry) -> dict[str, Any]:
    entry = record.entry
    return {
        "id": record.id,
        "statement_id": record.statement_row,
        "account_iban": record.account_iban,
        "entry_ref": entry.entry_ref,
        "booking_date": entry.booking_date,
        "value_date": entry.value_date,
        "amount": entry.amount.amount,
        "currency": entry.amount.currency.code,
        "direction": entry.direction.value,
        "entry_status": entry.status.value,
        "reversal": entry.reversal,
        "return_reason": entry.return_reason,
        "end_to_end_id": entry.end_to_end_id,
        "counterparty_name": (entry.counterparty_name or None) and entry.counterparty_name[:140],
        "counterparty_iban": entry.counterparty_iban,
        "counterparty_bic": entry.counterparty_bic,
        "remittance": entry.remittance_unstructured,
        "creditor_reference": entry.creditor_reference,
        "batch_ref": entry.batch_ref,
        "bank_code": _code_text(entry.bank_transaction_code),
        "state": record.state.value,
        "rule": record.rule,
        "confidence": record.confidence,
        "invoice_id": record.invoice_id,
        "account_id": record.account_id,
        "payout_id": record.payout_id,
        "decided_by": record.decided_by,
        "decided_at": record.decided_at,
        "note": record.note,
        "imported_at": record.imported_at,
    }


def entry_of(row: Any) -> BankEntry:
    entry = StatementEntry(
        entry_ref=row.entry_ref,
        amount=Money(row.amount, row.currency),
        direction=Direction(row.direction),
        status=EntryStatus(row.entry_status),
        booking_date=row.booking_date,
        value_date=row.value_date,
        reversal=row.reversal,
        bank_transaction_code=_code_of(row.bank_code),
        return_reason=row.return_reason,
        end_to_end_id=row.end_to_end_id,
        counterparty_name=row.counterparty_name,
        counterparty_iban=row.counterparty_iban,
        counterparty_bic=row.counterparty_bic,
        remittance_unstructured=row.remittance,
        creditor_reference=row.creditor_reference,
        batch_ref=row.batch_ref,
    )
    return BankEntry(
        entry=entry,
        account_iban=row.account_iban,
        state=EntryState(row.state),
        imported_at=row.imported_at,
        statement_row=row.statement_id,
        rule=row.rule,
        confidence=row.confidence,
        invoice_id=row.invoice_id,
        account_id=row.account_id,
        payout_id=row.payout_id,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        id=row.id,
    )


class SqlBankRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_statement(
        self,
        statement: Statement,
        imported_at: datetime,
        imported_by: str | None,
        filename: str | None,
    ) -> uuid.UUID:
        """The stored statement's row id; an import of the same statement again finds it."""
        row = {
            "id": new_id(),
            "account_iban": statement.account_iban,
            "statement_id": statement.statement_id[:64],
            "currency": statement.currency.code,
            "from_date": statement.from_date,
            "to_date": statement.to_date,
            "created_at": statement.created_at,
            "imported_at": imported_at,
            "imported_by": imported_by,
            "filename": (filename or None) and filename[:255],
        }
        await insert_ignoring_duplicates(self._connection, bank_statements, [row])
        found = await self._connection.execute(
            select(bank_statements.c.id).where(
                bank_statements.c.account_iban == row["account_iban"],
                bank_statements.c.statement_id == row["statement_id"],
            )
        )
        return uuid.UUID(str(found.scalar_one()))

    async def known_refs(self, account_iban: str, refs: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(refs), _BATCH):
            result = await self._connection.execute(
                select(bank_entries.c.entry_ref).where(
                    bank_entries.c.account_iban == account_iban,
                    bank_entries.c.entry_ref.in_(list(refs[start : start + _BATCH])),
                )
            )
            found.update(result.scalars())
        return found

    async def add_entries(self, records: Sequence[BankEntry]) -> None:
        rows = [entry_row(r) for r in records]
        for start in range(0, len(rows), _BATCH):
            await insert_ignoring_duplicates(
                self._connection, bank_entries, rows[start : start + _BATCH]
            )

    async def get(self, entry_id: uuid.UUID) -> BankEntry | None:
        result = await self._connection.execute(
            select(bank_entries).where(bank_entries.c.id == entry_id)
        )
        row = result.first()
        return None if row is None else entry_of(row)

    async def entries(
        self,
        state: EntryState | None,
        *,
        limit: int,
        offset: int,
        statement_row: uuid.UUID | None = None,
    ) -> Page[BankEntry]:
        query = select(bank_entries)
        if state is not None:
            query = query.where(bank_entries.c.state == state.value)
        if statement_row is not None:
            query = query.where(bank_entries.c.statement_id == statement_row)
        query = query.order_by(
            bank_entries.c.booking_date, bank_entries.c.imported_at, bank_entries.c.id
        )
        result = await self._connection.execute(query.limit(limit + 1).offset(offset))
        items = [entry_of(row) for row in result]
        more = len(items) > limit
        return Page(items=items[:limit], next_offset=offset + limit if more else None)

    async def statements(self, *, limit: int, offset: int) -> Page[StoredStatement]:
        query = select(bank_statements).order_by(
            bank_statements.c.imported_at.desc(), bank_statements.c.id
        )
        result = await self._connection.execute(query.limit(limit + 1).offset(offset))
        items = [_statement_of(row) for row in result]
        more = len(items) > limit
        return Page(items=items[:limit], next_offset=offset + limit if more else None)

    async def statement(self, statement_row: uuid.UUID) -> StoredStatement | None:
        result = await self._connection.execute(
            select(bank_statements).where(bank_statements.c.id == statement_row)
        )
        row = result.first()
        return None if row is None else _statement_of(row)

    async def decide(
        self,
        entry_id: uuid.UUID,
        state: EntryState,
        *,
        rule: str,
        invoice_id: uuid.UUID | None,
        account_id: uuid.UUID | None,
        decided_by: str,
        decided_at: datetime,
        note: str | None,
    ) -> bool:
        """Record finance's decision on an unmatched entry; False when it was decided
        already (two clerks at once: the second is told, nothing is booked twice)."""
        result = await self._connection.execute(
            update(bank_entries)
            .where(
                bank_entries.c.id == entry_id,
                bank_entries.c.state == EntryState.UNMATCHED.value,
            )
            .values(
                state=state.value,
                rule=rule,
                confidence=Decimal("1.00"),
                invoice_id=invoice_id,
                account_id=account_id,
                decided_by=decided_by,
                decided_at=decided_at,
                note=note,
            )
        )
        return int(result.rowcount or 0) == 1

    async def known_ibans(self) -> dict[str, set[uuid.UUID]]:
        """Payer IBANs of entries set against a customer, with those customers."""
        result = await self._connection.execute(
            select(bank_entries.c.counterparty_iban, bank_entries.c.account_id)
            .where(
                bank_entries.c.account_id.is_not(None),
                bank_entries.c.counterparty_iban.is_not(None),
                bank_entries.c.state.in_([EntryState.MATCHED.value, EntryState.CREDITED.value]),
            )
            .distinct()
        )
        found: dict[str, set[uuid.UUID]] = {}
        for iban, account_id in result:
            found.setdefault(iban, set()).add(account_id)
        return found

    async def paid_by(self, end_to_end_ids: Sequence[str]) -> dict[str, BankEntry]:
        """Matched credits by their end-to-end id (what a returned payment names)."""
        found: dict[str, BankEntry] = {}
        for start in range(0, len(end_to_end_ids), _BATCH):
            result = await self._connection.execute(
                select(bank_entries).where(
                    bank_entries.c.end_to_end_id.in_(list(end_to_end_ids[start : start + _BATCH])),
                    bank_entries.c.direction == Direction.CREDIT.value,
                    bank_entries.c.state == EntryState.MATCHED.value,
                )
            )
            for row in result:
                found[row.end_to_end_id] = entry_of(row)
        return found

    async def open_payouts(self) -> list[BookedPayout]:
        """PSP payouts booked (``paid_out``) whose bank line has not been seen yet."""
        seen = select(bank_entries.c.payout_id).where(bank_entries.c.payout_id.is_not(None))
        result = await self._connection.execute(
            select(
                journal_entries.c.source_id,
                journal_entries.c.booked_on,
                postings.c.currency,
                postings.c.amount_minor,
            )
            .join(postings, postings.c.entry_id == journal_entries.c.id)
            .where(
                journal_entries.c.kind == EntryKind.PAYOUT.value,
                journal_entries.c.source_type == "payout",
                postings.c.account == BANK,
                journal_entries.c.source_id.not_in(seen),
            )
            .order_by(journal_entries.c.booked_on, journal_entries.c.source_id)
        )
        return [
            BookedPayout(
                payout_id,
                Money.from_minor_units(int(minor), currency),
                booked_on,
            )
            for payout_id, booked_on, currency, minor in result
        ]


def _statement_of(row: Any) -> StoredStatement:
    return StoredStatement(
        id=uuid.UUID(str(row.id)),
        account_iban=row.account_iban,
        statement_id=row.statement_id,
        currency=row.currency,
        from_date=row.from_date,
        to_date=row.to_date,
        created_at=row.created_at,
        imported_at=row.imported_at,
        imported_by=row.imported_by,
        filename=row.filename,
    )
