"""Payout reconciliation's storage (issue 13): ``payout_items`` and reads of what the ledger
and the bank statements already hold about each payout.

The payouts themselves are the ledger's ``payout`` entries (``paid_out``: Bank net, PSPFees
fee, PSP gross); their bank line is the statement entry matched to them
(``bank_entries.payout_id``); our view of a PSP payment is its ``captured`` and ``refunded``
events (``payment_events``). Nothing is stored twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import bank_entries, journal_entries, postings
from chargeledger.adapters.db.dispute_tables import disputes
from chargeledger.adapters.db.payment_tables import payment_events, payments, payout_items
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.domain.bank_entries import EntryState
from chargeledger.domain.dispute_postings import SOURCE_TYPE as CHARGEBACK_SOURCE
from chargeledger.domain.ledger import BANK, PSP_FEES, EntryKind, psp
from chargeledger.domain.payments import EventKind
from chargeledger.domain.payout_reconciliation import (
    BankLine,
    BookedPayment,
    ItemKind,
    PayoutItem,
)
from chargeledger.money import Currency, Money
from chargeledger.services.paging import Page
from chargeledger.services.payments.payout_ports import BookedPayoutRecord

_PSP = "Assets:PSP:"


class SqlPayoutRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_items(
        self, gateway: str, payout_id: str, items: Sequence[PayoutItem], at: datetime
    ) -> int:
        rows = [
            {
                "gateway": gateway,
                "item_id": item.item_id,
                "payout_id": payout_id,
                "position": position,
                "kind": item.kind.value,
                "provider_ref": item.provider_ref,
                "payment_id": item.payment_id,
                "currency": item.amount.currency.code,
                "amount": item.amount.amount,
                "fee": item.fee.amount,
                "description": item.description,
                "booked_at": at,
            }
            for position, item in enumerate(items)
        ]
        added = 0
        for row in rows:  # one at a time: the count of a batch is not exact on every driver
            added += await insert_ignoring_duplicates(self._connection, payout_items, [row])
        return added

    async def items(self, payout_ids: Collection[str]) -> dict[str, list[PayoutItem]]:
        found: dict[str, list[PayoutItem]] = {payout_id: [] for payout_id in payout_ids}
        if not payout_ids:
            return found
        result = await self._connection.execute(
            select(payout_items)
            .where(payout_items.c.payout_id.in_(list(payout_ids)))
            .order_by(payout_items.c.payout_id, payout_items.c.position)
        )
        for row in result:
            quantum = Currency.of(row.currency).quantum
            found[row.payout_id].append(
                PayoutItem(
                    item_id=row.item_id,
                    kind=ItemKind(row.kind),
                    amount=Money(row.amount.quantize(quantum), row.currency),
                    fee=Money(row.fee.quantize(quantum), row.currency),
                    provider_ref=row.provider_ref,
                    payment_id=row.payment_id,
                    description=row.description,
                )
            )
        return found

    async def booked_payments(
        self, gateway: str, provider_refs: Collection[str]
    ) -> dict[str, BookedPayment]:
        if not provider_refs:
            return {}
        result = await self._connection.execute(
            select(
                payment_events.c.provider_ref,
                payment_events.c.payment_id,
                payment_events.c.kind,
                payment_events.c.amount,
                payments.c.currency,
            )
            .join(payments, payments.c.id == payment_events.c.payment_id)
            .where(
                payments.c.gateway == gateway,
                payment_events.c.provider_ref.in_(list(provider_refs)),
                payment_events.c.kind.in_([EventKind.CAPTURED.value, EventKind.REFUNDED.value]),
            )
            .order_by(payment_events.c.at, payment_events.c.id)
        )
        captured: dict[str, Decimal] = {}
        refunds: dict[str, list[Decimal]] = {}
        ours: dict[str, uuid.UUID] = {}
        for ref, payment_id, kind, stored, currency in result:
            ours[ref] = payment_id
            amount = stored.quantize(Currency.of(currency).quantum)
            refunds.setdefault(ref, [])
            if kind == EventKind.CAPTURED.value:
                captured[ref] = captured.get(ref, Decimal(0)) + amount
            else:
                refunds[ref].append(amount)
        moved = await self._chargebacks(gateway, ours)
        return {
            ref: BookedPayment(
                ref,
                payment_id,
                captured.get(ref, Decimal(0)),
                tuple(refunds[ref]),
                tuple(moved.get(payment_id, ())),
            )
            for ref, payment_id in ours.items()
        }

    async def _chargebacks(
        self, gateway: str, ours: dict[str, uuid.UUID]
    ) -> dict[uuid.UUID, list[Decimal]]:
        """What each payment's chargebacks moved on the PSP's account, as booked (issue 15)."""
        if not ours:
            return {}
        result = await self._connection.execute(
            select(disputes.c.payment_id, postings.c.amount_minor, postings.c.currency)
            .join(
                journal_entries,
                (journal_entries.c.source_type == CHARGEBACK_SOURCE)
                & (journal_entries.c.source_id == disputes.c.psp_dispute_id),
            )
            .join(postings, postings.c.entry_id == journal_entries.c.id)
            .where(
                disputes.c.payment_id.in_(list(ours.values())),
                journal_entries.c.kind.in_(
                    [EntryKind.CHARGEBACK.value, EntryKind.CHARGEBACK_REVERSED.value]
                ),
                postings.c.account == psp(gateway),
            )
        )
        moved: dict[uuid.UUID, list[Decimal]] = {}
        for payment_id, minor, currency in result:
            amount = Money.from_minor_units(int(minor), currency).amount
            moved.setdefault(payment_id, []).append(amount)
        return moved

    def _payouts(self) -> Any:
        return select(
            journal_entries.c.id, journal_entries.c.source_id, journal_entries.c.booked_on
        ).where(
            journal_entries.c.kind == EntryKind.PAYOUT.value,
            journal_entries.c.source_type == "payout",
        )

    async def booked_payouts(self, *, limit: int, offset: int) -> Page[BookedPayoutRecord]:
        query = self._payouts().order_by(
            journal_entries.c.booked_on.desc(), journal_entries.c.source_id.desc()
        )
        rows = list(await self._connection.execute(query.limit(limit + 1).offset(offset)))
        records = await self._records(rows[:limit])
        more = len(rows) > limit
        return Page(items=records, next_offset=offset + limit if more else None)

    async def booked_payout(self, payout_id: str) -> BookedPayoutRecord | None:
        query = self._payouts().where(journal_entries.c.source_id == payout_id)
        found = await self._records(list(await self._connection.execute(query)))
        return found[0] if found else None

    async def _records(self, rows: Sequence[Any]) -> list[BookedPayoutRecord]:
        if not rows:
            return []
        entry_ids = [row.id for row in rows]
        legs: dict[uuid.UUID, dict[str, Money]] = {entry_id: {} for entry_id in entry_ids}
        for entry_id, account, currency, minor in await self._connection.execute(
            select(
                postings.c.entry_id,
                postings.c.account,
                postings.c.currency,
                postings.c.amount_minor,
            ).where(postings.c.entry_id.in_(entry_ids))
        ):
            legs[entry_id][account] = Money.from_minor_units(int(minor), currency)
        lines = await self._bank_lines([row.source_id for row in rows])
        records = []
        for row in rows:
            leg = legs[row.id]
            [psp_account] = [a for a in leg if a.startswith(_PSP)]
            # A payout its fees ate whole brought nothing: its entry has no Bank line.
            net = leg.get(BANK, Money.zero(leg[psp_account].currency.code))
            records.append(
                BookedPayoutRecord(
                    payout_id=row.source_id,
                    psp_account=psp_account,
                    booked_on=row.booked_on,
                    gross=-leg[psp_account],
                    fee=leg.get(PSP_FEES, Money.zero(net.currency.code)),
                    net=net,
                    bank_line=lines.get(row.source_id),
                )
            )
        return records

    async def _bank_lines(self, payout_ids: Sequence[str]) -> dict[str, BankLine]:
        result = await self._connection.execute(
            select(
                bank_entries.c.payout_id,
                bank_entries.c.entry_ref,
                bank_entries.c.amount,
                bank_entries.c.currency,
                bank_entries.c.booking_date,
            ).where(
                bank_entries.c.payout_id.in_(list(payout_ids)),
                bank_entries.c.state == EntryState.MATCHED.value,
            )
        )
        return {
            payout_id: BankLine(
                entry_ref, Money(amount.quantize(Currency.of(currency).quantum), currency), day
            )
            for payout_id, entry_ref, amount, currency, day in result
        }
