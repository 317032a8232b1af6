"""Who pays: customer accounts and the tokens (RFID cards, app ids) that identify them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.geo import Address
from chargeledger.domain.ids import new_id
from chargeledger.domain.text import optional_text, required_text
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency


class AccountKind(StrEnum):
    INDIVIDUAL = "individual"
    BUSINESS = "business"


class BillingMode(StrEnum):
    """Postpaid accounts are invoiced per period; prepaid accounts spend a wallet balance."""

    POSTPAID = "postpaid"
    PREPAID = "prepaid"


class BillingCycle(StrEnum):
    """How often a postpaid account is invoiced (issue 5): monthly unless chosen otherwise."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class TokenType(StrEnum):
    """OCPI 2.2.1 §12.4.4 TokenType, named the way operators say it."""

    RFID = "rfid"
    APP = "app"
    AD_HOC = "ad_hoc"


class TokenStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    EXPIRED = "expired"


class IssuerCheck(StrEnum):
    """A roaming partner's token whose eMSP wants to be asked at each use (OCPI 2.2.1 §12.4.6
    WhitelistType, real-time authorisation §12.2.1.2): REQUIRED for NEVER (no answer, no
    charge), PREFERRED for ALLOWED_OFFLINE (its list is used only when the eMSP cannot be
    reached)."""

    REQUIRED = "required"
    PREFERRED = "preferred"


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_PAYMENT_TERMS_DAYS = 120  # EU Late Payment Directive 2011/7/EU caps B2B terms near 60-120


def email_address(value: str, field: str = "email") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not _EMAIL.fullmatch(text) or len(text) > 254:
        raise InvalidInputError(
            f"{value!r} is not an e-mail address", code="invalid_email", field=field
        )
    refuse_card_data(text, field)
    return text.lower()


@dataclass(frozen=True, slots=True)
class Account:
    """A customer: an individual driver or a business (fleet, company) that is billed.

    Businesses may carry a VAT id (needed for reverse charge). Its check digits are rules of
    each country's registry, checked by the customer use cases through the ``VatIdChecker``
    port before an account is stored (``services.customers``), never trusted as typed.
    """

    kind: AccountKind
    name: str
    email: str
    billing_address: Address
    currency: Currency
    vat_id: str | None = None
    payment_terms_days: int = 14
    billing_mode: BillingMode = BillingMode.POSTPAID
    reference: str | None = None
    billing_cycle: BillingCycle = BillingCycle.MONTHLY
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AccountKind(self.kind))
        object.__setattr__(self, "billing_mode", BillingMode(self.billing_mode))
        object.__setattr__(self, "billing_cycle", BillingCycle(self.billing_cycle))
        object.__setattr__(self, "name", required_text(self.name, "name"))
        object.__setattr__(self, "email", email_address(self.email))
        object.__setattr__(self, "reference", optional_text(self.reference, "reference", 64))
        if self.vat_id is not None and not isinstance(self.vat_id, str):
            raise InvalidInputError("a VAT id is text", code="invalid_vat_id", field="vat_id")
        object.__setattr__(self, "vat_id", (self.vat_id or "").strip() or None)
        terms = self.payment_terms_days
        if (
            isinstance(terms, bool)
            or not isinstance(terms, int)
            or not 0 <= terms <= MAX_PAYMENT_TERMS_DAYS
        ):
            raise InvalidInputError(
                f"payment terms must be 0 to {MAX_PAYMENT_TERMS_DAYS} days",
                code="invalid_payment_terms",
                field="payment_terms_days",
            )


# OCPI 2.2.1 §12.3.2: uid is CiString(36); RFID uids are hex, app ids anything printable.
_TOKEN_UID = re.compile(r"[\x21-\x7e]{1,36}")


def token_uid(value: str) -> str:
    if not isinstance(value, str) or not _TOKEN_UID.fullmatch(value):
        raise InvalidInputError(
            "token uid must be 1-36 printable characters without spaces",
            code="invalid_token_uid",
            field="uid",
        )
    return value.upper()


@dataclass(frozen=True, slots=True)
class Token:
    """What a driver presents at a station (OCPP idTag / idToken): RFID card, app or ad hoc."""

    uid: str
    type: TokenType
    account_id: uuid.UUID
    status: TokenStatus = TokenStatus.ACTIVE
    expires_at: datetime | None = None
    label: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # A roaming partner's token: the eMSP's contract id (eMA id, OCPI 2.2.1 §12.3.2), and
    # whether its eMSP is asked at each use (None: our registry decides).
    contract_id: str | None = None
    issuer_check: IssuerCheck | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "uid", token_uid(self.uid))
        object.__setattr__(self, "type", TokenType(self.type))
        object.__setattr__(self, "status", TokenStatus(self.status))
        object.__setattr__(self, "label", optional_text(self.label, "label", 100))
        object.__setattr__(self, "contract_id", optional_text(self.contract_id, "contract_id", 36))
        if self.issuer_check is not None:
            object.__setattr__(self, "issuer_check", IssuerCheck(self.issuer_check))
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise InvalidInputError(
                "expires_at needs a time zone offset", code="naive_datetime", field="expires_at"
            )

    def status_at(self, now: datetime) -> TokenStatus:
        """The effective status: an active token past its expiry counts as expired."""
        expired = self.expires_at is not None and now >= self.expires_at
        if self.status is TokenStatus.ACTIVE and expired:
            return TokenStatus.EXPIRED
        return self.status
