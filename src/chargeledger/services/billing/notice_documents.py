"""The files a notice carries (issue 13: invoices and reminders are sent with their PDFs),
rendered when the outbox sends it: documents are reproducible (the same bytes whenever they
are rendered), so the outbox keeps a reference instead of the file."""

from __future__ import annotations

from chargeledger.domain.outbox import Attachment, AttachmentKind
from chargeledger.errors import NotFoundError
from chargeledger.services.billing.invoicing import get_invoice
from chargeledger.services.notifications.ports import MailFile
from chargeledger.services.ports import InvoiceDocuments, UnitOfWork


async def render_attachment(
    uow: UnitOfWork, documents: InvoiceDocuments, attachment: Attachment
) -> MailFile:
    """The PDF ``attachment`` names, as the e-mail carries it."""
    if attachment.kind is AttachmentKind.INVOICE_PDF:
        invoice = await get_invoice(uow, attachment.ref)
        return MailFile(f"{invoice.number or invoice.id}.pdf", documents.pdf(invoice))
    raise NotFoundError(f"no document for {attachment.kind.value}", code="attachment_not_found")
