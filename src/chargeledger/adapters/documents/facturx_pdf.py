"""The Factur-X PDF: the printable PDF with its EN 16931 CII XML embedded (PDF/A-3).

Factur-X 1.0 / ZUGFeRD 2.x: the XML is attached as ``factur-x.xml`` with the relationship
``Data`` and the XMP metadata declare the profile ("EN 16931"), so one file serves the reader
and the buyer's accounting software. The XML is checked first (:func:`check_en16931`), so an
invalid e-invoice is refused with our error instead of being embedded.

The same document gives the same bytes whenever it is rendered (see :mod:`.pdf`). The factur-x
library stamps the time of the call into the document information (``/CreationDate``,
``/ModDate``), the XMP packet (``xmp:CreateDate``, ``xmp:ModifyDate``) and the attachment's
``/ModDate``; :func:`_dated` sets all of them to the moment the document was issued, the date
the printable PDF already carries, so the three places agree as PDF/A asks (ISO 19005-3 §6.6.3).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import facturx  # type: ignore[import-untyped]
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject, TextStringObject

from chargeledger.adapters.documents.cii import TYPE_CODES, invoice_xml
from chargeledger.adapters.documents.pdf import TITLES, document_moment, invoice_pdf
from chargeledger.adapters.documents.validation import check_en16931
from chargeledger.domain.audit import RecordSeal
from chargeledger.domain.evidence import SignedBySession
from chargeledger.domain.invoicing import Invoice

_XMP_DATES = re.compile(rb"(<xmp:(CreateDate|ModifyDate|MetadataDate)>)[^<]*(</xmp:\2>)")


def facturx_pdf(
    invoice: Invoice, signed: SignedBySession | None = None, seal: RecordSeal | None = None
) -> bytes:
    """The PDF of ``invoice`` with its CII XML embedded, ready to send (with the annex of
    the signed meter data in ``signed`` and what ``seal`` says of it in the audit chain: see
    :func:`invoice_pdf`). The XML is the same with or without them."""
    xml = invoice_xml(invoice)
    check_en16931(xml)
    title = f"{TITLES[invoice.kind]} {invoice.number}"
    document: bytes = facturx.generate_from_binary(
        invoice_pdf(invoice, signed, seal),
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
    return _dated(document, document_moment(invoice))


def _dated(document: bytes, moment: datetime) -> bytes:
    """``document`` with every date the factur-x library took from the clock set to
    ``moment``; the file id (derived by fpdf2 from the printable PDF) is kept."""
    utc = moment.astimezone(UTC)
    pdf_date = TextStringObject(utc.strftime("D:%Y%m%d%H%M%S+00'00'"))
    reader = PdfReader(io.BytesIO(document))
    writer = PdfWriter(clone_from=reader)
    writer.pdf_header = reader.pdf_header
    writer.add_metadata({"/CreationDate": pdf_date, "/ModDate": pdf_date})
    metadata = writer.root_object["/Metadata"].get_object()
    if isinstance(metadata, StreamObject):
        stamp = utc.strftime("%Y-%m-%dT%H:%M:%S+00:00").encode()
        metadata.set_data(_XMP_DATES.sub(rb"\g<1>" + stamp + rb"\g<3>", metadata.get_data()))
    for params in _attachment_params(writer):
        params[NameObject("/ModDate")] = pdf_date
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _attachment_params(writer: PdfWriter) -> list[DictionaryObject]:
    """The ``/Params`` of every embedded file (ISO 32000-1 §7.11.4: the name tree
    /Names/EmbeddedFiles lists name, file specification, name, ...)."""
    found = []
    tree = _dictionary(_dictionary(writer.root_object, "/Names"), "/EmbeddedFiles")
    names = tree.get("/Names")
    for filespec in list(names.get_object() if names is not None else [])[1::2]:
        entry = _dictionary(_dictionary(filespec.get_object(), "/EF"), "/F")
        params = entry.get("/Params")
        if params is not None and isinstance(params.get_object(), DictionaryObject):
            found.append(params.get_object())
    return found


def _dictionary(parent: object, key: str) -> DictionaryObject:
    value = parent.get(key) if isinstance(parent, DictionaryObject) else None
    resolved = value.get_object() if value is not None else None
    return resolved if isinstance(resolved, DictionaryObject) else DictionaryObject()
