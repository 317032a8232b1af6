"""The sandbox PSP's state in our database (issue 11 item 13; tables in ``sandbox_tables.py``).

A turn at the PSP (:meth:`SqlSandboxStore.change`) is one transaction. Turns about one card
or one payment queue on that row's lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
writers take turns anyway, here on the units of work's write lock, ``transaction.py``), across
processes too (``serve`` and the CLI's ``payments janitor`` on one database), the way a PSP
serialises the requests about one payment; turns about different payments run side by side.
An idempotency key is answered inside the turn that locked its card or payment, so the same
request twice at once gets one answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from chargeledger.adapters.db.sandbox_tables import (
    sandbox_answers,
    sandbox_cards,
    sandbox_counters,
    sandbox_ids,
    sandbox_payments,
    sandbox_payout_items,
    sandbox_payouts,
    sandbox_refunds,
    sandbox_webhooks,
)
from chargeledger.adapters.db.transaction import LazyConnection
from chargeledger.adapters.gateways.sandbox_store import (
    PendingWebhook,
    SandboxCard,
    SandboxHold,
    SandboxTransaction,
    StoredAnswer,
)
from chargeledger.domain.payout_reconciliation import ItemKind, PayoutItem
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, Money
from chargeledger.services.payments.gateway import GatewayResult, Outcome, Payout
from chargeledger.services.ports import Clock

SEQUENCE = "ids"


class SqlSandboxStore:
    """The simulator's memory, in the ``sandbox_*`` tables of the server's database."""

    def __init__(self, connect: Callable[[], LazyConnection], clock: Clock) -> None:
        self._connect = connect
        self._clock = clock

    @asynccontextmanager
    async def change(self) -> AsyncIterator[SandboxTransaction]:
        connection = self._connect()
        try:
            yield _SqlTransaction(connection, self._clock)
            await connection.commit()
        finally:
            await connection.rollback()  # after an error; a no-op once committed

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SandboxTransaction]:
        connection = self._connect()
        try:
            yield _SqlTransaction(connection, self._clock)
        finally:
            await connection.rollback()


def _amount(value: Decimal, currency: str) -> Decimal:
    """Amounts are stored with four decimals; the PSP speaks in the currency's minor units."""
    return value.quantize(Currency.of(currency).quantum)


class _SqlTransaction:
    def __init__(self, connection: LazyConnection, clock: Clock) -> None:
        self._connection: Any = connection
        self._clock = clock

    async def _rows(self, statement: Any) -> list[RowMapping]:
        return list((await self._connection.execute(statement)).mappings())

    async def next_number(self) -> int:
        if self._connection.dialect.name == "postgresql":
            return int(
                (await self._connection.execute(select(sandbox_ids.next_value()))).scalar_one()
            )
        bump = (
            update(sandbox_counters)
            .where(sandbox_counters.c.name == SEQUENCE)
            .values(value=sandbox_counters.c.value + 1)
            .returning(sandbox_counters.c.value)
        )
        number = (await self._connection.execute(bump)).scalar()
        if number is None:  # the first number ever drawn
            await self._connection.execute(insert(sandbox_counters).values(name=SEQUENCE, value=1))
            number = 1
        return int(number)

    # --- cards --------------------------------------------------------------------------

    async def card(self, token: str, lock: bool = False) -> SandboxCard | None:
        query = select(sandbox_cards).where(sandbox_cards.c.token == token)
        rows = await self._rows(query.with_for_update() if lock else query)
        if not rows:
            return None
        row = rows[0]
        return SandboxCard(
            row["token"],
            row["brand"],
            row["last4"],
            row["exp_month"],
            row["exp_year"],
            row["behaviour"],
        )

    async def add_card(self, card: SandboxCard) -> None:
        row = {
            "token": card.token,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "behaviour": card.behaviour,
            "created_at": self._clock.now(),
        }
        await self._connection.execute(insert(sandbox_cards).values(row))

    # --- payments and refunds -----------------------------------------------------------

    async def _holds(self, query: Any) -> list[SandboxHold]:
        rows = await self._rows(query)
        refs = [row["provider_ref"] for row in rows if row["refunded"]]
        refunds: dict[str, list[tuple[str, Decimal]]] = {row["provider_ref"]: [] for row in rows}
        if refs:
            found = await self._rows(
                select(sandbox_refunds)
                .where(sandbox_refunds.c.provider_ref.in_(refs))
                .order_by(sandbox_refunds.c.seq)
            )
            currency = {row["provider_ref"]: row["currency"] for row in rows}
            for refund in found:
                ref = refund["provider_ref"]
                refunds[ref].append(
                    (refund["refund_ref"], _amount(refund["amount"], currency[ref]))
                )
        return [_hold(row, refunds[row["provider_ref"]]) for row in rows]

    async def hold(self, provider_ref: str, lock: bool = False) -> SandboxHold | None:
        query = select(sandbox_payments).where(sandbox_payments.c.provider_ref == provider_ref)
        found = await self._holds(query.with_for_update() if lock else query)
        return found[0] if found else None

    async def newest_hold(self, reference: str) -> SandboxHold | None:
        found = await self._holds(
            select(sandbox_payments)
            .where(sandbox_payments.c.reference == reference)
            .order_by(sandbox_payments.c.seq.desc())
            .limit(1)
        )
        return found[0] if found else None

    async def add_hold(self, hold: SandboxHold) -> None:
        row = _hold_row(hold) | {
            "provider_ref": hold.provider_ref,
            "seq": hold.seq,
            "reference": hold.reference,
            "currency": hold.currency,
            "token": hold.token,
            "behaviour": hold.behaviour,
            "created_at": self._clock.now(),
        }
        await self._connection.execute(insert(sandbox_payments).values(row))

    async def save_hold(self, hold: SandboxHold) -> None:
        await self._connection.execute(
            update(sandbox_payments)
            .where(sandbox_payments.c.provider_ref == hold.provider_ref)
            .values(_hold_row(hold))
        )

    async def add_refund(
        self, hold: SandboxHold, refund_ref: str, seq: int, amount: Decimal
    ) -> None:
        row = {
            "refund_ref": refund_ref,
            "provider_ref": hold.provider_ref,
            "seq": seq,
            "amount": amount,
            "created_at": self._clock.now(),
        }
        await self._connection.execute(insert(sandbox_refunds).values(row))

    async def unsettled_holds(self, currency: str) -> list[SandboxHold]:
        return await self._holds(
            select(sandbox_payments)
            .where(
                sandbox_payments.c.currency == currency,
                sandbox_payments.c.awaiting_payout.is_(True),
            )
            .order_by(sandbox_payments.c.seq)
            .with_for_update()
        )

    async def holds(self) -> list[SandboxHold]:
        return await self._holds(select(sandbox_payments).order_by(sandbox_payments.c.seq))

    # --- idempotency answers ------------------------------------------------------------

    async def answer(self, key: str) -> StoredAnswer | None:
        rows = await self._rows(select(sandbox_answers).where(sandbox_answers.c.key == key))
        if not rows:
            return None
        row = rows[0]
        result = GatewayResult(
            Outcome(row["outcome"]),
            Decimal(row["amount"]),
            row["provider_ref"],
            row["decline_code"],
            row["refund_ref"],
        )
        return StoredAnswer(row["fingerprint"], result)

    async def save_answer(self, key: str, answer: StoredAnswer) -> None:
        result = answer.result
        row = {
            "key": key,
            "fingerprint": answer.fingerprint,
            "outcome": result.outcome.value,
            "amount": str(result.amount),
            "provider_ref": result.provider_ref,
            "decline_code": result.decline_code,
            "refund_ref": result.refund_ref,
            "created_at": self._clock.now(),
        }
        try:
            await self._connection.execute(insert(sandbox_answers).values(row))
        except IntegrityError as exc:
            # Another turn answered this key meanwhile, for a request about another card or
            # payment (one about the same one would have waited for it): not this request.
            raise InvalidInputError(
                "idempotency key reused with other parameters", code="idempotency_mismatch"
            ) from exc

    # --- payouts ------------------------------------------------------------------------

    async def add_payout(self, payout: Payout, seq: int) -> None:
        row = {
            "payout_id": payout.payout_id,
            "seq": seq,
            "currency": payout.gross.currency.code,
            "gross": payout.gross.amount,
            "fee": payout.fee.amount,
            "arrival": payout.arrival,
            "created_at": self._clock.now(),
        }
        await self._connection.execute(insert(sandbox_payouts).values(row))

        pending = {a.item_id for a in await self.pending_adjustments(payout.gross.currency.code)}
        for position, item in enumerate(payout.items):
            if item.item_id in pending:
                await self._connection.execute(
                    update(sandbox_payout_items)
                    .where(sandbox_payout_items.c.item_id == item.item_id)
                    .values(payout_id=payout.payout_id, position=position)
                )
            else:
                await self._connection.execute(
                    insert(sandbox_payout_items).values(
                        _item_row(item, payout.payout_id, position, self._clock.now())
                    )
                )

    async def payouts(self, since: date) -> list[Payout]:
        rows = await self._rows(
            select(sandbox_payouts)
            .where(sandbox_payouts.c.arrival >= since)
            .order_by(sandbox_payouts.c.seq)
        )
        items = await self._items(
            sandbox_payout_items.c.payout_id.in_([r["payout_id"] for r in rows])
        )
        return [
            Payout(
                payout_id=row["payout_id"],
                gross=Money.of(_amount(row["gross"], row["currency"]), row["currency"]),
                fee=Money.of(_amount(row["fee"], row["currency"]), row["currency"]),
                arrival=row["arrival"],
                items=tuple(i for p, i in items if p == row["payout_id"]),
            )
            for row in rows
        ]

    async def _items(self, where: Any) -> list[tuple[str | None, PayoutItem]]:
        rows = await self._rows(
            select(sandbox_payout_items)
            .where(where)
            .order_by(sandbox_payout_items.c.position, sandbox_payout_items.c.item_id)
        )
        return [(row["payout_id"], _item(row)) for row in rows]

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]:
        found = await self._items(sandbox_payout_items.c.payout_id == payout_id)
        return tuple(item for _, item in found)

    async def add_adjustment(self, item: PayoutItem) -> None:
        row = _item_row(item, None, 0, self._clock.now())
        await self._connection.execute(insert(sandbox_payout_items).values(row))

    async def pending_adjustments(self, currency: str) -> list[PayoutItem]:
        rows = await self._rows(
            select(sandbox_payout_items)
            .where(
                sandbox_payout_items.c.currency == currency,
                sandbox_payout_items.c.payout_id.is_(None),
            )
            .order_by(sandbox_payout_items.c.created_at, sandbox_payout_items.c.item_id)
            .with_for_update()
        )
        return [_item(row) for row in rows]

    # --- webhooks -----------------------------------------------------------------------

    async def add_webhook(self, event_id: str, seq: int, body: str, at: datetime) -> None:
        row = {"event_id": event_id, "seq": seq, "body": body, "rounds": 1, "created_at": at}
        await self._connection.execute(insert(sandbox_webhooks).values(row))

    async def pending_webhooks(self, max_rounds: int) -> list[PendingWebhook]:
        rows = await self._rows(
            select(sandbox_webhooks)
            .where(
                sandbox_webhooks.c.delivered_at.is_(None),
                sandbox_webhooks.c.rounds < max_rounds,
            )
            .order_by(sandbox_webhooks.c.seq)
        )
        return [PendingWebhook(row["event_id"], row["body"], row["rounds"]) for row in rows]

    async def webhook_round(self, event_id: str, rounds: int) -> None:
        await self._connection.execute(
            update(sandbox_webhooks)
            .where(sandbox_webhooks.c.event_id == event_id)
            .values(rounds=rounds)
        )

    async def webhook_delivered(self, event_id: str, at: datetime) -> None:
        await self._connection.execute(
            update(sandbox_webhooks)
            .where(sandbox_webhooks.c.event_id == event_id)
            .values(delivered_at=at)
        )


def _item_row(
    item: PayoutItem, payout_id: str | None, position: int, at: datetime
) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "payout_id": payout_id,
        "position": position,
        "kind": item.kind.value,
        "provider_ref": item.provider_ref,
        "reference": None if item.payment_id is None else str(item.payment_id),
        "currency": item.amount.currency.code,
        "amount": item.amount.amount,
        "fee": item.fee.amount,
        "description": item.description,
        "created_at": at,
    }


def _item(row: RowMapping) -> PayoutItem:
    currency = row["currency"]
    return PayoutItem(
        item_id=row["item_id"],
        kind=ItemKind(row["kind"]),
        amount=Money.of(_amount(row["amount"], currency), currency),
        fee=Money.of(_amount(row["fee"], currency), currency),
        provider_ref=row["provider_ref"],
        payment_id=None if row["reference"] is None else uuid.UUID(row["reference"]),
        description=row["description"],
    )


def _hold_row(hold: SandboxHold) -> dict[str, Any]:
    """What changes on a payment at the PSP."""
    return {
        "held": hold.held,
        "captured": hold.captured,
        "refunded": hold.refunded,
        "released": hold.released,
        "declined": hold.declined,
        "paid_out": hold.paid_out,
        "fee": hold.fee,
        "awaiting_payout": hold.awaiting_payout,
    }


def _hold(row: RowMapping, refunds: list[tuple[str, Decimal]]) -> SandboxHold:
    currency = row["currency"]
    return SandboxHold(
        provider_ref=row["provider_ref"],
        seq=row["seq"],
        reference=row["reference"],
        currency=currency,
        token=row["token"],
        behaviour=row["behaviour"],
        held=_amount(row["held"], currency),
        captured=_amount(row["captured"], currency),
        refunds=refunds,
        released=row["released"],
        declined=row["declined"],
        paid_out=_amount(row["paid_out"], currency),
        fee=_amount(row["fee"], currency),
    )
