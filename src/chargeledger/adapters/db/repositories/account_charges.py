"""The billing repository's page of one account's charges in the order they were booked: a
roaming partner's CDRs (OCPI 2.2.1 §10.2.1), read a page at a time since they grow without
end (the ``ix_charges_account_id_started_at`` index finds the account's rows)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import charges
from chargeledger.adapters.db.repositories.billing_rows import charge_of
from chargeledger.domain.billing import Charge


class AccountCharges:
    """Part of ``SqlBillingRepository`` (kept apart so each module stays small)."""

    _connection: AsyncConnection

    async def charges_of_account(
        self,
        account_id: uuid.UUID,
        booked_from: datetime | None,
        booked_before: datetime | None,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[Charge], int]:
        c = charges.c
        where = [c.account_id == account_id]
        if booked_from is not None:
            where.append(c.created_at >= booked_from)
        if booked_before is not None:
            where.append(c.created_at < booked_before)
        counted = select(func.count()).select_from(charges).where(*where)
        total = (await self._connection.execute(counted)).scalar_one()
        query = (
            select(charges).where(*where).order_by(c.created_at, c.id).limit(limit).offset(offset)
        )
        rows = (await self._connection.execute(query)).mappings()
        return [charge_of(row) for row in rows], int(total)
