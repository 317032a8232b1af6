"""Roaming partners in SQL (``roaming_tables.roaming_partners``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import TableRepository
from chargeledger.adapters.db.roaming_tables import issuer_answers, roaming_partners
from chargeledger.domain.issuer_answers import Allowed, AnswerKind, IssuerAnswer
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

    async def note_tokens_pulled(self, partner_id: uuid.UUID, at: datetime) -> None:
        c = roaming_partners.c
        await self._execute(
            update(roaming_partners).where(c.id == partner_id).values(tokens_pulled_at=at)
        )

    async def tokens_due(self, pulled_before: datetime) -> list[RoamingPartner]:
        c = roaming_partners.c
        result = await self._connection.execute(
            select(roaming_partners)
            .where(
                c.status == PartnerStatus.REGISTERED.value,
                (c.tokens_pulled_at.is_(None)) | (c.tokens_pulled_at < pulled_before),
            )
            .order_by(c.tokens_pulled_at.is_not(None), c.tokens_pulled_at, c.id)
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

    # --- real-time authorisation answers (``domain.issuer_answers``) -----------------------

    async def add_answer(self, answer: IssuerAnswer) -> None:
        await self._connection.execute(
            insert(issuer_answers).values(
                id=answer.id,
                uid=answer.uid,
                partner_id=answer.partner_id,
                asked_at=answer.asked_at,
                allowed=None if answer.allowed is None else answer.allowed.value,
                reference=answer.reference,
                kind=answer.kind.value,
            )
        )

    async def latest_answer(
        self, uid: str, asked_from: datetime, asked_until: datetime
    ) -> IssuerAnswer | None:
        c = issuer_answers.c
        query = (
            select(issuer_answers)
            .where(c.uid == uid.upper(), c.asked_at >= asked_from, c.asked_at <= asked_until)
            .order_by(c.asked_at.desc(), c.id.desc())
            .limit(1)
        )
        return await self._answer(query)

    async def link_answer(
        self, uid: str, session_id: uuid.UUID, asked_from: datetime, asked_until: datetime
    ) -> IssuerAnswer | None:
        c = issuer_answers.c
        answer = await self._answer(
            select(issuer_answers)
            .where(
                c.uid == uid.upper(),
                c.asked_at >= asked_from,
                c.asked_at <= asked_until,
                c.allowed == Allowed.ALLOWED.value,
                c.session_id.is_(None),
            )
            .order_by(c.asked_at.desc(), c.id.desc())
            .limit(1)
        )
        if answer is None:
            return None
        await self._connection.execute(
            update(issuer_answers)
            .where(c.id == answer.id, c.session_id.is_(None))
            .values(session_id=session_id)
        )
        return replace(answer, session_id=session_id)

    async def answers_of_sessions(
        self, session_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, IssuerAnswer]:
        wanted = list(set(session_ids))
        if not wanted:
            return {}
        c = issuer_answers.c
        rows = await self._connection.execute(
            select(issuer_answers).where(c.session_id.in_(wanted))
        )
        answers = [self._answer_of(row) for row in rows.mappings()]
        return {answer.session_id: answer for answer in answers if answer.session_id}

    async def _answer(self, query: Select[Any]) -> IssuerAnswer | None:
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else self._answer_of(row)

    @staticmethod
    def _answer_of(row: RowMapping) -> IssuerAnswer:
        return IssuerAnswer(
            id=row["id"],
            uid=row["uid"],
            partner_id=row["partner_id"],
            asked_at=row["asked_at"],
            allowed=None if row["allowed"] is None else Allowed(row["allowed"]),
            reference=row["reference"],
            session_id=row["session_id"],
            kind=AnswerKind(row["kind"]),
        )
