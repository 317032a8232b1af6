"""The Factur-X PDF: the printable PDF with its EN 16931 CII XML embedded (PDF/A-3).

Factur-X 1.0 / ZUGFeRD 2.x: the XML is attached as ``factur-x.xml`` with the relationship
``Data`` and the XMP metadata declare the profile ("EN 16931"), so one file serves the reader
and the buyer's accounting software. The XML is checked first (:func:`check_en16931`), so an
invalid e-invoice is refused with our error instead of being embedded.
"""

from __future__ import annotations

import facturx  # type: ignore[import-untyped]

from chargeledger.adapters.documents.cii import TYPE_CODES, invoice_xml
from chargeledger.adapters.documents.pdf import TITLES, invoice_pdf
from chargeledger.adapters.documents.validation import check_en16931
from chargeledger.domain.invoicing import Invoice


def facturx_pdf(invoice: Invoice) -> bytes:
    """The PDF of ``invoice`` with its CII XML embedded, ready to send."""
    xml = invoice_xml(invoice)
    check_en16931(xml)
    title = f"{TITLES[invoice.kind]} {invoice.number}"
    document: bytes = facturx.generate_from_binary(
        invoice_pdf(invoice),
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,  # just checked, with the business rules too
        pdf_metadata={
            "author": invoice.seller.name,
            "keywords": f"{TITLES[invoice.kind]}, Factur-X, type {TYPE_CODES[invoice.kind]}",
            "title": f"{invoice.seller.name}: {title}",
            "subject": f"{title} dated {invoice.issue_date} issued by {invoice.seller.name}",
        },
        lang="en",
    )
    return document
