"""A dunning notice as the outbox carries it: the e-mail to the buyer (the reminder and the
invoice attached as PDFs) and the data of the ``dunning.notice`` webhook."""

from __future__ import annotations

from typing import Any

from chargeledger.domain.dunning import DunningEvent
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.outbox import Attachment, AttachmentKind, Notice
from chargeledger.domain.text import money_text
from chargeledger.money import Money

TOPIC = "dunning.notice"


def _text(money: Money | None) -> str:
    return "" if money is None else money_text(money.amount, money.currency.code)


def notice_data(notice: DunningEvent, invoice: Invoice) -> dict[str, Any]:
    def amount(money: Money | None) -> str | None:
        return None if money is None else str(money.amount)

    claimed = notice.claimed
    return {
        "notice_id": str(notice.id),
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "account_id": None if invoice.account_id is None else str(invoice.account_id),
        "level": notice.level,
        "title": notice.title,
        "final": notice.final,
        "tokens_blocked": notice.blocks_tokens,
        "date": notice.on.isoformat(),
        "currency": invoice.currency.code,
        "outstanding": amount(notice.outstanding),
        "fee": amount(notice.fee),
        "compensation": amount(notice.compensation),
        "interest": amount(notice.interest),
        "total_due": amount(
            None if claimed is None or notice.outstanding is None else notice.outstanding + claimed
        ),
    }


def notice_message(notice: DunningEvent, invoice: Invoice) -> Notice:
    lines = [
        f"Dear {invoice.buyer.name},",
        "",
        f"our invoice {invoice.number} of {invoice.issue_date}, due on {invoice.due_date}, "
        f"is still open: {_text(notice.outstanding)}.",
    ]
    for label, money in (
        ("Reminder fee", notice.fee),
        ("Compensation for recovery costs (Directive 2011/7/EU art. 6)", notice.compensation),
        (f"Interest at {notice.interest_percent} % a year", notice.interest),
    ):
        if money:
            lines.append(f"{label}: {_text(money)}")
    if invoice.payment_reference:
        lines.append(f"Please pay with the reference {invoice.payment_reference}.")
    if notice.blocks_tokens:
        lines.append("Your charging cards are blocked until the invoice is paid.")
    lines += ["", "The reminder and the invoice are attached.", "", invoice.seller.name]
    return Notice(
        topic=TOPIC,
        key=f"{TOPIC}:{notice.id}",
        subject=f"{notice.title}: invoice {invoice.number}",
        text="\n".join(lines),
        data=notice_data(notice, invoice),
        recipient=invoice.buyer.email,
        attachments=(
            Attachment(AttachmentKind.REMINDER_PDF, notice.id),
            Attachment(AttachmentKind.INVOICE_PDF, invoice.id),
        ),
    )
