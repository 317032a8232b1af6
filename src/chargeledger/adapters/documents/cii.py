"""An issued invoice, receipt or credit note as an EN 16931 e-invoice in UN/CEFACT CII syntax.

The XML follows the Factur-X / ZUGFeRD profile "EN 16931" (BT-24 ``urn:cen.eu:en16931:2017``),
so the same bytes are the e-invoice sent on its own and the XML embedded in the Factur-X PDF.
Every value comes from the domain :class:`Invoice` unchanged: the document's totals are the
domain's totals, never re-computed here, so the e-invoice, the PDF and the ledger agree to the
cent. Element order is the CII D16B schema's; the comments name the EN 16931 business terms
(BT-n, groups BG-n) and business rules (BR-n) each element serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from chargeledger.domain.billing import VatCategory
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Party,
    VatSubtotal,
)
from chargeledger.domain.self_billing import SELF_BILLING_MENTION
from chargeledger.domain.text import UNIT_DECIMALS, percent_text, plain_number
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Currency

NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
# BT-24: the specification identifier of the Factur-X / ZUGFeRD "EN 16931" profile.
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
# BT-3, UNTDID 1001: a receipt is a commercial invoice too (art. 226b simplified invoice); a
# site host's revenue share is a self-billed invoice (389, art. 224). Its correction would be a
# self-billed credit note, 261, which the EN 16931 code list (Factur-X cl 2) accepts as it
# does 381; 381 would not say that the customer issued it.
TYPE_CODES = {
    DocumentKind.INVOICE: "380",
    DocumentKind.RECEIPT: "380",
    DocumentKind.CREDIT_NOTE: "381",
    DocumentKind.SELF_BILLED: "389",
}
# BT-81, UNTDID 4461.
SEPA_CREDIT_TRANSFER = "58"
STANDING_AGREEMENT = "57"
BANK_CARD = "48"
# BT-121, the CEF VATEX code list; BR-AE-10 asks for this code or the BT-120 text.
REVERSE_CHARGE_EXEMPTION = "VATEX-EU-AE"
REVERSE_CHARGE_TEXT = "Reverse charge"
# BR-O-10 asks for this code or the text; an exempt breakdown states its reason as text only
# (BR-E-10): the VATEX list has no EU code for the small-enterprise scheme (art. 284).
NOT_SUBJECT_EXEMPTION = "VATEX-EU-O"
NOT_SUBJECT_TEXT = "Not subject to VAT"
# BT-130, UN/ECE Recommendation 20: "one" (a session or a site's sessions as one unit).
UNIT_ONE = "C62"
# XML 1.0 forbids these characters; lxml would refuse them rather than escape them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def invoice_xml(invoice: Invoice) -> bytes:
    """The CII XML (UTF-8, with declaration) of an issued document.

    Raises ``ConflictError(invoice_not_issued)`` for a draft (BT-1 and BT-2 are mandatory)
    and ``InvalidInputError(invalid_einvoice)`` when an amount cannot be stated as EN 16931
    allows (BR-DEC: at most two decimals) without changing it.
    """
    number, issue_date = require_issued(invoice)
    amounts = _Amounts(invoice.currency)
    root = etree.Element(_tag("rsm:CrossIndustryInvoice"), nsmap=NAMESPACES)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(
        _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE
    )
    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", number)  # BT-1
    _sub(document, "ram:TypeCode", TYPE_CODES[invoice.kind])  # BT-3
    _date(_sub(document, "ram:IssueDateTime"), issue_date)  # BT-2
    for note in document_notes(invoice):  # BG-1 / BT-22
        _sub(_sub(document, "ram:IncludedNote"), "ram:Content", note)
    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for line in invoice.document_lines():
        _line_item(transaction, line, amounts)
    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", invoice.seller, seller=True)  # BG-4
    _party(agreement, "ram:BuyerTradeParty", invoice.buyer, seller=False)  # BG-7
    if invoice.purchase_order:  # BT-13
        order = _sub(agreement, "ram:BuyerOrderReferencedDocument")
        _sub(order, "ram:IssuerAssignedID", invoice.purchase_order)
    if invoice.contract_reference:  # BT-12
        contract = _sub(agreement, "ram:ContractReferencedDocument")
        _sub(contract, "ram:IssuerAssignedID", invoice.contract_reference)
    # BG-13, BT-72: a supply billed by periodic statements is completed when its period ends
    # (Directive 2006/112/EC art. 64(1)); the period itself is BG-14.
    event = _sub(
        _sub(transaction, "ram:ApplicableHeaderTradeDelivery"), "ram:ActualDeliverySupplyChainEvent"
    )
    _date(_sub(event, "ram:OccurrenceDateTime"), last_day_of(invoice))
    _settlement(transaction, invoice, number, amounts)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def document_notes(invoice: Invoice) -> list[str]:
    """The free-text notes (BT-22) the PDF prints too: the credit note's reason, the
    "Self-billing" mention (art. 226(10a)) with the agreement it is issued under (art. 224),
    and the legal mention each VAT subtotal carries (reverse charge: art. 226(11a); an
    exemption: art. 226(11))."""
    notes = []
    if invoice.kind is DocumentKind.CREDIT_NOTE and invoice.reason:
        notes.append(f"Reason for the credit note: {invoice.reason}")
    if invoice.kind is DocumentKind.SELF_BILLED:
        notes.append(SELF_BILLING_MENTION)
        if invoice.reason:
            notes.append(invoice.reason)
    notes.extend(dict.fromkeys(s.note for s in invoice.vat_subtotals if s.note))
    return notes


def amount_due(invoice: Invoice) -> Decimal:
    """BT-115: nothing for a receipt, which confirms an ad hoc session already paid by card
    (BT-113 paid amount = BT-112), else the grand total (BR-CO-16 with no prepayment)."""
    return Decimal(0) if invoice.kind is DocumentKind.RECEIPT else invoice.gross_total


def payment_terms(invoice: Invoice) -> str:
    """BT-20 as text, also printed on the PDF (the IBAN itself is BT-84)."""
    if invoice.kind is DocumentKind.CREDIT_NOTE:
        return (
            "The credited amount is set off against open invoices or refunded "
            "to the original means of payment."
        )
    if invoice.kind is DocumentKind.RECEIPT:
        return "Paid by card at the charging station."
    due = f" by {invoice.due_date.isoformat()}" if invoice.due_date else ""
    within = (
        "immediately"
        if invoice.payment_terms_days == 0
        else f"within {invoice.payment_terms_days} days{due}"
    )
    if invoice.kind is DocumentKind.SELF_BILLED:
        # Self-billing: the buyer, who issued the document, pays the seller (the host).
        to = (
            "by SEPA credit transfer to the supplier's account"
            if invoice.seller.iban
            else "as agreed in the self-billing agreement"
        )
        return f"{invoice.buyer.name} pays {within} {to}, quoting {invoice.number}."
    how = "by SEPA credit transfer" if invoice.seller.iban else "as agreed in the contract"
    return f"Payable {within} {how}, quoting {invoice.payment_reference or invoice.number}."


def last_day_of(invoice: Invoice) -> date:
    """The period's last day: the domain's period end is exclusive, EN 16931's inclusive."""
    return max(invoice.period_start, invoice.period_end - timedelta(days=1))


def normalised_iban(iban: str | None) -> str:
    """BT-84 in the electronic format: no spaces, upper case (ISO 13616)."""
    return re.sub(r"\s+", "", iban or "").upper()


def format_percent(percent: Decimal) -> str:
    """A VAT rate without trailing zeros or exponent (``19``, ``25.5``, ``0``)."""
    return percent_text(percent)


class _Amounts:
    """Amounts in the document currency with exactly its minor units (BR-DEC-*: at most two
    decimals), refusing any value that would change by it rather than rounding silently."""

    def __init__(self, code: str) -> None:
        self.currency = Currency.of(code)
        if self.currency.minor_units > 2:
            raise InvalidInputError(
                f"EN 16931 allows at most two decimals for amounts (BR-DEC-*); "
                f"{self.currency.code} has {self.currency.minor_units}",
                code="invalid_einvoice",
                field="currency",
            )

    def text(self, amount: Decimal) -> str:
        exact = amount.quantize(self.currency.quantum)
        if exact != amount:
            raise InvalidInputError(
                f"{amount} {self.currency.code} is not a whole number of minor units",
                code="invalid_einvoice",
            )
        return format(exact, "f")


def require_issued(invoice: Invoice) -> tuple[str, date]:
    """The number (BT-1) and issue date (BT-2) of an issued document; a draft has neither."""
    if invoice.status is not DocumentStatus.ISSUED or not invoice.number or not invoice.issue_date:
        raise ConflictError(
            "only an issued document (with number and issue date) can be rendered",
            code="invoice_not_issued",
        )
    return invoice.number, invoice.issue_date


def _line_item(transaction: Any, line: InvoiceLine, amounts: _Amounts) -> None:
    """BG-25. Quantity one of one unit (C62) at the line net as the net price keeps
    BT-131 = BT-146 × BT-129 exact; a negative line is −1 at a positive price (BR-27)."""
    item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
    line_document = _sub(item, "ram:AssociatedDocumentLineDocument")
    _sub(line_document, "ram:LineID", str(line.position))
    if line.driver:  # BT-127: which card charged, for a fleet's per-driver annex (issue 14)
        _sub(_sub(line_document, "ram:IncludedNote"), "ram:Content", f"Card: {line.driver}")
    product = _sub(item, "ram:SpecifiedTradeProduct")
    _sub(product, "ram:Name", line.description)  # BT-153
    for name, value in _characteristics(line):  # BG-32
        characteristic = _sub(product, "ram:ApplicableProductCharacteristic")
        _sub(characteristic, "ram:Description", name)  # BT-160
        _sub(characteristic, "ram:Value", value)  # BT-161
    price = _sub(_sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    _sub(price, "ram:ChargeAmount", amounts.text(abs(line.net)))  # BT-146
    quantity = "-1" if line.net < 0 else "1"
    delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
    _sub(delivery, "ram:BilledQuantity", quantity, unitCode=UNIT_ONE)  # BT-129, BT-130
    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", line.vat_category.value)  # BT-151
    if line.vat_category is not VatCategory.NOT_SUBJECT:  # BR-O-05: no rate where no VAT
        _sub(tax, "ram:RateApplicablePercent", format_percent(line.vat_percent))  # BT-152
    summation = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram:LineTotalAmount", amounts.text(line.net))  # BT-131
    if line.cost_centre:  # BT-133
        account = _sub(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount")
        _sub(account, "ram:ID", line.cost_centre)


def _characteristics(line: InvoiceLine) -> Iterable[tuple[str, str]]:
    if line.energy_kwh:
        yield "Energy (kWh)", plain_number(line.energy_kwh, UNIT_DECIMALS["kWh"])
    if line.duration_hours:
        yield "Duration (h)", plain_number(line.duration_hours, 2)


def _party(parent: Any, tag: str, party: Party, *, seller: bool) -> None:
    """BG-4 / BG-7: name, legal registration (BT-30, seller only), postal address with the
    country (BG-5/BG-8, BR-9/BR-11), e-mail as electronic address with scheme ``EM``
    (BT-34/BT-49, BR-62/BR-63) and VAT identifier with scheme ``VA`` (BT-31/BT-48)."""
    element = _sub(parent, tag)
    _sub(element, "ram:Name", party.name)
    if seller and party.registration:
        _sub(_sub(element, "ram:SpecifiedLegalOrganization"), "ram:ID", party.registration)
    address = _sub(element, "ram:PostalTradeAddress")
    for child, value in (
        ("ram:PostcodeCode", party.postal_code),
        ("ram:LineOne", party.street),
        ("ram:CityName", party.city),
    ):
        if value.strip():
            _sub(address, child, value)
    _sub(address, "ram:CountryID", party.country.upper())
    if party.email:
        communication = _sub(element, "ram:URIUniversalCommunication")
        _sub(communication, "ram:URIID", party.email, schemeID="EM")
    if party.vat_id:
        _sub(_sub(element, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")


# The documents whose amount is paid by a transfer after issue, by a due date: an invoice (to
# us) and a self-billed invoice (by us, to the host).
_ASKS_PAYMENT = frozenset({DocumentKind.INVOICE, DocumentKind.SELF_BILLED})


def _settlement(transaction: Any, invoice: Invoice, number: str, amounts: _Amounts) -> None:
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    due = amount_due(invoice)
    if invoice.kind in _ASKS_PAYMENT:
        # BT-83: the transfer's reference, the invoice's ISO 11649 RF reference (a self-billed
        # invoice: its number, which our transfer to the host quotes)
        _sub(settlement, "ram:PaymentReference", invoice.payment_reference or number)
    _sub(settlement, "ram:InvoiceCurrencyCode", amounts.currency.code)  # BT-5
    _payment_means(settlement, invoice)
    for subtotal in invoice.vat_subtotals:
        _vat_breakdown(settlement, subtotal, amounts)
    period = _sub(settlement, "ram:BillingSpecifiedPeriod")  # BG-14, end inclusive (BR-29)
    _date(_sub(period, "ram:StartDateTime"), invoice.period_start)  # BT-73
    _date(_sub(period, "ram:EndDateTime"), last_day_of(invoice))  # BT-74
    terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
    _sub(terms, "ram:Description", payment_terms(invoice))  # BT-20
    if invoice.kind in _ASKS_PAYMENT and invoice.due_date and due > 0:
        _date(_sub(terms, "ram:DueDateDateTime"), invoice.due_date)  # BT-9 (BR-CO-25)
    totals = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")  # BG-22
    _sub(totals, "ram:LineTotalAmount", amounts.text(invoice.net_total))  # BT-106
    _sub(totals, "ram:TaxBasisTotalAmount", amounts.text(invoice.net_total))  # BT-109
    tax = amounts.text(invoice.tax_total)
    _sub(totals, "ram:TaxTotalAmount", tax, currencyID=amounts.currency.code)  # BT-110
    _sub(totals, "ram:GrandTotalAmount", amounts.text(invoice.gross_total))  # BT-112
    if invoice.gross_total != due:
        paid = amounts.text(invoice.gross_total - due)
        _sub(totals, "ram:TotalPrepaidAmount", paid)  # BT-113
    _sub(totals, "ram:DuePayableAmount", amounts.text(due))  # BT-115
    if invoice.kind is DocumentKind.CREDIT_NOTE and invoice.original_number:
        reference = _sub(settlement, "ram:InvoiceReferencedDocument")  # BG-3
        _sub(reference, "ram:IssuerAssignedID", invoice.original_number)  # BT-25


def _payment_means(settlement: Any, invoice: Invoice) -> None:
    """BG-16. SEPA credit transfer to the seller's IBAN (58, BT-84 required by BR-61); without
    an IBAN the means agreed in the customer's contract (57); a receipt was paid by card (48).
    A credit note states none: the seller pays, and BT-84 would be the wrong account. On a
    self-billed invoice the seller is the host, so BT-84 is the host's IBAN, which we pay."""
    if invoice.kind is DocumentKind.CREDIT_NOTE:
        return
    means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    if invoice.kind is DocumentKind.RECEIPT:
        _sub(means, "ram:TypeCode", BANK_CARD)
        _sub(means, "ram:Information", "Payment card")  # BT-82
    elif invoice.seller.iban:
        _sub(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
        _sub(means, "ram:Information", "SEPA credit transfer")
        account = _sub(means, "ram:PayeePartyCreditorFinancialAccount")
        _sub(account, "ram:IBANID", normalised_iban(invoice.seller.iban))
    else:
        _sub(means, "ram:TypeCode", STANDING_AGREEMENT)
        agreed = (
            "As agreed in the self-billing agreement"
            if invoice.kind is DocumentKind.SELF_BILLED
            else "As agreed in the customer contract"
        )
        _sub(means, "ram:Information", agreed)


def _vat_breakdown(settlement: Any, subtotal: VatSubtotal, amounts: _Amounts) -> None:
    """BG-23. Reverse charge: rate 0 and VAT 0 (BR-AE-06, BR-AE-09) with the exemption reason
    text (BT-120, the legal mention) and code ``VATEX-EU-AE`` (BT-121, BR-AE-10). Exempt: the
    reason as text (BR-E-10). Not subject: the text and ``VATEX-EU-O`` (BR-O-10)."""
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:CalculatedAmount", amounts.text(subtotal.tax))  # BT-117
    _sub(tax, "ram:TypeCode", "VAT")
    reason, code = _EXEMPTIONS.get(subtotal.category, (None, None))
    reason = None if subtotal.category is VatCategory.STANDARD else subtotal.note or reason
    if reason:
        _sub(tax, "ram:ExemptionReason", reason)  # BT-120
    _sub(tax, "ram:BasisAmount", amounts.text(subtotal.taxable))  # BT-116
    _sub(tax, "ram:CategoryCode", subtotal.category.value)  # BT-118
    if code is not None:
        _sub(tax, "ram:ExemptionReasonCode", code)  # BT-121
    _sub(tax, "ram:RateApplicablePercent", format_percent(subtotal.percent))  # BT-119


# BT-120 when the document has no note of its own, and BT-121, per zero-rated category.
_EXEMPTIONS: dict[VatCategory, tuple[str | None, str | None]] = {
    VatCategory.REVERSE_CHARGE: (REVERSE_CHARGE_TEXT, REVERSE_CHARGE_EXEMPTION),
    VatCategory.EXEMPT: (None, None),
    VatCategory.NOT_SUBJECT: (NOT_SUBJECT_TEXT, NOT_SUBJECT_EXEMPTION),
}


def _tag(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


def _sub(parent: Any, name: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, _tag(name), attributes)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _date(parent: Any, day: date) -> None:
    """A date as ``udt:DateTimeString`` in format 102 (CCYYMMDD), the only one CII allows."""
    _sub(parent, "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")
