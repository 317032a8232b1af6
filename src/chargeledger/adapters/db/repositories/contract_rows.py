"""Rows of the contract tables (issue 14) and the records they hold, both ways."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from chargeledger.domain.contract_records import (
    Contact,
    ContractBilling,
    ContractDocument,
    ContractRecord,
    Partner,
    PartnerKind,
    StoredVersion,
)
from chargeledger.domain.contracts import (
    Contract,
    ContractType,
    ContractVersion,
    Renewal,
    Termination,
)
from chargeledger.domain.geo import Address
from chargeledger.money import Currency


def partner_of(row: RowMapping) -> Partner:
    return Partner(
        id=row["id"],
        kind=PartnerKind(row["kind"]),
        name=row["name"],
        email=row["email"],
        address=Address(row["street"], row["postal_code"], row["city"], row["country"]),
        vat_id=row["vat_id"],
        iban=row["iban"],
        created_at=row["created_at"],
    )


def contract_row(record: ContractRecord) -> dict[str, Any]:
    contract, renewal, ended = record.contract, record.contract.renewal, record.contract.termination
    return {
        "id": record.id,
        "number": contract.number,
        "kind": contract.kind.value,
        "title": record.title,
        "account_id": record.account_id,
        "partner_id": record.partner_id,
        "currency": record.currency.code,
        "start_on": contract.start,
        "end_on": contract.end,
        "renewal_term_months": renewal.term_months if renewal else None,
        "notice_days": renewal.notice_days if renewal else None,
        "signed_on": record.signed_on,
        "reminder_days": record.reminder_days,
        "contacts": [
            {"name": c.name, "role": c.role, "email": c.email, "phone": c.phone}
            for c in record.contacts
        ],
        "termination_given_on": ended.given_on if ended else None,
        "termination_last_day": ended.last_day if ended else None,
        "termination_reason": ended.reason if ended else None,
        "termination_immediate": ended.immediate if ended else None,
        "terminated_by": record.terminated_by,
        "created_at": record.created_at,
        "created_by": record.created_by,
    }


def contract_of(row: RowMapping) -> ContractRecord:
    renewal = None
    if row["renewal_term_months"] is not None:
        renewal = Renewal(row["renewal_term_months"], row["notice_days"])
    termination = None
    if row["termination_given_on"] is not None:
        termination = Termination(
            row["termination_given_on"],
            row["termination_last_day"],
            row["termination_reason"],
            bool(row["termination_immediate"]),
        )
    contract = Contract(
        number=row["number"],
        kind=ContractType(row["kind"]),
        start=row["start_on"],
        end=row["end_on"],
        renewal=renewal,
        signed=row["signed_on"] is not None,
        termination=termination,
    )
    return ContractRecord(
        id=row["id"],
        contract=contract,
        currency=Currency.of(row["currency"]),
        account_id=row["account_id"],
        partner_id=row["partner_id"],
        title=row["title"],
        contacts=tuple(Contact(**c) for c in row["contacts"]),
        reminder_days=row["reminder_days"],
        signed_on=row["signed_on"],
        terminated_by=row["terminated_by"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


def version_of(row: RowMapping) -> StoredVersion:
    return StoredVersion(
        id=row["id"],
        contract_id=row["contract_id"],
        version=ContractVersion(row["number"], row["valid_from"], row["summary"]),
        terms=row["terms"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def document_of(row: RowMapping) -> ContractDocument:
    return ContractDocument(
        id=row["id"],
        contract_id=row["contract_id"],
        version_number=row["version_number"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        uploaded_at=row["uploaded_at"],
        uploaded_by=row["uploaded_by"],
    )


def billing_row(billing: ContractBilling) -> dict[str, Any]:
    return {
        "id": billing.id,
        "contract_id": billing.contract_id,
        "kind": billing.kind,
        "period_start": billing.period_start,
        "period_end": billing.period_end,
        "invoice_id": billing.invoice_id,
        "amount": billing.amount,
        "currency": billing.currency.code,
        "created_at": billing.created_at,
    }


def billing_of(row: RowMapping) -> ContractBilling:
    return ContractBilling(
        id=row["id"],
        contract_id=row["contract_id"],
        kind=row["kind"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        invoice_id=row["invoice_id"],
        amount=row["amount"],
        currency=Currency.of(row["currency"]),
        created_at=row["created_at"],
    )
