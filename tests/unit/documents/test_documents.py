"""The documents an operator sends: EN 16931 CII XML, the PDF and the Factur-X PDF.

Each document kind is checked against the official schema (and, where Saxon is installed, the
official Schematron), against figures worked out by hand, and against what a person reads in
the PDF. The negative cases prove the checks can fail.
"""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import facturx  # type: ignore[import-untyped]
import pytest
from lxml import etree  # type: ignore[import-untyped]
from pypdf import PdfReader
from pypdf.generic import ArrayObject, StreamObject
from stdnum import iso11649

from chargeledger.adapters.documents import check_en16931, facturx_pdf, invoice_pdf, invoice_xml
from chargeledger.adapters.documents.cii import NAMESPACES
from chargeledger.adapters.documents.printing import hours_minutes, printable
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice, Layout
from chargeledger.errors import ConflictError, InvalidInputError
from tests.unit.documents import invoices
from tests.unit.documents.schematron import AVAILABLE, REASON, schematron_failures

DOCUMENTS = invoices.documents()
NAMES = sorted(DOCUMENTS)
TOTALS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"


def xpath(xml: bytes, path: str) -> list[str]:
    found = etree.fromstring(xml).xpath(path, namespaces=NAMESPACES)
    return [item if isinstance(item, str) else (item.text or "") for item in found]


def one(xml: bytes, path: str) -> str:
    values = xpath(xml, path)
    assert len(values) == 1, (path, values)
    return values[0]


def pdf_pages(document: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(document)).pages]


def tampered(xml: bytes, path: str, value: str) -> bytes:
    root = etree.fromstring(xml)
    for element in root.xpath(path, namespaces=NAMESPACES):
        element.text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- the e-invoice ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_xml_is_valid_against_the_en16931_schema(name: str) -> None:
    xml = invoice_xml(DOCUMENTS[name])
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    check_en16931(xml)
    assert facturx.get_level(etree.fromstring(xml), "factur-x") == "en16931"


@pytest.mark.skipif(not AVAILABLE, reason=REASON)
@pytest.mark.parametrize("name", NAMES)
def test_xml_obeys_the_official_en16931_schematron(name: str) -> None:
    assert schematron_failures(invoice_xml(DOCUMENTS[name])) == []


@pytest.mark.skipif(not AVAILABLE, reason=REASON)
def test_the_schematron_run_does_report_broken_rules() -> None:
    xml = tampered(invoice_xml(DOCUMENTS["driver"]), f"{TOTALS}GrandTotalAmount", "99.99")
    failures = schematron_failures(xml)
    assert any("BR-CO-15" in failure for failure in failures), failures


@pytest.mark.parametrize("name", NAMES)
def test_xml_totals_are_the_domain_totals(name: str) -> None:
    invoice = DOCUMENTS[name]
    xml = invoice_xml(invoice)
    lines = [
        Decimal(v)
        for v in xpath(
            xml, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        )
    ]
    assert len(lines) == len(invoice.document_lines())
    assert sum(lines) == Decimal(one(xml, f"{TOTALS}LineTotalAmount")) == invoice.net_total
    assert Decimal(one(xml, f"{TOTALS}TaxBasisTotalAmount")) == invoice.net_total
    assert Decimal(one(xml, f"{TOTALS}TaxTotalAmount")) == invoice.tax_total
    assert one(xml, f"{TOTALS}TaxTotalAmount/@currencyID") == "EUR"
    assert Decimal(one(xml, f"{TOTALS}GrandTotalAmount")) == invoice.gross_total
    assert one(xml, "//ram:InvoiceCurrencyCode") == "EUR"
    # Every amount with exactly the currency's two decimals.
    for amount in xpath(
        xml, "//ram:ApplicableHeaderTradeSettlement//*[contains(local-name(), 'Amount')]"
    ):
        assert len(amount.split(".")[1]) == 2, amount


def test_driver_invoice_figures_worked_out_by_hand() -> None:
    xml = invoice_xml(DOCUMENTS["driver"])
    assert one(xml, "//rsm:ExchangedDocument/ram:ID") == "INV-2026-000007"
    assert one(xml, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert one(xml, "//ram:IssueDateTime/udt:DateTimeString") == "20261102"
    assert one(xml, "//ram:IssueDateTime/udt:DateTimeString/@format") == "102"
    assert (
        one(xml, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString")
        == "20261116"
    )
    assert xpath(xml, "//ram:LineTotalAmount") == ["9.80", "16.82", "26.62"]
    assert one(xml, f"{TOTALS}TaxTotalAmount") == "5.06"  # 26.62 × 19 % = 5.0578
    assert one(xml, f"{TOTALS}GrandTotalAmount") == "31.68"
    assert one(xml, f"{TOTALS}DuePayableAmount") == "31.68"
    assert (
        one(xml, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString") == "20261001"
    )
    assert one(xml, "//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString") == "20261031"
    assert xpath(xml, "//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["9.80", "16.82"]
    assert set(xpath(xml, "//ram:BilledQuantity/@unitCode")) == {"C62"}
    assert xpath(xml, "//ram:IncludedSupplyChainTradeLineItem//ram:CategoryCode") == ["S", "S"]
    assert xpath(xml, "//ram:IncludedSupplyChainTradeLineItem//ram:RateApplicablePercent") == [
        "19",
        "19",
    ]


def test_seller_and_buyer_parties() -> None:
    xml = invoice_xml(DOCUMENTS["driver"])
    seller = "//ram:SellerTradeParty/"
    assert one(xml, f"{seller}ram:Name") == "Stromwerk Ladenetz GmbH"
    assert one(xml, f"{seller}ram:SpecifiedTaxRegistration/ram:ID") == "DE136695976"
    assert one(xml, f"{seller}ram:SpecifiedTaxRegistration/ram:ID/@schemeID") == "VA"
    assert one(xml, f"{seller}ram:SpecifiedLegalOrganization/ram:ID") == "HRB 123456 B"
    assert one(xml, f"{seller}ram:PostalTradeAddress/ram:CountryID") == "DE"
    assert one(xml, f"{seller}ram:URIUniversalCommunication/ram:URIID/@schemeID") == "EM"
    assert one(xml, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CityName") == "München"
    assert xpath(xml, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration") == []


def test_sepa_credit_transfer_to_the_sellers_iban_else_the_agreed_means() -> None:
    with_iban = invoice_xml(DOCUMENTS["driver"])
    assert one(with_iban, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    assert (
        one(with_iban, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
        == "DE89370400440532013000"
    )
    # BT-83: the ISO 11649 reference of the invoice number, checked by python-stdnum
    reference = one(with_iban, "//ram:PaymentReference")
    assert (reference, iso11649.is_valid(reference)) == ("RF29INV2026000007", True)
    without = invoice_xml(DOCUMENTS["unicode"])
    assert one(without, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "57"
    assert xpath(without, "//ram:IBANID") == []


def test_credit_note_is_381_with_positive_amounts_and_references_the_invoice() -> None:
    note = DOCUMENTS["credit_note"]
    xml = invoice_xml(note)
    assert one(xml, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "INV-2026-000007"
    assert one(xml, "//rsm:ExchangedDocument/ram:ID") == "CN-2026-000001"
    notes = xpath(xml, "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content")
    assert notes == ["Reason for the credit note: Station BER-ALX-02 overcounted idle time"]
    assert one(xml, f"{TOTALS}GrandTotalAmount") == "20.02"  # line 2: 16.82 + 19 % (3.20)
    amounts = xpath(xml, "//*[contains(local-name(), 'Amount')]")
    assert amounts
    assert all(Decimal(a) > 0 for a in amounts)
    assert xpath(xml, "//ram:SpecifiedTradeSettlementPaymentMeans") == []


def test_reverse_charge_is_category_ae_at_zero_with_the_exemption_reason() -> None:
    invoice = DOCUMENTS["reverse_charge"]
    xml = invoice_xml(invoice)
    assert set(xpath(xml, "//ram:IncludedSupplyChainTradeLineItem//ram:CategoryCode")) == {"AE"}
    assert set(xpath(xml, "//ram:IncludedSupplyChainTradeLineItem//ram:RateApplicablePercent")) == {
        "0"
    }
    breakdown = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:"
    assert one(xml, f"{breakdown}CategoryCode") == "AE"
    assert one(xml, f"{breakdown}RateApplicablePercent") == "0"
    assert one(xml, f"{breakdown}CalculatedAmount") == "0.00"
    assert one(xml, f"{breakdown}BasisAmount") == "43.65"
    assert one(xml, f"{breakdown}ExemptionReasonCode") == "VATEX-EU-AE"
    assert one(xml, f"{breakdown}ExemptionReason") == invoices.REVERSE_CHARGE_NOTE
    assert invoices.REVERSE_CHARGE_NOTE in xpath(xml, "//ram:IncludedNote/ram:Content")
    assert one(xml, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "PT501964843"
    assert one(xml, f"{TOTALS}TaxTotalAmount") == "0.00"
    assert one(xml, f"{TOTALS}GrandTotalAmount") == "43.65"


def test_receipt_is_an_invoice_already_paid_by_card() -> None:
    xml = invoice_xml(DOCUMENTS["receipt"])
    assert one(xml, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert one(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "48"
    assert one(xml, f"{TOTALS}GrandTotalAmount") == "16.90"
    assert one(xml, f"{TOTALS}TotalPrepaidAmount") == "16.90"
    assert one(xml, f"{TOTALS}DuePayableAmount") == "0.00"
    # The anonymous walk-in buyer has only a name and a country: no empty address elements.
    assert xpath(xml, "//ram:BuyerTradeParty/ram:PostalTradeAddress/*") == ["DE"]


def test_per_site_invoice_bills_one_line_per_site() -> None:
    invoice = DOCUMENTS["per_site"]
    xml = invoice_xml(invoice)
    names = xpath(xml, "//ram:SpecifiedTradeProduct/ram:Name")
    assert names == [
        "Charging at Alexanderplatz: 15 sessions",
        "Charging at Hafen Hamburg: 15 sessions",
    ]
    assert sum(
        Decimal(v)
        for v in xpath(xml, "//ram:IncludedSupplyChainTradeLineItem//ram:LineTotalAmount")
    ) == sum(line.net for line in invoice.lines)


def test_names_outside_latin1_stay_exact_in_the_xml() -> None:
    xml = invoice_xml(DOCUMENTS["unicode"])
    assert one(xml, "//ram:BuyerTradeParty/ram:Name") == "Łódź € Flota — Ωmega Zoë"
    assert "ŁDZ-01 «Ωmega»" in one(xml, "//ram:SpecifiedTradeProduct/ram:Name")


def test_a_draft_cannot_be_rendered() -> None:
    draft = replace(DOCUMENTS["driver"], status=DocumentStatus.DRAFT, number=None)
    for render in (invoice_xml, invoice_pdf, facturx_pdf):
        with pytest.raises(ConflictError) as info:
            render(draft)
        assert info.value.code == "invoice_not_issued"


def test_a_currency_with_three_decimals_is_refused() -> None:
    invoice = replace(DOCUMENTS["driver"], currency="KWD")
    with pytest.raises(InvalidInputError) as info:
        invoice_xml(invoice)
    assert info.value.code == "invalid_einvoice"


def test_a_credit_note_taking_the_vat_left_on_the_invoice_is_valid() -> None:
    """The last credit note of a rate takes the VAT left (0.02 - 0.01 - 0.01 = 0.00), not its
    own rounding (0.01): within BR-CO-17's tolerance, and the three notes clear the invoice."""
    original = invoices.small_invoice()
    notes = invoices.line_by_line_credit_notes(original)
    assert [note.tax_total for note in notes] == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]
    assert sum(note.gross_total for note in notes) == original.gross_total == Decimal("0.11")
    for note in notes:
        xml = invoice_xml(note)
        check_en16931(xml)
        assert one(xml, f"{TOTALS}TaxTotalAmount") == format(note.tax_total, "f")
        if AVAILABLE:
            assert schematron_failures(xml) == []


# --- the check the demo and the Factur-X PDF rely on --------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        (f"{TOTALS}GrandTotalAmount", "99.99", "BR-CO-15"),
        (f"{TOTALS}LineTotalAmount", "1.00", "BR-CO-10"),
        (f"{TOTALS}DuePayableAmount", "0.00", "BR-CO-16"),
        (
            "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CalculatedAmount",
            "7.06",
            "BR-CO-17",
        ),
        (
            "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:BasisAmount",
            "26.60",
            "BR-S-08",
        ),
    ],
)
def test_check_refuses_broken_arithmetic(path: str, value: str, rule: str) -> None:
    xml = tampered(invoice_xml(DOCUMENTS["driver"]), path, value)
    with pytest.raises(InvalidInputError) as info:
        check_en16931(xml)
    assert info.value.code == "invalid_einvoice"
    assert rule in info.value.details["rules"], info.value.message


def test_check_refuses_reverse_charge_without_the_buyers_vat_id() -> None:
    invoice = DOCUMENTS["reverse_charge"]
    xml = invoice_xml(replace(invoice, buyer=replace(invoice.buyer, vat_id=None)))
    with pytest.raises(InvalidInputError) as info:
        check_en16931(xml)
    assert "BR-AE-02" in info.value.details["rules"]


def test_check_refuses_xml_the_schema_rejects() -> None:
    xml = tampered(invoice_xml(DOCUMENTS["driver"]), f"{TOTALS}GrandTotalAmount", "31,68")
    with pytest.raises(InvalidInputError) as info:
        check_en16931(xml)
    assert info.value.code == "invalid_einvoice"
    assert info.value.details["rules"] == ["XSD"]


# --- the PDF ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_pdf_shows_number_parties_and_total(name: str) -> None:
    invoice = DOCUMENTS[name]
    document = invoice_pdf(invoice)
    assert document.startswith(b"%PDF-")
    text = "\n".join(pdf_pages(document))
    assert invoice.number
    assert invoice.number in text
    assert f"{invoice.gross_total:,.2f} EUR" in text
    assert printable(invoice.buyer.name) in text
    assert "Stromwerk Ladenetz GmbH" in text
    assert "DE136695976" in text


def test_pdf_shows_the_component_split_of_each_session() -> None:
    text = pdf_pages(invoice_pdf(DOCUMENTS["driver"]))[0]
    assert "Energy 12.33, Parking 3.50, Fixed 0.99" in text
    assert "Energy 8.60, Time 1.20" in text
    assert "30.825 kWh, 4:15 h (idle 1:45 h)" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "2026-11-16" in text  # due date


def test_per_site_pdf_lists_every_session_in_the_annex() -> None:
    invoice = DOCUMENTS["per_site"]
    pages = pdf_pages(invoice_pdf(invoice))
    assert len(pages) >= 2
    assert "Annex" not in pages[0]
    annex = "\n".join(pages[1:])
    assert f"Annex to {invoice.number}" in annex
    for line in invoice.lines:
        assert line.local_start is not None
        row = f"{line.local_start:%Y-%m-%d %H:%M} {line.station_name}"
        assert row in annex, row
    assert annex.count("2026-10-") == len(invoice.lines) == 30
    for heading in ("Energy", "Time", "Parking", "Fixed", "Idle", "Duration"):
        assert heading in annex
    # The per-site totals equal the document lines.
    for line in invoice.document_lines():
        assert f"{line.net:,.2f}" in pages[0]
        assert f"{line.net:,.2f}" in annex


def test_pdf_of_a_credit_note_names_the_original_and_the_reason() -> None:
    text = pdf_pages(invoice_pdf(DOCUMENTS["credit_note"]))[0]
    assert "CREDIT NOTE" in text
    assert "corrects document INV-2026-000007" in text
    assert "Reason: Station BER-ALX-02 overcounted idle time" in text
    assert "Total credited" in text


def test_pdf_of_a_reverse_charge_invoice_prints_the_mention() -> None:
    text = " ".join(pdf_pages(invoice_pdf(DOCUMENTS["reverse_charge"]))[0].split())
    assert "Reverse charge: VAT to be accounted for by the recipient" in text
    assert "PT501964843" in text


def test_pdf_of_an_invoice_gives_its_rf_reference_and_an_epc_qr_code() -> None:
    """Issue 13: the transfer's reference in groups of four, and a code to scan; not on a
    document without the seller's IBAN."""
    text = " ".join(" ".join(pdf_pages(invoice_pdf(DOCUMENTS["driver"]))).split())
    assert "Payment reference RF29 INV2 0260 0000 7" in text
    assert "Scan to pay (EPC QR code, SEPA credit transfer)" in text
    without = " ".join(pdf_pages(invoice_pdf(DOCUMENTS["unicode"])))
    assert "Scan to pay" not in without


def test_pdf_of_a_receipt_says_it_is_paid() -> None:
    text = pdf_pages(invoice_pdf(DOCUMENTS["receipt"]))[0]
    assert "RECEIPT" in text
    assert "Paid by card" in text
    assert "0.00 EUR" in text


def test_pdf_prints_names_the_core_fonts_cannot() -> None:
    text = pdf_pages(invoice_pdf(DOCUMENTS["unicode"]))[0]
    assert "Lódz € Flota — ?mega Zoë" in text
    assert "LDZ-01 «?mega»" in text


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("Łódź", "Lódz"),
        ("Kraków – Gdańsk", "Kraków – Gdansk"),
        ("12 €", "12 €"),
        ("Ωmega 東京", "?mega ??"),
        ("Straße Ærø", "Straße Ærø"),
        ("Đorđe Čolić", "Dorde Colic"),
    ],
)
def test_printable_keeps_what_the_fonts_have_and_transliterates_the_rest(
    text: str, printed: str
) -> None:
    assert printable(text) == printed


def test_durations_print_as_hours_and_minutes() -> None:
    assert [hours_minutes(Decimal(h)) for h in ("0", "1.5", "0.2583", "25")] == [
        "0:00",
        "1:30",
        "0:15",
        "25:00",
    ]


# --- the Factur-X PDF --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["driver", "credit_note", "per_site"])
def test_facturx_pdf_carries_the_exact_xml(name: str) -> None:
    invoice = DOCUMENTS[name]
    document = facturx_pdf(invoice)
    assert document.startswith(b"%PDF-")
    filename, embedded = facturx.get_facturx_xml_from_pdf(document, check_xsd=True)
    assert filename == "factur-x.xml"
    assert embedded == invoice_xml(invoice)
    catalog = PdfReader(io.BytesIO(document)).root_object
    metadata = catalog["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject)
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in metadata.get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in metadata.get_data()
    intents = catalog["/OutputIntents"].get_object()
    assert isinstance(intents, ArrayObject)
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    assert invoice.number is not None
    assert invoice.number in "\n".join(pdf_pages(document))


def test_facturx_pdf_refuses_an_invalid_invoice() -> None:
    invoice = DOCUMENTS["reverse_charge"]
    without_vat_id = replace(invoice, buyer=replace(invoice.buyer, vat_id=None))
    with pytest.raises(InvalidInputError):
        facturx_pdf(without_vat_id)


def test_every_kind_is_covered() -> None:
    kinds = {invoice.kind for invoice in DOCUMENTS.values()}
    layouts = {invoice.layout for invoice in DOCUMENTS.values()}
    assert kinds == set(DocumentKind)
    assert layouts == set(Layout)
    assert all(isinstance(invoice, Invoice) for invoice in DOCUMENTS.values())
