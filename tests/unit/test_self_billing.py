"""A site host's revenue share (issue 14): the self-billed statement and its journal entry.

The statements are those of ``tests/unit/documents/invoices.py``: October 2026, two sites,
10 % of 1,234.56 EUR = 123.456 -> 123.46 and 12.5 % of 100.20 EUR = 12.525 -> 12.53, net 135.99.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from chargeledger.domain.billing import VatCategory
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Party, series_for
from chargeledger.domain.ledger import EntryKind, totals_by_currency
from chargeledger.domain.self_billing import (
    HostVat,
    ShareLine,
    per_kwh_share,
    percent_share,
    revenue_share_settled,
    self_billed_statement,
)
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Money
from tests.unit.documents import invoices
from tests.unit.documents.invoices import (
    AUSTRIAN_HOST,
    CLUB_HOST,
    CONTRACT,
    GERMAN_HOST,
    OCTOBER,
    OPERATOR,
    SMALL_ENTERPRISE,
    SMALL_HOST,
)

PARTNER = uuid.UUID("00000000-0000-0000-0000-00000000a11e")
PAYABLE = "Liabilities:Payable:P0000000000000000000000000000A11E"
D = Decimal


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def postings(entry_case: str, percent: Decimal | None = None) -> dict[str, Money]:
    entry = revenue_share_settled(invoices.issued_statement(entry_case), PARTNER, percent)
    assert entry.kind is EntryKind.REVENUE_SHARE_SETTLED
    return {p.account: p.units for p in entry.postings}


# --- shares -------------------------------------------------------------------------------


def test_a_percent_share_is_rounded_half_up_once() -> None:
    # 12.5 % of 100.20 = 12.525: half-up 12.53 (half-even would be 12.52)
    line = percent_share("Spandau", D("100.20"), D("250.500"), D("12.5"), "EUR")
    assert line == ShareLine(
        "Spandau",
        D("100.20"),
        D("250.500"),
        D("12.53"),
        "12.5 % of 100.20 EUR net charging revenue",
    )


def test_a_per_kwh_share() -> None:
    # 2,469.125 kWh x 0.02 = 49.3825 -> 49.38
    line = per_kwh_share("Spandau", D("987.65"), D("2469.125"), D("0.02"), "EUR")
    assert line.share_net == D("49.38")
    assert line.description == "0.02 EUR per kWh on 2469.125 kWh charged"


# --- the statement ------------------------------------------------------------------------


def test_the_statement_is_a_draft_self_billed_invoice_from_the_host_to_us() -> None:
    draft = invoices.statement("standard")
    assert draft.kind is DocumentKind.SELF_BILLED
    assert draft.status is DocumentStatus.DRAFT
    assert draft.account_id is None
    assert (draft.seller, draft.buyer) == (GERMAN_HOST, OPERATOR)
    assert (draft.period_start, draft.period_end) == OCTOBER
    assert [line.description for line in draft.lines] == [
        "Revenue share, Alexanderplatz, 2026-10-01 to 2026-10-31: "
        "10 % of 1,234.56 EUR net charging revenue",
        "Revenue share, Spandau, 2026-10-01 to 2026-10-31: "
        "12.5 % of 100.20 EUR net charging revenue",
    ]
    assert [line.net for line in draft.lines] == [D("123.46"), D("12.53")]
    assert [line.energy_kwh for line in draft.lines] == [D("3086.400"), D("250.500")]
    # 135.99 x 19 % = 25.8381 -> 25.84; 135.99 + 25.84 = 161.83
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        D("135.99"),
        D("25.84"),
        D("161.83"),
    )
    assert draft.reason == (
        "Issued by Stromwerk Ladenetz GmbH in the name and on behalf of Frischmarkt Nord GmbH "
        "under the self-billing agreement of contract SH-2026-0042 "
        "(Council Directive 2006/112/EC, Art. 224)"
    )
    assert draft.run_key == "self-billing:SH-2026-0042:2026-10-01"
    assert series_for(draft.kind, date(2026, 11, 2)) == "SB-2026"


@pytest.mark.parametrize(
    ("case", "category", "note"),
    [
        ("reverse_charge", VatCategory.REVERSE_CHARGE, "Reverse charge: VAT to be accounted"),
        ("exempt", VatCategory.EXEMPT, "Exempt: small enterprise"),
        ("not_subject", VatCategory.NOT_SUBJECT, "Not subject to VAT"),
    ],
)
def test_zero_rated_statements_carry_their_mention(
    case: str, category: VatCategory, note: str
) -> None:
    draft = invoices.statement(case)
    [subtotal] = draft.vat_subtotals
    assert (subtotal.category, subtotal.percent, subtotal.taxable, subtotal.tax) == (
        category,
        D(0),
        D("135.99"),
        D("0.00"),
    )
    assert subtotal.note is not None
    assert subtotal.note.startswith(note)
    assert draft.gross_total == D("135.99")


def test_a_not_subject_statement_drops_our_vat_id() -> None:
    """BR-O-02: no VAT id on a document with category O, not even the buyer's."""
    draft = invoices.statement("not_subject")
    assert draft.buyer.vat_id is None
    assert draft.buyer.name == OPERATOR.name
    assert invoices.statement("standard").buyer.vat_id == OPERATOR.vat_id


def statement_of(
    lines: tuple[ShareLine, ...] | None = None,
    *,
    host: Party = GERMAN_HOST,
    vat: HostVat | None = None,
    period: tuple[date, date] = OCTOBER,
    contract: str = CONTRACT,
) -> None:
    self_billed_statement(
        host,
        OPERATOR,
        "EUR",
        period,
        contract,
        invoices.share_lines() if lines is None else lines,
        vat or HostVat.standard(D(19)),
    )


def share(amount: str, base: str = "100.00", kwh: str = "10") -> ShareLine:
    return ShareLine("Alexanderplatz", D(base), D(kwh), D(amount), "a share")


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        ((), "empty_statement", "lines"),
        ((share("0.00"), share("0")), "empty_statement", "lines"),
        ((share("10.00"), share("-0.01")), "invalid_share", "share_net"),
        ((share("1.005"),), "invalid_share", "share_net"),
        ((share("10.00", base="-5.00"),), "invalid_share", "base_net"),
        ((share("10.00", kwh="-1"),), "invalid_share", "kwh"),
    ],
    ids=["no-line", "nothing-owed", "negative", "sub-cent", "negative-base", "negative-kwh"],
)
def test_statements_that_are_refused(lines: tuple[ShareLine, ...], code: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        statement_of(lines)
    assert (info.value.code, info.value.field) == (code, field)


def test_a_period_and_a_contract_are_required() -> None:
    with pytest.raises(InvalidInputError) as info:
        statement_of(period=(date(2026, 11, 1), date(2026, 11, 1)))
    assert info.value.code == "invalid_period"
    with pytest.raises(InvalidInputError) as info:
        statement_of(contract="  ")
    assert info.value.code == "contract_required"


@pytest.mark.parametrize(
    ("host", "vat"),
    [
        (GERMAN_HOST, HostVat.standard(D(0))),  # standard rate above zero
        (replace(GERMAN_HOST, vat_id=None), HostVat.standard(D(19))),  # BR-S-02
        (AUSTRIAN_HOST, HostVat.standard(D(20))),  # abroad: reverse charge (art. 196)
        (GERMAN_HOST, HostVat.reverse_charge()),  # same country as ours
        (replace(AUSTRIAN_HOST, vat_id=None), HostVat.reverse_charge()),  # BR-AE-02
        (AUSTRIAN_HOST, HostVat(VatCategory.REVERSE_CHARGE, D(20), "x")),  # BR-AE-05
        (replace(SMALL_HOST, vat_id=None), SMALL_ENTERPRISE),  # BR-E-02
        (SMALL_HOST, HostVat(VatCategory.EXEMPT, D(0), " ")),  # BR-E-10
        (SMALL_HOST, HostVat.not_subject()),  # BR-O-02: a VAT id
        (replace(CLUB_HOST, registration=None), HostVat.not_subject()),  # BR-CO-26
    ],
    ids=[
        "standard-at-zero",
        "standard-without-vat-id",
        "standard-abroad",
        "reverse-charge-at-home",
        "reverse-charge-without-vat-id",
        "reverse-charge-at-a-rate",
        "exempt-without-vat-id",
        "exempt-without-reason",
        "not-subject-with-vat-id",
        "not-subject-unidentified",
    ],
)
def test_vat_treatments_the_parties_cannot_bear_are_refused(host: Party, vat: HostVat) -> None:
    with pytest.raises(InvalidInputError) as info:
        statement_of(host=host, vat=vat)
    assert (info.value.code, info.value.field) == ("invalid_host_vat", "vat")


def test_reverse_charge_without_our_vat_id_is_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        self_billed_statement(
            AUSTRIAN_HOST,
            replace(OPERATOR, vat_id=None),
            "EUR",
            OCTOBER,
            CONTRACT,
            invoices.share_lines(),
            HostVat.reverse_charge(),
        )
    assert info.value.code == "invalid_host_vat"


# --- the journal entry --------------------------------------------------------------------


def test_a_standard_share_books_expense_input_vat_and_the_gross_payable() -> None:
    assert postings("standard") == {
        "Expenses:RevenueShare": eur("135.99"),
        "Assets:VAT:Input:DE": eur("25.84"),  # 135.99 x 19 %
        PAYABLE: eur("-161.83"),  # 135.99 + 25.84
    }


def test_a_reverse_charged_share_is_self_assessed_at_our_rate() -> None:
    """Art. 196: we owe Germany's 19 % on 135.99 (25.8381 -> 25.84) and deduct it (art. 168);
    the host is paid the net."""
    assert postings("reverse_charge", D(19)) == {
        "Expenses:RevenueShare": eur("135.99"),
        "Assets:VAT:Input:DE": eur("25.84"),
        "Liabilities:VAT:DE": eur("-25.84"),
        PAYABLE: eur("-135.99"),
    }


@pytest.mark.parametrize("case", ["exempt", "not_subject"])
def test_a_share_without_vat_books_the_net_only(case: str) -> None:
    assert postings(case, D(19)) == {
        "Expenses:RevenueShare": eur("135.99"),
        PAYABLE: eur("-135.99"),
    }


@pytest.mark.parametrize("case", ["standard", "reverse_charge", "exempt", "not_subject"])
def test_every_entry_balances_and_names_its_document(case: str) -> None:
    document = invoices.issued_statement(case)
    entry = revenue_share_settled(document, PARTNER, D(19))
    assert totals_by_currency(entry.postings) == {"EUR": D(0)}
    assert (entry.source_type, entry.source_id) == ("invoice", str(document.id))
    assert entry.booked_on == date(2026, 11, 2)
    assert entry.description == (
        f"Self-billed invoice SB-2026-000001: revenue share of {document.seller.name}"
    )


def test_reverse_charge_needs_our_rate() -> None:
    with pytest.raises(InvalidInputError) as info:
        revenue_share_settled(invoices.issued_statement("reverse_charge"), PARTNER)
    assert info.value.code == "self_assessed_rate_required"


def test_only_an_issued_self_billed_invoice_is_booked() -> None:
    with pytest.raises(ConflictError) as conflict:
        revenue_share_settled(invoices.statement("standard"), PARTNER)
    assert conflict.value.code == "invoice_not_issued"
    with pytest.raises(InvalidInputError) as invalid:
        revenue_share_settled(invoices.driver_invoice(), PARTNER)
    assert invalid.value.code == "not_self_billed"
