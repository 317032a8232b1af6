"""Roaming partners in SQL (``roaming_tables.roaming_partners``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import TableRepository
from chargeledger.adapters.db.roaming_tables import roaming_partners
from chargeledger.domain.roaming import (
    Endpoint,
    InterfaceRole,
    PartnerStatus,
    PartyRole,
    RoamingPartner,
)


class SqlRoamingPartnerRepository(TableRepository[RoamingPartner]):
    table = roaming_partners

    def to_row(self, entity: RoamingPartner) -> dict[str, Any]:
        return {
            "id": entity.id,
            "name": entity.name,
            "country_code": entity.country_code,
            "party_id": entity.party_id,
            "role": entity.role.value,
            "status": entity.status.value,
            "incoming_digest": entity.incoming_digest,
            "outgoing_token": entity.outgoing_token,
            "versions_url": entity.versions_url,
            "version": entity.version,
            "endpoints": json.dumps(
                [
                    {"identifier": str(e.identifier), "role": e.role.value, "url": e.url}
                    for e in entity.endpoints
                ]
            ),
            "account_id": entity.account_id,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def from_row(self, row: RowMapping) -> RoamingPartner:
        return RoamingPartner(
            id=row["id"],
            name=row["name"],
            country_code=row["country_code"],
            party_id=row["party_id"],
            role=PartyRole(row["role"]),
            status=PartnerStatus(row["status"]),
            incoming_digest=row["incoming_digest"],
            outgoing_token=row["outgoing_token"],
            versions_url=row["versions_url"],
            version=row["version"],
            endpoints=tuple(
                Endpoint(e["identifier"], InterfaceRole(e["role"]), e["url"])
                for e in json.loads(row["endpoints"])
            ),
            account_id=row["account_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def by_party(
        self, country_code: str, party_id: str, role: PartyRole
    ) -> RoamingPartner | None:
        c = roaming_partners.c
        return await self._one(
            select(roaming_partners).where(
                c.country_code == country_code, c.party_id == party_id, c.role == role.value
            )
        )

    async def by_incoming_digest(self, digest: str) -> RoamingPartner | None:
        return await self._one(
            select(roaming_partners).where(roaming_partners.c.incoming_digest == digest)
        )

    async def replace_if(
        self, partner: RoamingPartner, status: PartnerStatus, incoming_digest: str | None
    ) -> bool:
        c = roaming_partners.c
        row = self.to_row(partner)
        row.pop("id")
        row.pop("created_at")
        digest_matches = (
            c.incoming_digest.is_(None)
            if incoming_digest is None
            else c.incoming_digest == incoming_digest
        )
        result = await self._execute(
            update(roaming_partners)
            .where(c.id == partner.id, c.status == status.value, digest_matches)
            .values(row)
        )
        return bool(result.rowcount == 1)

    async def listed(self) -> list[RoamingPartner]:
        c = roaming_partners.c
        result = await self._connection.execute(
            select(roaming_partners).order_by(c.country_code, c.party_id, c.role)
        )
        return [self.from_row(row) for row in result.mappings()]

    async def registered_for_accounts(
        self, account_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, RoamingPartner]:
        wanted = [account for account in set(account_ids) if account is not None]
        if not wanted:
            return {}
        c = roaming_partners.c
        result = await self._connection.execute(
            select(roaming_partners).where(
                c.account_id.in_(wanted), c.status == PartnerStatus.REGISTERED.value
            )
        )
        found = [self.from_row(row) for row in result.mappings()]
        return {partner.account_id: partner for partner in found if partner.account_id}
