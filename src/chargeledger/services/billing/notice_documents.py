"""The files a notice carries (issue 13: invoices and reminders are sent with their PDFs),
rendered when the outbox sends it: documents are reproducible (the same bytes whenever they
are rendered, but for the checkpoint proof a document carries once its day is closed), so the
outbox keeps a reference instead of the file."""

from __future__ import annotations

from chargeledger.domain.outbox import Attachment, AttachmentKind
from chargeledger.errors import NotFoundError
from chargeledger.services.billing.dunning_ports import ReminderDocuments
from chargeledger.services.billing.invoice_documents import document_pdf
from chargeledger.services.billing.invoicing import get_invoice
from chargeledger.services.notifications.ports import MailFile
from chargeledger.services.ports import InvoiceDocuments, UnitOfWork


async def render_attachment(
    uow: UnitOfWork,
    documents: InvoiceDocuments,
    reminders: ReminderDocuments,
    attachment: Attachment,
) -> MailFile:
    """The PDF ``attachment`` names, as the e-mail carries it."""
    if attachment.kind is AttachmentKind.INVOICE_PDF:
        invoice = await get_invoice(uow, attachment.ref)
        content = await document_pdf(uow, documents, invoice)
        return MailFile(f"{invoice.number or invoice.id}.pdf", content)
    if attachment.kind is AttachmentKind.REMINDER_PDF:
        notice = await uow.dunning.get(attachment.ref)
        if notice is not None:
            invoice = await get_invoice(uow, notice.invoice_id)
            name = f"{invoice.number}-reminder-{notice.level}.pdf"
            return MailFile(name, reminders.pdf(notice, invoice))
    raise NotFoundError(f"no document for {attachment.kind.value}", code="attachment_not_found")
