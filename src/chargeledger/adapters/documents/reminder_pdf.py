"""A dunning notice as a printable A4 PDF (issue 13: each level is a document).

It names the seller and the buyer, the invoice it reminds of (number, dates, what is still
open), what the notice claims (fee, the B2B compensation of Directive 2011/7/EU art. 6 and
statutory interest with its rate, art. 3/4), the total to pay and how (IBAN, the invoice's
RF reference). Reproducible like the invoices: the creation date is the moment the notice
was made, so the same notice gives the same bytes whenever the outbox sends it.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from chargeledger.adapters.documents.printing import FONT, day, money, printable
from chargeledger.domain.dunning import DunningEvent
from chargeledger.domain.invoicing import Invoice
from chargeledger.money import Money


def _amount(value: Money | None) -> str:
    return "" if value is None else money(value.amount, value.currency.code)


class ReminderPdf:
    """The ``ReminderDocuments`` port with fpdf2; holds nothing."""

    def pdf(self, notice: DunningEvent, invoice: Invoice) -> bytes:
        document = FPDF(orientation="portrait", unit="mm", format="A4")
        document.set_margins(18, 16, 18)
        title = f"{notice.title} - invoice {invoice.number}"
        document.set_title(printable(title))
        document.set_author(printable(invoice.seller.name))
        document.set_creator("chargeledger")
        document.set_creation_date(notice.at)
        document.add_page()

        def line(text: str, size: float = 10, style: str = "") -> None:
            document.set_font(FONT, style, size)
            document.multi_cell(0, 5.2, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

        seller, buyer = invoice.seller, invoice.buyer
        line(f"{seller.name}, {seller.street}, {seller.postal_code} {seller.city}", 8)
        document.ln(4)
        for text in (buyer.name, buyer.street, f"{buyer.postal_code} {buyer.city}", buyer.country):
            if text.strip():
                line(text)
        document.ln(6)
        line(title, 15, "B")
        final = " (final notice)" if notice.final else ""
        line(f"Date: {day(notice.on)}   Level {notice.level}{final}")
        document.ln(4)
        line(
            f"Invoice {invoice.number} of {day(invoice.issue_date)} was due on "
            f"{day(invoice.due_date)} and is still open."
        )
        document.ln(2)
        rows = [("Open on the invoice", notice.outstanding), ("Reminder fee", notice.fee)]
        if notice.compensation:
            rows.append(
                (
                    "Compensation for recovery costs (Directive 2011/7/EU art. 6)",
                    notice.compensation,
                )
            )
        if notice.interest:
            rows.append(
                (
                    f"Interest at {notice.interest_percent} % a year since the due date",
                    notice.interest,
                )
            )
        claimed = notice.claimed
        total = (
            notice.outstanding
            if claimed is None or notice.outstanding is None
            else notice.outstanding + claimed
        )
        rows.append(("Total to pay", total))
        for label, value in rows:
            document.set_font(FONT, "B" if label == "Total to pay" else "", 10)
            document.cell(130, 6, printable(label))
            document.cell(0, 6, _amount(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        document.ln(4)
        if seller.iban:
            line(
                f"Please transfer to IBAN {seller.iban}"
                + (f", BIC {seller.bic}" if seller.bic else "")
            )
        if invoice.payment_reference:
            line(f"Reference: {invoice.payment_reference}")
        if notice.blocks_tokens:
            line("Your charging cards are blocked until the invoice is paid.", style="B")
        if notice.final:
            line("This is our final notice before we pass the claim on for collection.")
        return bytes(document.output())
