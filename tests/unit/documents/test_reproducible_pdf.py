"""Issue 11 item 14: the same invoice, receipt or credit note gives the same PDF bytes whenever
it is rendered, printable and Factur-X alike (an archived or re-sent document keeps its
checksum): nothing in it comes from the clock."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fpdf.util import builtin_srgb2014_bytes
from pypdf import PdfReader

from chargeledger.adapters.documents import facturx_pdf, invoice_pdf
from chargeledger.domain.invoicing import Invoice
from tests.unit.documents import invoices

DOCUMENTS = invoices.documents()
NAMES = sorted(DOCUMENTS)


def _next_second() -> None:
    """Wait until the wall clock shows another second, so that anything stamped from the
    clock (a date, an ICC profile's creation time) would come out different. Nothing here is
    timed: a slow machine only waits less."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.02)


@pytest.mark.parametrize("render", [invoice_pdf, facturx_pdf], ids=["pdf", "facturx"])
def test_pdf_is_deterministic(render: Callable[[Invoice], bytes]) -> None:
    """Issue 11 item 14: the same document gives the same bytes whenever it is rendered."""
    first = {name: render(DOCUMENTS[name]) for name in NAMES}
    _next_second()
    again = {name: render(DOCUMENTS[name]) for name in NAMES}
    for name in NAMES:
        assert first[name] == again[name], name


def test_pdf_dates_are_the_issue_moment_everywhere() -> None:
    """The printable PDF and the Factur-X PDF carry the moment the document was issued (not the
    time they were rendered) in the document information, the XMP packet and the embedded
    XML's file entry; the output intent is the fixed ICC sRGB2014 profile."""
    invoice = DOCUMENTS["driver"]
    assert invoice.issued_at == datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
    printed = PdfReader(io.BytesIO(invoice_pdf(invoice)))
    assert printed.metadata is not None
    assert printed.metadata["/CreationDate"] == "D:20261102073000Z"
    reader = PdfReader(io.BytesIO(facturx_pdf(invoice)))
    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"] == reader.metadata["/ModDate"]
    assert reader.metadata["/CreationDate"] == "D:20261102073000+00'00'"
    xmp = reader.root_object["/Metadata"].get_object().get_data()
    assert re.findall(rb"<xmp:(\w+Date)>([^<]*)<", xmp) == [
        (b"CreateDate", b"2026-11-02T07:30:00+00:00"),
        (b"ModifyDate", b"2026-11-02T07:30:00+00:00"),
    ]
    attachments = reader.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    entry = attachments[1].get_object()["/EF"]["/F"].get_object()
    assert entry["/Params"]["/ModDate"] == "D:20261102073000+00'00'"
    for document in (printed, reader):
        intent = document.root_object["/OutputIntents"][0].get_object()
        assert intent["/DestOutputProfile"].get_object().get_data() == builtin_srgb2014_bytes()
