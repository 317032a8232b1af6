"""The :class:`~chargeledger.services.ports.InvoiceDocuments` port over this package: the
Factur-X PDF, the CII e-invoice and its EN 16931 check, as the composition root wires them."""

from __future__ import annotations

from chargeledger.adapters.documents.cii import invoice_xml
from chargeledger.adapters.documents.facturx_pdf import facturx_pdf
from chargeledger.adapters.documents.validation import check_en16931
from chargeledger.domain.audit import RecordSeal
from chargeledger.domain.evidence import SignedBySession
from chargeledger.domain.invoicing import Invoice


class FacturXDocuments:
    """Renders with fpdf2 and lxml; holds nothing, so one instance serves every request."""

    def pdf(
        self,
        invoice: Invoice,
        signed: SignedBySession | None = None,
        seal: RecordSeal | None = None,
    ) -> bytes:
        return facturx_pdf(invoice, signed, seal)

    def xml(self, invoice: Invoice) -> bytes:
        return invoice_xml(invoice)

    def check(self, xml: bytes) -> None:
        check_en16931(xml)
