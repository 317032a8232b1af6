"""Documents for people and machines: the PDF, the EN 16931 e-invoice (CII XML) and the
Factur-X PDF that carries both."""

from chargeledger.adapters.documents.cii import invoice_xml
from chargeledger.adapters.documents.facturx_pdf import facturx_pdf
from chargeledger.adapters.documents.pdf import invoice_pdf
from chargeledger.adapters.documents.validation import check_en16931

__all__ = ["check_en16931", "facturx_pdf", "invoice_pdf", "invoice_xml"]
