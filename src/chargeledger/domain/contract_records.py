"""A contract as finance keeps it (issue 14): who it is with, its contacts, the accounts and
sites it covers, its versions of terms and the signed documents of each version.

``domain.contracts`` decides when a contract runs; this module holds what is stored around
that decision. A contract is with one counterparty: a customer account (a fleet, an employer)
or a partner organisation (a site host, a car maker, a utility, a roaming partner), never
both. Its versions are append-only (an amendment is a new version, DESIGN §2); its documents
are kept by content hash and never overwritten.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chargeledger.domain.accounts import email_address
from chargeledger.domain.contracts import (
    Contract,
    ContractStatus,
    ContractType,
    ContractVersion,
    status_on,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.ids import new_id
from chargeledger.domain.text import optional_text, required_text
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

CONTRACT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
DEFAULT_REMINDER_DAYS = 30
MAX_REMINDER_DAYS = 365


class PartnerKind(StrEnum):
    """Organisations we contract with that we pay rather than bill (a car maker, an employer or
    a utility that pays us is a business customer account)."""

    SITE_HOST = "site_host"
    ROAMING_PARTNER = "roaming_partner"


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner organisation: its legal name, address and, for self-billing, its VAT id and
    the IBAN we pay it to (Directive 2006/112/EC art. 226(3)-(5): both parties named)."""

    kind: PartnerKind
    name: str
    email: str
    address: Address
    vat_id: str | None = None
    iban: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PartnerKind(self.kind))
        object.__setattr__(self, "name", required_text(self.name, "name", 200))
        object.__setattr__(self, "email", email_address(self.email))
        object.__setattr__(self, "vat_id", optional_text(self.vat_id, "vat_id", 20))
        object.__setattr__(self, "iban", optional_text(self.iban, "iban", 34))


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at the counterparty: who signs, who receives the invoices and reminders."""

    name: str
    role: str
    email: str
    phone: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", required_text(self.name, "contacts.name", 200))
        object.__setattr__(self, "role", required_text(self.role, "contacts.role", 80))
        object.__setattr__(self, "email", email_address(self.email, "contacts.email"))
        object.__setattr__(self, "phone", optional_text(self.phone, "contacts.phone", 40))


# Which counterparty each type of contract is with (issue 14 scope).
ACCOUNT_CONTRACTS = frozenset(
    {ContractType.FLEET, ContractType.EMPLOYER, ContractType.OEM_BUNDLE, ContractType.UTILITY}
)
PARTNER_CONTRACTS = frozenset({ContractType.SITE_HOST, ContractType.ROAMING})


def contract_number(text: str) -> str:
    value = text.strip() if isinstance(text, str) else ""
    if not CONTRACT_NUMBER.fullmatch(value):
        raise InvalidInputError(
            "a contract number is 1-40 letters, digits and . _ / -",
            code="invalid_contract_number",
            field="number",
        )
    return value


def reminder_days(value: int) -> int:
    if not 0 <= value <= MAX_REMINDER_DAYS:
        raise InvalidInputError(
            f"reminders go out 0 to {MAX_REMINDER_DAYS} days ahead",
            code="invalid_reminder_days",
            field="reminder_days",
        )
    return value


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """The stored contract: its life (``contract``), its counterparty and what it covers."""

    contract: Contract
    currency: Currency
    account_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    title: str = ""
    contacts: tuple[Contact, ...] = ()
    reminder_days: int = DEFAULT_REMINDER_DAYS
    signed_on: date | None = None
    terminated_by: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    created_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))
        contract_number(self.contract.number)
        object.__setattr__(self, "title", optional_text(self.title, "title", 200) or "")
        reminder_days(self.reminder_days)
        kind = self.contract.kind
        if (self.account_id is None) == (self.partner_id is None):
            raise InvalidInputError(
                "a contract is with one account or one partner",
                code="invalid_counterparty",
                field="account_id",
            )
        if kind in ACCOUNT_CONTRACTS and self.account_id is None:
            raise InvalidInputError(
                f"a {kind.value} contract is with a customer account",
                code="invalid_counterparty",
                field="account_id",
            )
        if kind in PARTNER_CONTRACTS and self.partner_id is None:
            raise InvalidInputError(
                f"a {kind.value} contract is with a partner organisation",
                code="invalid_counterparty",
                field="partner_id",
            )

    @property
    def number(self) -> str:
        return self.contract.number

    def status_on(self, day: date) -> ContractStatus:
        return status_on(self.contract, day)


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A version of the terms as stored: the domain version plus its terms document (the
    shape ``domain.contract_terms`` reads) and who made it."""

    contract_id: uuid.UUID
    version: ContractVersion
    terms: Mapping[str, Any]
    created_by: str
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None


# Signed contracts are PDFs; issue 14 asks for type-checked, size-limited uploads.
PDF_MAGIC = b"%PDF-"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True, slots=True)
class ContractDocument:
    """A signed document of one version, kept under the SHA-256 of its bytes."""

    contract_id: uuid.UUID
    version_number: int
    filename: str
    size: int
    sha256: str
    uploaded_by: str
    content_type: str = "application/pdf"
    id: uuid.UUID = field(default_factory=new_id)
    uploaded_at: datetime | None = None


def checked_pdf(filename: str, content: bytes) -> tuple[str, str]:
    """The safe file name and content hash of an upload, or why it is refused: only PDFs
    (by their bytes, not their name), at most ``MAX_DOCUMENT_BYTES``, never empty."""
    if not content:
        raise InvalidInputError("the document is empty", code="empty_document", field="file")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInputError(
            f"a document is at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB",
            code="document_too_large",
            field="file",
        )
    if not content.startswith(PDF_MAGIC):
        raise InvalidInputError(
            "only PDF documents are kept", code="unsupported_document_type", field="file"
        )
    name = _FILENAME.sub("_", (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    name = (name or "contract.pdf")[:120]
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    return name, hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class ContractBilling:
    """What a contract billed once for a period: ``kind`` "allowance_sold" (the car maker's
    invoice for its allowance), "revenue_share" (a site host's self-billed invoice)."""

    contract_id: uuid.UUID
    kind: str
    period_start: date
    period_end: date
    amount: Decimal
    currency: Currency
    invoice_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AllowanceDraw:
    """What one session took from an OEM bundle's allowance: ``amount`` in the allowance's
    unit, and the deferred ``net`` it released as revenue."""

    contract_id: uuid.UUID
    session_id: uuid.UUID
    unit: str
    amount: Decimal
    net: Decimal
    currency: Currency
    id: uuid.UUID = field(default_factory=new_id)
    drawn_at: datetime | None = None
