"""Wallet rules and the stops asked of stations for payment: part of the payment repository
(``uow.payments``), kept in their own module."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.payment_tables import payment_stops, wallet_settings
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates, upsert
from chargeledger.domain.wallets import STOP_ACCEPTED, StopReason, StopRequest, WalletSettings
from chargeledger.money import Currency


def _amount(value: object, quantum: Decimal) -> Decimal | None:
    """Back in the currency's minor units (stored with four decimals)."""
    return None if value is None else Decimal(str(value)).quantize(quantum)


def _stop(row: RowMapping) -> StopRequest:
    return StopRequest(
        session_id=row["session_id"],
        reason=row["reason"],
        detail=row["detail"],
        cost=Decimal(row["cost"]),
        attempts=row["attempts"],
        requested_at=row["requested_at"],
        answer=row["answer"],
        answered_at=row["answered_at"],
    )


class WalletRows:
    _connection: AsyncConnection

    async def save_wallet(self, wallet: WalletSettings, at: datetime) -> None:
        row = {
            "account_id": wallet.account_id,
            "currency": wallet.currency.code,
            "minimum_balance": wallet.minimum_balance,
            "floor": wallet.floor,
            "auto_top_up": wallet.auto_top_up,
            "top_up_below": wallet.top_up_below,
            "top_up_amount": wallet.top_up_amount,
            "updated_at": at,
        }
        await upsert(self._connection, wallet_settings, row, ["account_id"])

    async def wallet(self, account_id: uuid.UUID) -> WalletSettings | None:
        query = select(wallet_settings).where(wallet_settings.c.account_id == account_id)
        row = (await self._connection.execute(query)).mappings().first()
        if row is None:
            return None
        currency = Currency.of(row["currency"])
        quantum = currency.quantum
        return WalletSettings(
            account_id=row["account_id"],
            currency=currency,
            minimum_balance=_amount(row["minimum_balance"], quantum),
            auto_top_up=row["auto_top_up"],
            top_up_below=Decimal(row["top_up_below"]).quantize(quantum),
            top_up_amount=Decimal(row["top_up_amount"]).quantize(quantum),
            floor=_amount(row["floor"], quantum),
        )

    async def claim_stop(
        self,
        session_id: uuid.UUID,
        reason: StopReason,
        detail: str,
        cost: Decimal,
        at: datetime,
        retry_before: datetime,
    ) -> int | None:
        """The attempt number this caller may send, or None when the stop was asked already:
        accepted by the station, or under way since ``retry_before`` or later. Concurrent
        callers get one attempt between them (the insert, or the conditional update). The
        first request's reason, detail and cost are kept."""
        row = {
            "session_id": session_id,
            "reason": reason.value,
            "detail": detail[:255],
            "cost": cost,
            "attempts": 1,
            "answer": None,
            "requested_at": at,
            "answered_at": None,
        }
        if await insert_ignoring_duplicates(self._connection, payment_stops, [row]) == 1:
            return 1
        c = payment_stops.c
        retry = or_(
            and_(c.answer.is_not(None), c.answer != STOP_ACCEPTED),
            and_(c.answer.is_(None), c.requested_at < retry_before),
        )
        claimed = await self._connection.execute(
            update(payment_stops)
            .where(and_(c.session_id == session_id, retry))
            .values(attempts=c.attempts + 1, answer=None, answered_at=None, requested_at=at)
        )
        if not claimed.rowcount:
            return None
        found = await self.stop_request(session_id)
        return None if found is None else found.attempts

    async def answer_stop(
        self, session_id: uuid.UUID, attempt: int, answer: str, at: datetime
    ) -> None:
        c = payment_stops.c
        await self._connection.execute(
            update(payment_stops)
            .where(and_(c.session_id == session_id, c.attempts == attempt))
            .values(answer=answer[:32], answered_at=at)
        )

    async def stop_request(self, session_id: uuid.UUID) -> StopRequest | None:
        query = select(payment_stops).where(payment_stops.c.session_id == session_id)
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else _stop(row)
