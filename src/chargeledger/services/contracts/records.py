"""Contract records (issue 14): partners, contracts, their versions of terms, signature,
termination and what they cover.

A contract is created as a draft with version 1 of its terms valid from its start; it applies
once signed. Terms change only by amendment, a new version valid from a day not in the past
(``domain.contracts.amendment``); a session is priced under the version valid on the day it
started, frozen onto it (``version_for_session``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from chargeledger.domain.contract_records import (
    ContractDocument,
    ContractRecord,
    Partner,
    StoredVersion,
    checked_pdf,
)
from chargeledger.domain.contract_terms import Terms
from chargeledger.domain.contract_terms_json import terms_from_json, terms_to_json
from chargeledger.domain.contracts import (
    ContractStatus,
    ContractType,
    ContractVersion,
    amendment,
    covers,
    last_day,
    terminate,
    version_on,
)
from chargeledger.domain.identity import Principal
from chargeledger.domain.ledger import contract_liability
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class ContractView:
    """A contract as its readers see it on a day: status derived, versions, coverage."""

    record: ContractRecord
    status: ContractStatus
    versions: tuple[StoredVersion, ...]
    account_ids: tuple[uuid.UUID, ...]
    site_ids: tuple[uuid.UUID, ...]
    documents: tuple[ContractDocument, ...] = ()
    today: date | None = None

    @property
    def current(self) -> StoredVersion | None:
        """The version valid today (the first one before the contract starts)."""
        if self.today is None or not self.versions:
            return None
        found = version_on([v.version for v in self.versions], self.today)
        number = found.number if found else self.versions[0].version.number
        return next(v for v in self.versions if v.version.number == number)


@dataclass(frozen=True, slots=True)
class ContractDraft:
    """What finance gives to create a contract: the record, the first terms and coverage."""

    record: ContractRecord
    terms: Mapping[str, Any]
    summary: str = "Initial terms"
    account_ids: Sequence[uuid.UUID] = field(default_factory=tuple)
    site_ids: Sequence[uuid.UUID] = field(default_factory=tuple)


def checked_terms(document: Mapping[str, Any], record: ContractRecord) -> dict[str, Any]:
    """The terms document as stored: parsed (every bound and code of
    ``domain.contract_terms``) and written back in its one canonical shape."""
    return terms_to_json(terms_from_json(document, record.currency))


def terms_of(version: StoredVersion, record: ContractRecord) -> Terms:
    return terms_from_json(version.terms, record.currency)


async def add_partner(uow: UnitOfWork, clock: Clock, partner: Partner) -> Partner:
    stored = replace(partner, created_at=clock.now())
    await uow.contracts.add_partner(stored)
    return stored


async def get_partner(uow: UnitOfWork, partner_id: uuid.UUID) -> Partner:
    partner = await uow.contracts.partner(partner_id)
    if partner is None:
        raise NotFoundError(f"partner {partner_id} not found", code="partner_not_found")
    return partner


async def list_partners(uow: UnitOfWork, *, limit: int, offset: int) -> Page[Partner]:
    return await uow.contracts.partners(limit=limit, offset=offset)


async def create_contract(
    uow: UnitOfWork, clock: Clock, by: str, draft: ContractDraft, today: date
) -> ContractView:
    """A new (unsigned) contract with version 1 of its terms valid from its start."""
    record = replace(draft.record, created_at=clock.now(), created_by=by)
    await _check_counterparty(uow, record)
    terms = checked_terms(draft.terms, record)
    await uow.contracts.add(record)
    first = ContractVersion(1, record.contract.start, " ".join(draft.summary.split()) or "Terms")
    await uow.contracts.add_version(
        StoredVersion(record.id, first, terms, by, created_at=clock.now())
    )
    members = list(draft.account_ids)
    if record.account_id is not None and record.contract.kind is not ContractType.OEM_BUNDLE:
        members.insert(0, record.account_id)  # a fleet's own account is what it covers
    await _cover(uow, clock, record, members, draft.site_ids)
    return await contract_view(uow, record.id, today)


async def _check_counterparty(uow: UnitOfWork, record: ContractRecord) -> None:
    if record.partner_id is not None:
        await get_partner(uow, record.partner_id)
        return
    assert record.account_id is not None
    account = await uow.accounts.get(record.account_id)
    if account is None:
        raise NotFoundError(f"account {record.account_id} not found", code="account_not_found")
    if account.currency != record.currency:
        raise InvalidInputError(
            f"the account is billed in {account.currency}, the contract is in {record.currency}",
            code="currency_mismatch",
            field="currency",
        )


async def cover(
    uow: UnitOfWork,
    clock: Clock,
    contract_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    site_ids: Sequence[uuid.UUID],
    today: date,
) -> ContractView:
    """Add accounts (an OEM bundle's drivers) or sites (a site host's) to a contract."""
    record = await get_contract(uow, contract_id)
    await _cover(uow, clock, record, account_ids, site_ids)
    return await contract_view(uow, contract_id, today)


async def _cover(
    uow: UnitOfWork,
    clock: Clock,
    record: ContractRecord,
    account_ids: Sequence[uuid.UUID],
    site_ids: Sequence[uuid.UUID],
) -> None:
    for account_id in dict.fromkeys(account_ids):
        account = await uow.accounts.get(account_id)
        if account is None:
            raise NotFoundError(f"account {account_id} not found", code="account_not_found")
        for other in await uow.contracts.covering(account_id):
            if other.id != record.id and _overlap(other, record):
                raise ConflictError(
                    f"account {account.name} is under contract {other.number} for part of "
                    "this contract's life; one contract prices an account's session",
                    code="account_under_contract",
                )
    for site_id in dict.fromkeys(site_ids):
        if await uow.sites.get(site_id) is None:
            raise NotFoundError(f"site {site_id} not found", code="site_not_found")
    await uow.contracts.cover_accounts(record.id, list(account_ids), clock.now())
    await uow.contracts.cover_sites(record.id, list(site_ids), clock.now())


def _overlap(one: ContractRecord, other: ContractRecord) -> bool:
    """Whether two contracts' lives share a day (open ends run forever)."""
    one_end, other_end = last_day(one.contract), last_day(other.contract)
    starts_before_other_ends = other_end is None or one.contract.start <= other_end
    ends_after_other_starts = one_end is None or other.contract.start <= one_end
    return starts_before_other_ends and ends_after_other_starts


async def held_contract(uow: UnitOfWork, contract_id: uuid.UUID) -> ContractRecord:
    """The contract, read after taking its hold for this transaction: of two signatures or
    terminations at once, the second reads what the first committed (and is refused)."""
    await uow.ledger.hold_account(contract_liability(contract_id))
    return await get_contract(uow, contract_id)


async def get_contract(uow: UnitOfWork, contract_id: uuid.UUID) -> ContractRecord:
    record = await uow.contracts.get(contract_id)
    if record is None:
        raise NotFoundError(f"contract {contract_id} not found", code="contract_not_found")
    return record


async def contract_view(uow: UnitOfWork, contract_id: uuid.UUID, today: date) -> ContractView:
    record = await get_contract(uow, contract_id)
    return ContractView(
        record=record,
        status=record.status_on(today),
        versions=tuple(await uow.contracts.versions(contract_id)),
        account_ids=tuple(await uow.contracts.covered_accounts(contract_id)),
        site_ids=tuple(await uow.contracts.covered_sites(contract_id)),
        documents=tuple(await uow.contracts.documents(contract_id)),
        today=today,
    )


async def visible_contract(
    uow: UnitOfWork, principal: Principal, contract_id: uuid.UUID, today: date
) -> ContractView:
    """A fleet manager sees the contracts of their own account only; to anyone else's the
    answer is "not found", so an id reveals nothing (DESIGN §6 deny by default)."""
    view = await contract_view(uow, contract_id, today)
    if principal.is_account_bound:
        own = principal.account_id
        if own is None or (view.record.account_id != own and own not in view.account_ids):
            raise NotFoundError(f"contract {contract_id} not found", code="contract_not_found")
    return view


async def list_contracts(
    uow: UnitOfWork,
    principal: Principal,
    today: date,
    *,
    account_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    kind: ContractType | None = None,
    status: ContractStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ContractView], int | None]:
    """Contracts by number, as of ``today``; account-bound people see their own only."""
    if principal.is_account_bound:
        account_id, partner_id = principal.account_id or uuid.UUID(int=0), None
    page = await uow.contracts.search(
        account_id=account_id, partner_id=partner_id, kind=kind, limit=limit, offset=offset
    )
    views = [await contract_view(uow, r.id, today) for r in page.items]
    if status is not None:
        views = [v for v in views if v.status is status]
    return views, page.next_offset


async def sign_contract(
    uow: UnitOfWork, clock: Clock, contract_id: uuid.UUID, signed_on: date, today: date
) -> ContractView:
    """Mark the contract signed: from its start on it prices and bills. Signing again is
    refused (``contract_signed``); a signature is not dated in the future."""
    record = await held_contract(uow, contract_id)
    if record.signed_on is not None:
        raise ConflictError(
            f"contract {record.number} was signed on {record.signed_on}", code="contract_signed"
        )
    if signed_on > today:
        raise InvalidInputError(
            "a contract is signed today or earlier", code="signed_in_future", field="signed_on"
        )
    contract = replace(record.contract, signed=True)
    await uow.contracts.update(replace(record, contract=contract, signed_on=signed_on))
    return await contract_view(uow, contract_id, today)


async def amend_contract(
    uow: UnitOfWork,
    clock: Clock,
    by: str,
    contract_id: uuid.UUID,
    valid_from: date,
    summary: str,
    terms: Mapping[str, Any],
    today: date,
) -> ContractView:
    """A new version of the terms from ``valid_from`` (never a change of a past one)."""
    record = await get_contract(uow, contract_id)
    versions = await uow.contracts.versions(contract_id)
    version = amendment(record.contract, [v.version for v in versions], valid_from, today, summary)
    document = checked_terms(terms, record)
    await uow.contracts.add_version(
        StoredVersion(contract_id, version, document, by, created_at=clock.now())
    )
    return await contract_view(uow, contract_id, today)


async def terminate_contract(
    uow: UnitOfWork,
    clock: Clock,
    by: str,
    contract_id: uuid.UUID,
    given_on: date,
    reason: str,
    immediate: bool,
    today: date,
) -> ContractView:
    """Record a termination given on ``given_on`` (not in the future): the contract then ends
    on the day ``domain.contracts.terminate`` decides from the notice deadline."""
    if given_on > today:
        raise InvalidInputError(
            "a termination is given today or earlier", code="given_in_future", field="given_on"
        )
    record = await held_contract(uow, contract_id)
    ended = terminate(record.contract, given_on, reason, immediate=immediate)
    await uow.contracts.update(replace(record, contract=ended, terminated_by=by))
    return await contract_view(uow, contract_id, today)


async def version_for_session(
    uow: UnitOfWork, account_id: uuid.UUID | None, day: date
) -> tuple[ContractRecord, StoredVersion] | None:
    """The contract that prices a session of ``account_id`` started on ``day`` (its local
    date at the site) and the version valid then: signed and running that day, covering the
    account. None for ad hoc sessions and accounts under no contract."""
    if account_id is None:
        return None
    return await version_among(uow, await uow.contracts.covering(account_id), day)


async def version_among(
    uow: UnitOfWork, candidates: Sequence[ContractRecord], day: date
) -> tuple[ContractRecord, StoredVersion] | None:
    """The first of ``candidates`` that runs on ``day``, with its version valid then."""
    for record in candidates:
        if covers(record.contract, day):
            versions = await uow.contracts.versions(record.id)
            found = version_on([v.version for v in versions], day)
            if found is not None:
                return record, next(v for v in versions if v.version.number == found.number)
    return None


async def add_document(
    uow: UnitOfWork,
    clock: Clock,
    by: str,
    contract_id: uuid.UUID,
    version_number: int,
    filename: str,
    content: bytes,
) -> ContractDocument:
    """Keep a signed PDF of one version. The same bytes for the same version are kept once
    (the second upload answers the first record); nothing is ever overwritten."""
    await get_contract(uow, contract_id)
    versions = await uow.contracts.versions(contract_id)
    if all(v.version.number != version_number for v in versions):
        raise NotFoundError(
            f"contract {contract_id} has no version {version_number}",
            code="contract_version_not_found",
        )
    name, digest = checked_pdf(filename, content)
    for existing in await uow.contracts.documents(contract_id):
        if existing.version_number == version_number and existing.sha256 == digest:
            return existing
    document = ContractDocument(
        contract_id=contract_id,
        version_number=version_number,
        filename=name,
        size=len(content),
        sha256=digest,
        uploaded_by=by,
        uploaded_at=clock.now(),
    )
    await uow.contracts.add_document(document, content)
    return document


async def document_file(
    uow: UnitOfWork, principal: Principal, contract_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[ContractDocument, bytes]:
    """A document and its bytes, for those who may read the contract."""
    await visible_contract(uow, principal, contract_id, date.min)
    document = await uow.contracts.document(document_id)
    content = None if document is None else await uow.contracts.document_content(document.sha256)
    if document is None or document.contract_id != contract_id or content is None:
        raise NotFoundError(f"document {document_id} not found", code="document_not_found")
    return document, content


async def find_contract(uow: UnitOfWork, reference: str) -> ContractRecord:
    """A contract named by its number (``FL-2026-001``) or its id, as people name it on the
    command line. The number is tried first: a number may look like an id, an id is unique
    either way."""
    found = await uow.contracts.get_by_number(reference.strip())
    if found is None:
        try:
            found = await uow.contracts.get(uuid.UUID(reference.strip()))
        except ValueError:
            found = None
    if found is None:
        raise NotFoundError(f"no contract {reference!r}", code="contract_not_found")
    return found
