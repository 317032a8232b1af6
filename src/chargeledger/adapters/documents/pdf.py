"""An issued invoice, receipt or credit note as a printable A4 PDF.

It shows what Council Directive 2006/112/EC art. 226 requires on an invoice (seller and buyer
with addresses and VAT ids, number, dates, the supply, the VAT per rate, the totals, the
reverse-charge mention, the corrected document of a credit note) and what a driver or a fleet
manager needs to check it: the sessions with their energy, duration, idle time and the net of
each tariff component (DESIGN §5). Every figure comes from the domain :class:`Invoice` and the
same helpers as the e-invoice (:mod:`.cii`), so the printed and the electronic document agree.

The output is reproducible: the same document gives the same bytes whenever it is rendered
(an issued document is sent again, archived, disputed; a checksum must still match), with one
planned change: once the day it was chained on is closed, it also carries its checkpoint proof
(issue 15). So nothing in it may come from the clock: the creation date is the moment the
document was issued (:func:`document_moment`), the PDF/A output intent embeds the fixed ICC
sRGB2014 profile that ships with fpdf2 (a profile built at run time by LittleCMS stamps its
creation time), and fpdf2 derives the file id from the content.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import OutputIntentSubType, XPos, YPos
from fpdf.output import PDFICCProfile
from fpdf.util import builtin_srgb2014_bytes

from chargeledger.adapters.documents import annex, audit_annex, signed_annex
from chargeledger.adapters.documents.cii import (
    amount_due,
    document_notes,
    format_percent,
    last_day_of,
    normalised_iban,
    payment_terms,
    require_issued,
)
from chargeledger.adapters.documents.drawing import draw_qr
from chargeledger.adapters.documents.printing import (
    BOLD,
    FONT,
    GREY,
    HEADINGS,
    PDF_ENCODING,
    day,
    hours_minutes,
    kwh,
    money,
    plain_amount,
    printable,
)
from chargeledger.domain.audit import RecordSeal
from chargeledger.domain.billing import VatCategory
from chargeledger.domain.evidence import SignedBySession
from chargeledger.domain.invoicing import (
    DocumentKind,
    Invoice,
    InvoiceLine,
    Layout,
    Party,
)
from chargeledger.domain.payment_references import epc_qr_payload, grouped
from chargeledger.money import Money

TITLES = {
    DocumentKind.INVOICE: "Invoice",
    DocumentKind.RECEIPT: "Receipt",
    DocumentKind.CREDIT_NOTE: "Credit note",
    DocumentKind.SELF_BILLED: "Self-billed invoice",
}
# The buyer's block: on a self-billed invoice the customer is also who issued it (art. 224).
BUYER_LABELS = {DocumentKind.SELF_BILLED: "Customer, issuer of this self-billed invoice"}
# The label of a VAT subtotal's row in the totals, by category (BG-23).
VAT_LABELS = {
    VatCategory.STANDARD: "VAT",
    VatCategory.REVERSE_CHARGE: "Reverse charge",
    VatCategory.EXEMPT: "VAT exempt",
    VatCategory.NOT_SUBJECT: "Not subject to VAT",
}


class DocumentPdf(FPDF):
    """A4 portrait with a footer naming the seller, the document and the page, and (issue 15)
    the document's record hash in the audit chain, by which anyone can check it was not changed
    since it was issued (``GET /api/v1/audit/records/invoice/{id}``)."""

    def __init__(self, invoice: Invoice, record_hash: str = "") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.invoice = invoice
        self.record_hash = record_hash
        self.core_fonts_encoding = PDF_ENCODING
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=24)
        self.alias_nb_pages()
        title = f"{TITLES[invoice.kind]} {invoice.number}"
        self.set_title(title)
        self.set_subject(f"{title} of {invoice.seller.name} to {invoice.buyer.name}")
        self.set_author(invoice.seller.name)
        self.set_creator("chargeledger")
        self.set_lang("en")
        self.set_creation_date(document_moment(invoice))
        # PDF/A (the Factur-X carrier) wants an output intent for device colours: the ICC's
        # own sRGB2014 profile, a fixed file (ISO 19005-3 §6.2.3), as fpdf2 uses for PDF/A.
        self.add_output_intent(
            OutputIntentSubType.PDFA,
            output_condition_identifier="sRGB",
            output_condition="IEC 61966-2-1:1999",
            registry_name="http://www.color.org",
            dest_output_profile=PDFICCProfile(
                contents=builtin_srgb2014_bytes(), n=3, alternate="DeviceRGB"
            ),
            info="sRGB2014 (v2)",
        )

    def footer(self) -> None:
        seller = self.invoice.seller
        parts = [seller.name, seller.registration, seller.vat_id and f"VAT ID {seller.vat_id}"]
        self.set_text_color(*GREY)
        if self.record_hash:
            self.set_y(-21)
            self.set_font(FONT, size=6.5)
            self.cell(0, 4, f"Record hash (SHA-256): {self.record_hash}", align="C")
        self.set_y(-17)
        self.set_font(FONT, size=7.5)
        self.cell(0, 4, printable(" | ".join(p for p in parts if p)), align="C")
        self.ln(4)
        page = f"{TITLES[self.invoice.kind]} {self.invoice.number} - page {self.page_no()}/{{nb}}"
        self.cell(0, 4, printable(page), align="C")
        self.set_text_color(0)

    def line_of_text(
        self, value: str, size: float = 9, style: str = "", height: float = 4.6
    ) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, height, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def document_moment(invoice: Invoice) -> datetime:
    """The one instant a document's files carry as their creation and modification date: when
    it was issued (else the start of its issue date, else of its period's end), never the time
    it happens to be rendered."""
    return invoice.issued_at or datetime.combine(
        invoice.issue_date or invoice.period_end, time(), UTC
    )


def invoice_pdf(
    invoice: Invoice, signed: SignedBySession | None = None, seal: RecordSeal | None = None
) -> bytes:
    """The PDF of an issued document; ``ConflictError(invoice_not_issued)`` for a draft.
    ``signed``: the signed meter values of its sessions, printed in an annex of an invoice or
    a receipt (issue 15) so the customer can check them; ``seal``: where it stands in the
    audit chain: its content hash in the footer and, once its day is closed, the checkpoint
    proof on the last page (:mod:`.audit_annex`)."""
    require_issued(invoice)
    pdf = DocumentPdf(invoice, seal.content_hash if seal is not None else "")
    pdf.add_page()
    _heading(pdf, invoice)
    _lines(pdf, invoice)
    _totals(pdf, invoice)
    _notes_and_payment(pdf, invoice)
    audit_annex.proof_note(pdf, seal)
    if invoice.sessions() and (invoice.layout is Layout.PER_SITE or invoice.annex):
        annex.sessions(pdf, invoice)
    signed_annex.signed_meter_data(pdf, invoice, signed or {})
    audit_annex.proof_annex(pdf, invoice, seal)
    return bytes(pdf.output())


def _heading(pdf: DocumentPdf, invoice: Invoice) -> None:
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 15)
    pdf.cell(105, 7, printable(invoice.seller.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8.5)
    pdf.set_text_color(*GREY)
    seller = _address(invoice.seller) + _ids(invoice.seller, with_contact=True)
    pdf.multi_cell(105, 4, printable("\n".join(seller)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_xy(pdf.w - pdf.r_margin - 70, top)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(70, 9, printable(TITLES[invoice.kind].upper()), align="R")
    after_seller = max(pdf.get_y(), top + 30)
    pdf.set_y(after_seller + 8)
    block = pdf.get_y()
    pdf.set_font(FONT, size=7.5)
    pdf.set_text_color(*GREY)
    label = BUYER_LABELS.get(invoice.kind, "Customer")
    pdf.cell(95, 4, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(95, 5, printable(invoice.buyer.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9.5)
    buyer = _address(invoice.buyer) + _ids(invoice.buyer, with_contact=False)
    pdf.multi_cell(95, 4.8, printable("\n".join(buyer)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    after_buyer = pdf.get_y()
    pdf.set_xy(pdf.w - pdf.r_margin - 76, block)
    with pdf.table(
        width=76,
        align="RIGHT",
        col_widths=(34, 42),
        borders_layout="NONE",
        first_row_as_headings=False,
        line_height=5,
    ) as table:
        for label, value in _details(invoice):
            row = table.row()
            row.cell(printable(label), style=BOLD)
            row.cell(printable(value), align="RIGHT")
    pdf.set_y(max(after_buyer, pdf.get_y()) + 6)
    if invoice.kind is DocumentKind.CREDIT_NOTE and invoice.original_number:
        pdf.line_of_text(f"This credit note corrects document {invoice.original_number}.", 9.5)
        if invoice.reason:
            pdf.line_of_text(f"Reason: {invoice.reason}", 9.5)
        pdf.ln(3)


def _details(invoice: Invoice) -> list[tuple[str, str]]:
    rows = [
        (f"{TITLES[invoice.kind]} no.", invoice.number or ""),
        ("Date", day(invoice.issue_date)),
    ]
    if invoice.kind in (DocumentKind.INVOICE, DocumentKind.SELF_BILLED):
        rows.append(("Due date", day(invoice.due_date)))
    rows.append(("Service period", f"{day(invoice.period_start)} to {day(last_day_of(invoice))}"))
    if invoice.kind is DocumentKind.CREDIT_NOTE and invoice.original_number:
        rows.append(("Corrects", invoice.original_number))
    if invoice.buyer.vat_id:
        rows.append(("Customer VAT ID", invoice.buyer.vat_id))
    if invoice.contract_reference:
        rows.append(("Contract", invoice.contract_reference))
    if invoice.purchase_order:
        rows.append(("Your order", invoice.purchase_order))
    rows.append(("Currency", invoice.currency))
    return rows


def _address(party: Party) -> list[str]:
    place = " ".join(p for p in (party.postal_code, party.city) if p.strip())
    return [p for p in (party.street, place, party.country) if p.strip()]


def _ids(party: Party, *, with_contact: bool) -> list[str]:
    found = [f"VAT ID {party.vat_id}"] if party.vat_id else []
    if with_contact and party.registration:
        found.append(party.registration)
    if with_contact and party.email:
        found.append(party.email)
    return found


def _lines(pdf: DocumentPdf, invoice: Invoice) -> None:
    """The billed lines: sessions (with their component split) or one line per site."""
    cur = invoice.currency
    pdf.set_font(FONT, size=8.5)
    with pdf.table(
        col_widths=(8, 120, 18, 28),
        borders_layout="HORIZONTAL_LINES",
        headings_style=HEADINGS,
        line_height=4.4,
        padding=(1, 1),
        text_align="LEFT",
    ) as table:
        heading = table.row()
        for text, align in (("#", "R"), ("Description", "L"), ("VAT", "R"), (f"Net {cur}", "R")):
            heading.cell(printable(text), align=align)
        for line in invoice.document_lines():
            row = table.row()
            row.cell(str(line.position), align="RIGHT")
            row.cell(printable(f"{line.description}\n{_line_detail(invoice, line)}"))
            row.cell(_rate(line.vat_category, line.vat_percent), align="RIGHT")
            row.cell(plain_amount(line.net, cur), align="RIGHT")
    pdf.ln(4)


def _line_detail(invoice: Invoice, line: InvoiceLine) -> str:
    detail = _line_figures(invoice, line)
    return f"{detail}; cost centre {line.cost_centre}" if line.cost_centre else detail


def _line_figures(invoice: Invoice, line: InvoiceLine) -> str:
    if invoice.kind is DocumentKind.INVOICE and line.contract_term:
        return "contract terms"  # a tier adjustment, fee or commitment shortfall (issue 14)
    if invoice.kind is DocumentKind.SELF_BILLED:  # a site's share: no session, no duration
        return f"{kwh(line.energy_kwh)} kWh charged at the site in the period"
    duration = f"{hours_minutes(line.duration_hours)} h (idle {hours_minutes(line.idle_hours)} h)"
    if invoice.layout is Layout.PER_SITE:
        return f"{kwh(line.energy_kwh)} kWh, {duration}; each session is listed in the annex"
    split = ", ".join(
        f"{name} {plain_amount(amount, invoice.currency)}"
        for name, amount in line.components
        if amount
    )
    return f"{kwh(line.energy_kwh)} kWh, {duration}" + (f"; {split}" if split else "")


def _rate(category: VatCategory, percent: Decimal) -> str:
    return f"{format_percent(percent)}% {category.value}"


def _totals(pdf: DocumentPdf, invoice: Invoice) -> None:
    cur = invoice.currency
    rows = [("Total net", money(invoice.net_total, cur))]
    for s in invoice.vat_subtotals:
        label = VAT_LABELS[s.category]
        rows.append(
            (
                f"{label} {format_percent(s.percent)}% on {plain_amount(s.taxable, cur)}",
                money(s.tax, cur),
            )
        )
    total = "Total credited" if invoice.kind is DocumentKind.CREDIT_NOTE else "Total"
    rows.append((total, money(invoice.gross_total, cur)))
    due = amount_due(invoice)
    if due != invoice.gross_total:
        rows.append(("Paid by card", money(invoice.gross_total - due, cur)))
        rows.append(("Amount due", money(due, cur)))
    pdf.set_font(FONT, size=9)
    with pdf.table(
        width=100,
        align="RIGHT",
        col_widths=(62, 38),
        borders_layout="HORIZONTAL_LINES",
        first_row_as_headings=False,
        line_height=5.2,
    ) as table:
        for label, value in rows:
            emphasis = BOLD if label == total else None
            row = table.row(style=emphasis)
            row.cell(printable(label))
            row.cell(printable(value), align="RIGHT")
    pdf.ln(5)


def _notes_and_payment(pdf: DocumentPdf, invoice: Invoice) -> None:
    for note in document_notes(invoice):
        if not note.startswith("Reason for the credit note"):  # printed under the heading
            pdf.line_of_text(note, 9, "B")
    pdf.ln(2)
    pdf.line_of_text("Payment", 9.5, "B")
    pdf.line_of_text(payment_terms(invoice), 9)
    if invoice.kind is DocumentKind.SELF_BILLED and invoice.seller.iban:
        iban = grouped(normalised_iban(invoice.seller.iban))
        pdf.line_of_text(f"To IBAN {iban} - account holder {invoice.seller.name}", 9)
    reference = invoice.payment_reference
    if reference is not None and invoice.seller.iban:
        iban = normalised_iban(invoice.seller.iban)
        bic = f" - BIC {invoice.seller.bic}" if invoice.seller.bic else ""
        pdf.line_of_text(f"IBAN {grouped(iban)}{bic} - account holder {invoice.seller.name}", 9)
        pdf.line_of_text(f"Payment reference {grouped(reference)}", 9)
        payload = epc_qr_payload(
            beneficiary=invoice.seller.name,
            iban=iban,
            amount=Money(invoice.gross_total, invoice.currency),
            reference=reference,
            bic=invoice.seller.bic,
        )
        if payload is not None:
            _epc_qr(pdf, payload)


QR_MODULE_MM = 0.9  # 33 mm for a typical EPC code (EPC069-12 recommends at least 2 cm)


def _epc_qr(pdf: DocumentPdf, payload: str) -> None:
    """The EPC QR code ("GiroCode": scan with a banking app to pay), error correction level
    M as EPC069-12 §3.3 requires, drawn as vector squares so the PDF stays the same bytes
    whenever it is rendered."""
    caption = "Scan to pay (EPC QR code, SEPA credit transfer)"
    draw_qr(pdf, payload, caption, QR_MODULE_MM, error="m")
