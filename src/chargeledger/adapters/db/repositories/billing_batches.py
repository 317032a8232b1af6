"""The billing repository's reads for whole batches (issue 17): what charging a batch of
captured sessions reads (``captured_reads``), how many charges each account has waiting and
which accounts of an invoice run's batch have a contract at all, each in set queries rather
than one query per session or account."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import billed_charges, charges
from chargeledger.adapters.db.contract_tables import contract_accounts, contracts
from chargeledger.adapters.db.repositories.base import chunks
from chargeledger.adapters.db.repositories.captured_reads import captured_batch
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.services.billing.charging_ports import CapturedBatch


class BatchReads:
    """Part of ``SqlBillingRepository`` (kept apart so each module stays small)."""

    _connection: AsyncConnection

    async def captured_batch(
        self, session_ids: Sequence[uuid.UUID], known_tariffs: Mapping[uuid.UUID, StoredTariff]
    ) -> CapturedBatch:
        return await captured_batch(self._connection, session_ids, known_tariffs)

    async def unbilled_counts(self) -> dict[uuid.UUID, int]:
        """How many charges each account has not been billed for yet (an invoice run sizes
        its transactions by them, issue 17)."""
        query = (
            select(charges.c.account_id, func.count())
            .outerjoin(billed_charges, billed_charges.c.charge_id == charges.c.id)
            .where(billed_charges.c.charge_id.is_(None), charges.c.account_id.is_not(None))
            .group_by(charges.c.account_id)
        )
        return {row[0]: int(row[1]) for row in await self._connection.execute(query)}

    async def accounts_under_contract(self, account_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``account_ids`` named by a contract, as its holder or as a member (the
        accounts ``ContractRepository.covering`` finds anything for)."""
        found: set[uuid.UUID] = set()
        for chunk in chunks(account_ids):
            query = union(
                select(contracts.c.account_id).where(contracts.c.account_id.in_(chunk)),
                select(contract_accounts.c.account_id).where(
                    contract_accounts.c.account_id.in_(chunk)
                ),
            )
            found |= set((await self._connection.execute(query)).scalars())
        return found
