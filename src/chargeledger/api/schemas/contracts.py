"""Partners, contracts, versions, documents and milestones as the API shows them (issue 14).

Terms are one JSON object whose shape and bounds ``domain.contract_terms`` owns (amounts as
strings); it is passed through as given and refused there with ``invalid_contract_terms`` and
the dotted path of the field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from chargeledger.api.schemas.common import Input
from chargeledger.domain.contract_milestones import Milestone, MilestoneKind
from chargeledger.domain.contract_records import (
    Contact,
    ContractDocument,
    ContractRecord,
    Partner,
    PartnerKind,
    StoredVersion,
)
from chargeledger.domain.contracts import (
    ContractStatus,
    ContractType,
    end_of_term_on,
    notice_deadline,
)
from chargeledger.domain.geo import Address
from chargeledger.services.contracts.records import ContractView

TERMS_EXAMPLE: JsonDict = {
    "price_book": {"discount": {"kind": "percent", "value": "10"}},
    "tiers": {
        "model": "marginal",
        "bands": [
            {"from_kwh": "0", "price_per_kwh": "0.39"},
            {"from_kwh": "1000", "price_per_kwh": "0.34"},
        ],
    },
    "monthly_commitment": "500.00",
    "purchase_order": "PO-4711",
}


class AddressIn(Input):
    street: str = Field(max_length=200)
    postal_code: str = Field(max_length=20)
    city: str = Field(max_length=100)
    country: str = Field(min_length=2, max_length=2)

    def domain(self) -> Address:
        return Address(self.street, self.postal_code, self.city, self.country)


class AddressOut(BaseModel):
    street: str
    postal_code: str
    city: str
    country: str


class PartnerIn(Input):
    kind: PartnerKind
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    address: AddressIn
    vat_id: str | None = Field(None, max_length=20)
    iban: str | None = Field(None, max_length=34, description="where we pay it (self-billing)")

    def domain(self) -> Partner:
        return Partner(
            self.kind, self.name, self.email, self.address.domain(), self.vat_id, self.iban
        )


class PartnerOut(BaseModel):
    id: uuid.UUID
    kind: PartnerKind
    name: str
    email: str
    address: AddressOut
    vat_id: str | None
    iban: str | None
    created_at: dt.datetime | None

    @classmethod
    def of(cls, partner: Partner) -> PartnerOut:
        a = partner.address
        return cls(
            id=partner.id,
            kind=partner.kind,
            name=partner.name,
            email=partner.email,
            address=AddressOut(
                street=a.street, postal_code=a.postal_code, city=a.city, country=a.country
            ),
            vat_id=partner.vat_id,
            iban=partner.iban,
            created_at=partner.created_at,
        )


class ContactIn(Input):
    name: str = Field(max_length=200)
    role: str = Field(max_length=80, description="e.g. signatory, invoices, fleet manager")
    email: str = Field(max_length=254)
    phone: str | None = Field(None, max_length=40)


class ContactOut(BaseModel):
    name: str
    role: str
    email: str
    phone: str | None


class RenewalIn(Input):
    term_months: int = Field(ge=1, le=120)
    notice_days: int = Field(ge=0, le=730)


class ContractIn(Input):
    number: str = Field(max_length=40, description="the contract number, unique")
    kind: ContractType
    title: str = Field("", max_length=200)
    account_id: uuid.UUID | None = Field(
        None, description="the customer account (fleet, employer, car maker, utility)"
    )
    partner_id: uuid.UUID | None = Field(None, description="the partner (site host, roaming)")
    currency: str = Field(min_length=3, max_length=3)
    start: dt.date
    end: dt.date | None = Field(None, description="last day of the first term; none: open")
    renewal: RenewalIn | None = None
    reminder_days: int = Field(30, ge=0, le=365, description="milestone reminders ahead")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)
    terms: dict[str, Any] = Field(
        default_factory=dict, json_schema_extra={"example": TERMS_EXAMPLE}
    )
    summary: str = Field("Initial terms", max_length=500)
    account_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000, description="accounts covered (OEM drivers)"
    )
    site_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)

    def contacts_domain(self) -> tuple[Contact, ...]:
        return tuple(Contact(c.name, c.role, c.email, c.phone) for c in self.contacts)


class SignIn(Input):
    signed_on: dt.date | None = Field(None, description="default: today")


class VersionIn(Input):
    valid_from: dt.date
    summary: str = Field(min_length=1, max_length=500, description="what the amendment changes")
    terms: dict[str, Any] = Field(json_schema_extra={"example": TERMS_EXAMPLE})


class TerminateIn(Input):
    reason: str = Field(min_length=1, max_length=500)
    given_on: dt.date | None = Field(None, description="default: today")
    immediate: bool = Field(False, description="for cause, from the day given")


class CoverageIn(Input):
    account_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    site_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


class MilestoneIn(Input):
    kind: MilestoneKind = MilestoneKind.CUSTOM
    title: str = Field(min_length=1, max_length=200)
    due_on: dt.date


class MilestoneOut(BaseModel):
    kind: MilestoneKind
    due_on: dt.date
    title: str
    key: str

    @classmethod
    def of(cls, milestone: Milestone) -> MilestoneOut:
        return cls(
            kind=milestone.kind, due_on=milestone.due_on, title=milestone.title, key=milestone.key
        )


class VersionOut(BaseModel):
    id: uuid.UUID
    number: int
    valid_from: dt.date
    summary: str
    terms: dict[str, Any]
    created_at: dt.datetime | None
    created_by: str

    @classmethod
    def of(cls, stored: StoredVersion) -> VersionOut:
        v = stored.version
        return cls(
            id=stored.id,
            number=v.number,
            valid_from=v.valid_from,
            summary=v.summary,
            terms=dict(stored.terms),
            created_at=stored.created_at,
            created_by=stored.created_by,
        )


class DocumentOut(BaseModel):
    id: uuid.UUID
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime | None
    uploaded_by: str

    @classmethod
    def of(cls, d: ContractDocument) -> DocumentOut:
        return cls(
            id=d.id,
            version=d.version_number,
            filename=d.filename,
            content_type=d.content_type,
            size=d.size,
            sha256=d.sha256,
            uploaded_at=d.uploaded_at,
            uploaded_by=d.uploaded_by,
        )


class TerminationOut(BaseModel):
    given_on: dt.date
    last_day: dt.date
    reason: str
    immediate: bool
    by: str | None


class ContractOut(BaseModel):
    id: uuid.UUID
    number: str
    kind: ContractType
    title: str
    status: ContractStatus = Field(description="as of the operator's today")
    account_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    currency: str
    start: dt.date
    end: dt.date | None
    renewal: RenewalIn | None
    current_term_end: dt.date | None
    notice_deadline: dt.date | None = Field(description="of the running term, when renewing")
    signed_on: dt.date | None
    termination: TerminationOut | None
    reminder_days: int
    contacts: list[ContactOut]
    current_version: VersionOut | None
    versions: list[VersionOut]
    account_ids: list[uuid.UUID]
    site_ids: list[uuid.UUID]
    documents: list[DocumentOut]
    created_at: dt.datetime | None
    created_by: str

    @classmethod
    def of(cls, view: ContractView) -> ContractOut:
        record: ContractRecord = view.record
        contract = record.contract
        day = max(view.today or contract.start, contract.start)
        term_end = end_of_term_on(contract, day)
        renewal = contract.renewal
        ended = contract.termination
        current = view.current
        return cls(
            id=record.id,
            number=record.number,
            kind=contract.kind,
            title=record.title,
            status=view.status,
            account_id=record.account_id,
            partner_id=record.partner_id,
            currency=record.currency.code,
            start=contract.start,
            end=contract.end,
            renewal=None
            if renewal is None
            else RenewalIn(term_months=renewal.term_months, notice_days=renewal.notice_days),
            current_term_end=term_end,
            notice_deadline=None
            if renewal is None or term_end is None or ended is not None
            else notice_deadline(term_end, renewal),
            signed_on=record.signed_on,
            termination=None
            if ended is None
            else TerminationOut(
                given_on=ended.given_on,
                last_day=ended.last_day,
                reason=ended.reason,
                immediate=ended.immediate,
                by=record.terminated_by,
            ),
            reminder_days=record.reminder_days,
            contacts=[
                ContactOut(name=c.name, role=c.role, email=c.email, phone=c.phone)
                for c in record.contacts
            ],
            current_version=None if current is None else VersionOut.of(current),
            versions=[VersionOut.of(v) for v in view.versions],
            account_ids=list(view.account_ids),
            site_ids=list(view.site_ids),
            documents=[DocumentOut.of(d) for d in view.documents],
            created_at=record.created_at,
            created_by=record.created_by,
        )
