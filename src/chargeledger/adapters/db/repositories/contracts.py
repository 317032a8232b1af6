"""The contracts repository (issue 14): partners, contracts, versions, coverage, documents,
milestones and what was billed under a contract per period."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.contract_tables import (
    allowance_draws,
    contract_accounts,
    contract_billings,
    contract_documents,
    contract_milestones,
    contract_sites,
    contract_versions,
    contracts,
    document_files,
    partners,
)
from chargeledger.adapters.db.integrity import translate_integrity_error
from chargeledger.adapters.db.repositories.base import chunks
from chargeledger.adapters.db.repositories.contract_performance import ContractPerformanceRows
from chargeledger.adapters.db.repositories.contract_rows import (
    billing_of,
    billing_row,
    contract_of,
    contract_row,
    document_of,
    partner_of,
    version_of,
)
from chargeledger.domain.contract_milestones import CustomMilestone, MilestoneKind
from chargeledger.domain.contract_records import (
    AllowanceDraw,
    ContractBilling,
    ContractDocument,
    ContractRecord,
    Partner,
    StoredVersion,
)
from chargeledger.domain.contracts import ContractType
from chargeledger.domain.ids import new_id
from chargeledger.errors import DuplicateError
from chargeledger.services.paging import Page

T = TypeVar("T")


def _page(items: list[T], limit: int, offset: int) -> Page[T]:
    """``items`` fetched with one row more than asked, to know whether a page follows."""
    return Page(items=items[:limit], next_offset=offset + limit if len(items) > limit else None)


class SqlContractRepository(ContractPerformanceRows):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def _write(self, statement: Any) -> None:
        """In a savepoint, so a unique-key clash leaves the transaction usable."""
        try:
            async with self._connection.begin_nested():
                await self._connection.execute(statement)
        except IntegrityError as exc:
            raise translate_integrity_error(exc) from exc

    async def _rows(self, statement: Any) -> list[RowMapping]:
        return list((await self._connection.execute(statement)).mappings())

    # --- partners ---------------------------------------------------------------------------

    async def add_partner(self, partner: Partner) -> None:
        address = partner.address
        await self._write(
            insert(partners).values(
                id=partner.id,
                kind=partner.kind.value,
                name=partner.name,
                email=partner.email,
                street=address.street,
                postal_code=address.postal_code,
                city=address.city,
                country=address.country,
                vat_id=partner.vat_id,
                iban=partner.iban,
                created_at=partner.created_at,
            )
        )

    async def partner(self, partner_id: uuid.UUID) -> Partner | None:
        rows = await self._rows(select(partners).where(partners.c.id == partner_id))
        return partner_of(rows[0]) if rows else None

    async def partners(self, *, limit: int, offset: int) -> Page[Partner]:
        query = select(partners).order_by(partners.c.name, partners.c.id)
        rows = await self._rows(query.limit(limit + 1).offset(offset))
        return _page([partner_of(r) for r in rows], limit, offset)

    # --- contracts --------------------------------------------------------------------------

    async def add(self, record: ContractRecord) -> None:
        await self._write(insert(contracts).values(contract_row(record)))

    async def get(self, contract_id: uuid.UUID) -> ContractRecord | None:
        rows = await self._rows(select(contracts).where(contracts.c.id == contract_id))
        return contract_of(rows[0]) if rows else None

    async def get_by_number(self, number: str) -> ContractRecord | None:
        rows = await self._rows(select(contracts).where(contracts.c.number == number))
        return contract_of(rows[0]) if rows else None

    async def update(self, record: ContractRecord) -> None:
        row = contract_row(record)
        for key in ("id", "created_at", "created_by", "number"):
            row.pop(key)
        await self._write(update(contracts).where(contracts.c.id == record.id).values(row))

    async def search(
        self,
        *,
        account_id: uuid.UUID | None,
        partner_id: uuid.UUID | None,
        kind: ContractType | None,
        limit: int,
        offset: int,
    ) -> Page[ContractRecord]:
        query = select(contracts)
        if account_id is not None:
            members = select(contract_accounts.c.contract_id).where(
                contract_accounts.c.account_id == account_id
            )
            query = query.where(
                or_(contracts.c.account_id == account_id, contracts.c.id.in_(members))
            )
        if partner_id is not None:
            query = query.where(contracts.c.partner_id == partner_id)
        if kind is not None:
            query = query.where(contracts.c.kind == kind.value)
        query = query.order_by(contracts.c.number).limit(limit + 1).offset(offset)
        return _page([contract_of(r) for r in await self._rows(query)], limit, offset)

    async def signed_between(self, first: date, last: date) -> list[ContractRecord]:
        query = (
            select(contracts)
            .where(contracts.c.signed_on.is_not(None), contracts.c.start_on <= last)
            .where(
                or_(
                    contracts.c.termination_last_day.is_(None),
                    contracts.c.termination_last_day >= first,
                )
            )
            .order_by(contracts.c.number)
        )
        return [contract_of(r) for r in await self._rows(query)]

    # --- versions ---------------------------------------------------------------------------

    async def add_version(self, version: StoredVersion) -> None:
        await self._write(
            insert(contract_versions).values(
                id=version.id,
                contract_id=version.contract_id,
                number=version.version.number,
                valid_from=version.version.valid_from,
                summary=version.version.summary,
                terms=dict(version.terms),
                created_at=version.created_at,
                created_by=version.created_by,
            )
        )

    async def versions(self, contract_id: uuid.UUID) -> list[StoredVersion]:
        query = (
            select(contract_versions)
            .where(contract_versions.c.contract_id == contract_id)
            .order_by(contract_versions.c.number)
        )
        return [version_of(r) for r in await self._rows(query)]

    async def versions_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredVersion]:
        found: dict[uuid.UUID, StoredVersion] = {}
        for chunk in chunks(set(ids)):
            query = select(contract_versions).where(contract_versions.c.id.in_(chunk))
            found.update((r["id"], version_of(r)) for r in await self._rows(query))
        return found

    # --- coverage ---------------------------------------------------------------------------

    async def _cover(
        self,
        table: Table,
        member: str,
        contract_id: uuid.UUID,
        ids: Sequence[uuid.UUID],
        at: datetime,
    ) -> None:
        """Add members (accounts or sites) to a contract; one already there stays once."""
        have = set(await self._members(table, member, contract_id))
        for member_id in dict.fromkeys(ids):
            if member_id not in have:
                values = {"contract_id": contract_id, member: member_id, "added_at": at}
                await self._write(insert(table).values(values))

    async def _members(self, table: Table, member: str, contract_id: uuid.UUID) -> list[uuid.UUID]:
        query = (
            select(table.c[member])
            .where(table.c.contract_id == contract_id)
            .order_by(table.c.added_at, table.c[member])
        )
        return [r[member] for r in await self._rows(query)]

    async def cover_accounts(
        self, contract_id: uuid.UUID, account_ids: Sequence[uuid.UUID], at: datetime
    ) -> None:
        await self._cover(contract_accounts, "account_id", contract_id, account_ids, at)

    async def covered_accounts(self, contract_id: uuid.UUID) -> list[uuid.UUID]:
        return await self._members(contract_accounts, "account_id", contract_id)

    async def cover_sites(
        self, contract_id: uuid.UUID, site_ids: Sequence[uuid.UUID], at: datetime
    ) -> None:
        await self._cover(contract_sites, "site_id", contract_id, site_ids, at)

    async def covered_sites(self, contract_id: uuid.UUID) -> list[uuid.UUID]:
        return await self._members(contract_sites, "site_id", contract_id)

    async def covering(self, account_id: uuid.UUID) -> list[ContractRecord]:
        members = select(contract_accounts.c.contract_id).where(
            contract_accounts.c.account_id == account_id
        )
        query = (
            select(contracts)
            .where(or_(contracts.c.account_id == account_id, contracts.c.id.in_(members)))
            .order_by(contracts.c.start_on, contracts.c.number)
        )
        return [contract_of(r) for r in await self._rows(query)]

    # --- documents --------------------------------------------------------------------------

    async def add_document(self, document: ContractDocument, content: bytes) -> None:
        if await self.document_content(document.sha256) is None:
            # The same bytes may be uploaded at the same moment elsewhere: one row holds them.
            with contextlib.suppress(DuplicateError):
                await self._write(
                    insert(document_files).values(
                        sha256=document.sha256, content=content, stored_at=document.uploaded_at
                    )
                )
        await self._write(
            insert(contract_documents).values(
                id=document.id,
                contract_id=document.contract_id,
                version_number=document.version_number,
                filename=document.filename,
                content_type=document.content_type,
                size=document.size,
                sha256=document.sha256,
                uploaded_at=document.uploaded_at,
                uploaded_by=document.uploaded_by,
            )
        )

    async def documents(self, contract_id: uuid.UUID) -> list[ContractDocument]:
        query = (
            select(contract_documents)
            .where(contract_documents.c.contract_id == contract_id)
            .order_by(contract_documents.c.version_number, contract_documents.c.uploaded_at)
        )
        return [document_of(r) for r in await self._rows(query)]

    async def document(self, document_id: uuid.UUID) -> ContractDocument | None:
        query = select(contract_documents).where(contract_documents.c.id == document_id)
        rows = await self._rows(query)
        return document_of(rows[0]) if rows else None

    async def document_content(self, sha256: str) -> bytes | None:
        query = select(document_files.c.content).where(document_files.c.sha256 == sha256)
        rows = await self._rows(query)
        return bytes(rows[0]["content"]) if rows else None

    # --- milestones -------------------------------------------------------------------------

    async def add_milestone(
        self, contract_id: uuid.UUID, milestone: CustomMilestone, at: datetime, by: str
    ) -> None:
        await self._write(
            insert(contract_milestones).values(
                id=new_id(),
                contract_id=contract_id,
                kind=milestone.kind.value,
                title=milestone.title,
                due_on=milestone.due_on,
                created_at=at,
                created_by=by,
            )
        )

    async def custom_milestones(self, contract_id: uuid.UUID) -> list[CustomMilestone]:
        query = (
            select(contract_milestones)
            .where(contract_milestones.c.contract_id == contract_id)
            .order_by(contract_milestones.c.due_on, contract_milestones.c.created_at)
        )
        return [
            CustomMilestone(r["title"], r["due_on"], MilestoneKind(r["kind"]))
            for r in await self._rows(query)
        ]

    # --- billings -------------------------------------------------------------------------

    async def add_billing(self, billing: ContractBilling) -> None:
        await self._write(insert(contract_billings).values(billing_row(billing)))

    async def billings(
        self, contract_id: uuid.UUID, kind: str | None = None
    ) -> list[ContractBilling]:
        query = select(contract_billings).where(contract_billings.c.contract_id == contract_id)
        if kind is not None:
            query = query.where(contract_billings.c.kind == kind)
        query = query.order_by(contract_billings.c.period_start, contract_billings.c.kind)
        return [billing_of(r) for r in await self._rows(query)]

    # --- allowance draws --------------------------------------------------------------------

    async def add_draw(self, draw: AllowanceDraw) -> None:
        await self._write(
            insert(allowance_draws).values(
                id=draw.id,
                contract_id=draw.contract_id,
                session_id=draw.session_id,
                unit=draw.unit,
                amount=draw.amount,
                net=draw.net,
                currency=draw.currency.code,
                drawn_at=draw.drawn_at,
            )
        )

    async def drawn(self, contract_id: uuid.UUID) -> Decimal:
        """Summed here, not in SQL: SQLite keeps exact decimals as text, and its SUM is a
        float."""
        query = select(allowance_draws.c.amount).where(allowance_draws.c.contract_id == contract_id)
        return sum((r["amount"] for r in await self._rows(query)), Decimal(0))

    async def count(self) -> int:
        result = await self._connection.execute(select(func.count()).select_from(contracts))
        return int(result.scalar_one())
