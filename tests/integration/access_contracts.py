"""The contract records the route × role walk stands on (issue 14), the requests it sends to
the contract routes, and what of them the "nothing changed" fingerprint holds.

The world has a site-host partner and a fleet contract of the world's account (so a fleet
manager of that account reads it, and one of another account would get 404), unsigned and
starting tomorrow so that it prices nothing the billing routes walk over, with version 1 of
its terms and a signed PDF of it. Signing or terminating a contract twice is refused (409),
so those two routes get a fresh contract of the partner each time (``fresh_contract``); the
others act on the world's contract with a new amendment day, milestone or document each call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chargeledger.bootstrap import Runtime
from chargeledger.domain.contract_records import ContractRecord, Partner, PartnerKind
from chargeledger.domain.contracts import Contract, ContractType, Renewal
from chargeledger.domain.geo import Address
from chargeledger.money import Currency
from chargeledger.services.common import operator_today
from chargeledger.services.contracts import records

Json = dict[str, Any]
TERMS: Json = {"price_book": {"discount": {"kind": "percent", "value": "10"}}}


@dataclass(frozen=True)
class ContractWorld:
    partner_id: uuid.UUID  # a site host
    contract_id: uuid.UUID  # a fleet contract of the world's account, draft
    document_id: uuid.UUID  # the signed PDF of its version 1
    start: date  # the contract's first day: tomorrow when the world was built
    account_id: uuid.UUID  # the world's account, the fleet contract's counterparty


def pdf(n: int) -> bytes:
    """A tiny PDF (``%PDF-`` is what the upload checks), different for each ``n`` so that an
    accepted upload is a new document rather than the one kept already."""
    return b"%PDF-1.4\n% walk " + str(n).encode() + b"\ntrailer <<>>\n%%EOF\n"


def _partner(name: str) -> Partner:
    email = f"{name.lower().replace(' ', '.')}@example.org"
    return Partner(PartnerKind.SITE_HOST, name, email, Address("Markt 2", "10117", "Berlin", "DE"))


def _record(
    number: str,
    start: date,
    *,
    account_id: uuid.UUID | None,
    partner_id: uuid.UUID | None,
    kind: ContractType | None = None,
) -> ContractRecord:
    if kind is None:
        kind = ContractType.FLEET if account_id is not None else ContractType.SITE_HOST
    end = start + timedelta(days=364)
    contract = Contract(number, kind, start, end, Renewal(term_months=12, notice_days=90))
    return ContractRecord(
        contract=contract,
        currency=Currency.of("EUR"),
        account_id=account_id,
        partner_id=partner_id,
        title=f"Walk {number}",
    )


def _today(runtime: Runtime) -> date:
    return operator_today(runtime.clock, runtime.settings.operator_time_zone)


async def build_contracts(runtime: Runtime, account_id: uuid.UUID) -> ContractWorld:
    """Made through the services, like the rest of the world."""
    clock, today = runtime.clock, _today(runtime)
    start = today + timedelta(days=1)
    async with runtime.uow() as uow:
        partner = await records.add_partner(uow, clock, _partner("Market Hall"))
        record = _record("WALK-FLEET", start, account_id=account_id, partner_id=None)
        draft = records.ContractDraft(record, TERMS)
        view = await records.create_contract(uow, clock, "walk", draft, today)
        document = await records.add_document(
            uow, clock, "walk", view.record.id, 1, "signed.pdf", pdf(0)
        )
        await uow.commit()
    return ContractWorld(partner.id, view.record.id, document.id, start, account_id)


async def fresh_contract(runtime: Runtime, contracts: ContractWorld, n: int) -> uuid.UUID:
    """An unsigned site-host contract of the world's partner, for one sign or terminate."""
    record = _record(
        f"WALK-HOST-{n}", contracts.start, account_id=None, partner_id=contracts.partner_id
    )
    async with runtime.uow() as uow:
        draft = records.ContractDraft(record, TERMS)
        view = await records.create_contract(uow, runtime.clock, "walk", draft, _today(runtime))
        await uow.commit()
    return view.record.id


async def fresh_oem_bundle(runtime: Runtime, contracts: ContractWorld, n: int) -> uuid.UUID:
    """A signed OEM bundle of the world's account with a money allowance, to be sold once
    (selling it again answers the same invoice)."""
    record = _record(
        f"WALK-OEM-{n}",
        contracts.start,
        account_id=contracts.account_id,
        partner_id=None,
        kind=ContractType.OEM_BUNDLE,
    )
    terms = {"allowance": {"unit": "money", "amount": "50.00"}}
    day = _today(runtime)
    async with runtime.uow() as uow:
        view = await records.create_contract(
            uow, runtime.clock, "walk", records.ContractDraft(record, terms), day
        )
        await records.sign_contract(uow, runtime.clock, view.record.id, day, day)
        await uow.commit()
    return view.record.id


def partner_json(n: int) -> Json:
    return {
        "kind": "site_host",
        "name": f"Walk Host {n}",
        "email": f"host{n}@example.org",
        "address": {"street": "A 1", "postal_code": "1", "city": "B", "country": "DE"},
    }


def contract_json(contracts: ContractWorld, n: int) -> Json:
    """A site-host contract of the world's partner: a fleet contract of the world's account
    would be refused (``account_under_contract``: it has one for the same days)."""
    return {
        "number": f"WALK-NEW-{n}",
        "kind": "site_host",
        "partner_id": str(contracts.partner_id),
        "currency": "EUR",
        "start": contracts.start.isoformat(),
        "end": (contracts.start + timedelta(days=364)).isoformat(),
        "terms": TERMS,
    }


def amendment_json(contracts: ContractWorld, n: int) -> Json:
    """A day after the latest version (``n`` only grows) and within the first term."""
    return {
        "valid_from": (contracts.start + timedelta(days=n)).isoformat(),
        "summary": f"Walk amendment {n}",
        "terms": {"price_book": {"discount": {"kind": "percent", "value": str(n % 50)}}},
    }


def milestone_json(contracts: ContractWorld, n: int) -> Json:
    due_on = contracts.start + timedelta(days=30 + n)
    return {"kind": "price_review", "title": f"Walk review {n}", "due_on": due_on.isoformat()}


async def contract_state(runtime: Runtime) -> tuple[object, ...]:
    """Every partner and contract (signature and termination are on the record), and each
    contract's versions, covered accounts and sites, documents and custom milestones."""
    async with runtime.uow() as uow:
        repository = uow.contracts
        partners = (await repository.partners(limit=1000, offset=0)).items
        found = await repository.search(
            account_id=None, partner_id=None, kind=None, limit=1000, offset=0
        )
        details = [
            (
                await repository.versions(record.id),
                await repository.covered_accounts(record.id),
                await repository.covered_sites(record.id),
                await repository.documents(record.id),
                await repository.custom_milestones(record.id),
            )
            for record in found.items
        ]
    return tuple(partners), tuple(found.items), tuple(details)
