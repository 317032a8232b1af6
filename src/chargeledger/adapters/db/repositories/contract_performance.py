"""What a contract's performance report reads (issue 14): the charges of the sessions priced
under its versions or charged at its sites, and what it billed once per period
(``contract_billings``: revenue-share settlements, shortfalls). Mixed into
:class:`~chargeledger.adapters.db.repositories.contracts.SqlContractRepository`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import charges
from chargeledger.adapters.db.contract_tables import (
    contract_billings,
    contract_sites,
    contract_versions,
)
from chargeledger.adapters.db.repositories.billing_rows import charge_of
from chargeledger.adapters.db.repositories.contract_rows import billing_of
from chargeledger.adapters.db.tables import sessions
from chargeledger.domain.billing import Charge
from chargeledger.domain.contract_records import ContractBilling


class ContractPerformanceRows:
    _connection: AsyncConnection

    async def charges_under(
        self, contract_id: uuid.UUID, started_from: datetime, started_before: datetime
    ) -> list[Charge]:
        versions = select(contract_versions.c.id).where(
            contract_versions.c.contract_id == contract_id
        )
        query = (
            select(charges)
            .join(sessions, sessions.c.id == charges.c.session_id)
            .where(sessions.c.contract_version_id.in_(versions))
            .where(charges.c.started_at >= started_from, charges.c.started_at < started_before)
            .order_by(charges.c.started_at, charges.c.id)
        )
        rows = (await self._connection.execute(query)).mappings()
        return [charge_of(row) for row in rows]

    async def charges_at_sites(
        self, contract_id: uuid.UUID, started_from: datetime, started_before: datetime
    ) -> list[Charge]:
        sites = select(contract_sites.c.site_id).where(contract_sites.c.contract_id == contract_id)
        query = (
            select(charges)
            .where(charges.c.site_id.in_(sites))
            .where(charges.c.started_at >= started_from, charges.c.started_at < started_before)
            .order_by(charges.c.started_at, charges.c.id)
        )
        rows = (await self._connection.execute(query)).mappings()
        return [charge_of(row) for row in rows]

    async def billings_between(
        self, contract_id: uuid.UUID, kind: str, first: date, before: date
    ) -> list[ContractBilling]:
        query = (
            select(contract_billings)
            .where(contract_billings.c.contract_id == contract_id)
            .where(contract_billings.c.kind == kind)
            .where(
                contract_billings.c.period_start >= first,
                contract_billings.c.period_start < before,
            )
            .order_by(contract_billings.c.period_start)
        )
        rows = (await self._connection.execute(query)).mappings()
        return [billing_of(row) for row in rows]
