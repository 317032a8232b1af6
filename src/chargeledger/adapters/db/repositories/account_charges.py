"""The billing repository's page of one account's charges in the order they were booked: a
roaming partner's CDRs (OCPI 2.2.1 §10.2.1), read a page at a time since they grow without
end (the ``ix_charges_account_id_started_at`` index finds the account's rows); and the page
of all of its CDRs, its re-pricings' credit and new CDRs among them (§10.1.1), in the order
they were issued (one query over both tables: a new charge never moves a re-pricing's CDR
from one page to another)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import charges, repricings
from chargeledger.adapters.db.repositories.billing_rows import charge_of
from chargeledger.domain.billing import Charge
from chargeledger.domain.ocpi_cdrs import CdrEntry


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

    async def cdrs_of_account(
        self,
        account_id: uuid.UUID,
        issued_from: datetime | None,
        issued_before: datetime | None,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[CdrEntry], int]:
        c, r = charges.c, repricings.c

        def window(moment: Any) -> list[Any]:
            where = []
            if issued_from is not None:
                where.append(moment >= issued_from)
            if issued_before is not None:
                where.append(moment < issued_before)
            return where

        def rows(version: Any, part: int, at: Any, row_id: Any, session: Any) -> Any:
            return select(
                session.label("session_id"),
                version.label("version"),
                literal(part, Integer).label("part"),
                at.label("at"),
                row_id.label("row_id"),
            )

        listed = union_all(
            rows(literal(0, Integer), 1, c.created_at, c.id, c.session_id).where(
                c.account_id == account_id, *window(c.created_at)
            ),
            *(
                rows(r.sequence, part, r.created_at, r.id, r.session_id).where(
                    r.account_id == account_id, *window(r.created_at)
                )
                for part in (0, 1)  # a re-pricing's credit CDR, then its new CDR
            ),
        ).subquery()
        total = (
            await self._connection.execute(select(func.count()).select_from(listed))
        ).scalar_one()
        page = (
            select(listed)
            .order_by(listed.c.at, listed.c.row_id, listed.c.part)
            .limit(limit)
            .offset(offset)
        )
        found = (await self._connection.execute(page)).mappings()
        entries = [
            CdrEntry(row["session_id"], int(row["version"]), row["part"] == 0, row["at"])
            for row in found
        ]
        return entries, int(total)
