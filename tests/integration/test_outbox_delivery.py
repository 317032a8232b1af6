"""The outbox (issue 13) on SQLite and PostgreSQL, against real receivers: an aiosmtpd server
that refuses the first mails (retried with backoff, then delivered exactly once, never twice)
or every mail (dead letter, listed and retried by finance), and a webhook receiver whose
requests carry a verifiable signature. The clock is fixed and moved by hand: no waits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import httpx

from chargeledger.adapters.notify.smtp import SmtpMailer, SmtpSettings
from chargeledger.adapters.notify.webhooks import HttpWebhookSender
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.outbox import (
    Attachment,
    Channel,
    MessageState,
    Notice,
    OutboxMessage,
    RetryPolicy,
)
from chargeledger.domain.webhook_signatures import SIGNATURE_HEADER, verify_signature
from chargeledger.services.billing.document_notices import issued_notice
from chargeledger.services.billing.invoice_documents import document_seal
from chargeledger.services.billing.notice_documents import render_attachment
from chargeledger.services.notifications.delivery import Deliveries, deliver_outbox
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.notifications.ports import MailFile, WebhookEndpoint
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.billing_world import (
    ChargeSpec,
    FixedClock,
    book_charges,
    create_customer,
    new_world,
    run_month,
    utc,
)
from tests.integration.outbox_support import (
    FlakySmtpHandler,
    WebhookReceiver,
    smtp_server,
    webhook_server,
)

POLICY = RetryPolicy(max_attempts=4, first_delay=timedelta(minutes=1))
SECRET = "endpoint-secret-0123456789"


async def issued_invoice(runtime: Runtime) -> tuple[FixedClock, Invoice]:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    account = await create_customer(runtime, world.clock, "Mail Receiver")
    spec = ChargeSpec(world.de, account, utc("2026-01-15T10:00"), {"Energy": "10.00"})
    await book_charges(runtime, world.clock, {"c": spec})
    [invoice] = (await run_month(world, "2026-01")).issued
    return world.clock, invoice


def invoice_notice(invoice: Invoice) -> Notice:
    """What the invoice run announced when it issued ``invoice`` (in its transaction)."""
    return issued_notice(invoice)


def deliveries(runtime: Runtime, clock: FixedClock, **channels: object) -> Deliveries:
    async def attachment(uow: UnitOfWork, item: Attachment) -> MailFile:
        return await render_attachment(uow, runtime.documents, runtime.reminders, item)

    return Deliveries(
        uows=runtime.uow, clock=clock, attachments=attachment, policy=POLICY, **channels
    )  # type: ignore[arg-type]


def mailer(port: int) -> SmtpMailer:
    return SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, starttls=False))


async def outbox_of(runtime: Runtime, state: MessageState | None = None) -> list[OutboxMessage]:
    async with runtime.uow() as uow:
        return list((await uow.outbox.list(state, limit=100, offset=0)).items)


async def test_a_mail_refused_twice_is_delivered_once_with_its_pdf(runtime: Runtime) -> None:
    clock, invoice = await issued_invoice(runtime)  # the run announced the invoice
    async with runtime.uow() as uow:  # the same event again: nothing new
        assert not await announce(uow, clock, invoice_notice(invoice))
        await uow.commit()
    handler = FlakySmtpHandler(failures=2)
    async with smtp_server(handler) as port:
        worker = deliveries(runtime, clock, mail=mailer(port))
        first = await deliver_outbox(worker)
        assert (first.fanned_out, first.delivered, first.retrying) == (1, 0, 1)
        assert (await deliver_outbox(worker)).retrying == 0  # not due yet: no attempt
        assert handler.refused == 1
        clock.current += timedelta(minutes=1)  # first backoff
        assert (await deliver_outbox(worker)).retrying == 1
        clock.current += timedelta(minutes=1)  # the second is twice as long: not yet
        await deliver_outbox(worker)
        assert (handler.refused, handler.accepted) == (2, [])
        clock.current += timedelta(minutes=1)
        assert (await deliver_outbox(worker)).delivered == 1
        clock.current += timedelta(days=30)
        later = await deliver_outbox(worker)
        assert (later.delivered, later.retrying, later.fanned_out) == (0, 0, 0)
    [mail] = handler.accepted
    [message] = await outbox_of(runtime)
    assert (message.state, message.attempts, message.channel) == (
        MessageState.DELIVERED,
        3,
        Channel.EMAIL,
    )
    assert mail["To"] == invoice.buyer.email
    assert mail["Message-ID"] == f"<{message.id}@chargeledger>"
    [pdf] = [part for part in mail.iter_attachments()]
    assert pdf.get_filename() == f"{invoice.number}.pdf"
    sealed = await reading(runtime.uow, document_seal, invoice)  # its audit record hash
    assert sealed is not None
    assert pdf.get_content() == runtime.documents.pdf(invoice, seal=sealed)


async def test_an_announcement_rolled_back_is_never_sent(runtime: Runtime) -> None:
    clock, invoice = await issued_invoice(runtime)
    rolled_back = replace(invoice_notice(invoice), key="rolled-back", subject="Never")
    async with runtime.uow() as uow:
        assert await announce(uow, clock, rolled_back)
        await uow.rollback()
    handler = FlakySmtpHandler()
    async with smtp_server(handler) as port:
        report = await deliver_outbox(deliveries(runtime, clock, mail=mailer(port)))
    assert (report.fanned_out, report.delivered) == (1, 1)  # the invoice's own announcement
    assert [mail["Subject"] for mail in handler.accepted] == [f"Invoice {invoice.number}"]


async def test_a_mail_always_refused_is_dead_then_retried_by_finance(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    clock, _ = await issued_invoice(runtime)
    finance = await login_as(Role.FINANCE)
    runtime.clock = clock  # the API's retry makes the message due on the test's clock
    handler = FlakySmtpHandler(failures=None)
    async with smtp_server(handler) as port:
        worker = deliveries(runtime, clock, mail=mailer(port))
        for _ in range(POLICY.max_attempts):
            await deliver_outbox(worker)
            clock.current += timedelta(hours=1)
        assert handler.refused == POLICY.max_attempts
        await deliver_outbox(worker)
        assert handler.refused == POLICY.max_attempts  # dead: never tried again by itself
        listed = await client.get("/api/v1/outbox?state=dead", headers=finance)
        assert listed.status_code == 200, listed.text
        [dead] = listed.json()["items"]
        assert (dead["attempts"], dead["channel"]) == (POLICY.max_attempts, "email")
        assert "451" in dead["last_error"]
        handler.failures = 0  # the relay works again
        retried = await client.post(f"/api/v1/outbox/{dead['id']}/retry", headers=finance)
        assert retried.status_code == 200, retried.text
        assert (retried.json()["state"], retried.json()["attempts"]) == ("pending", 0)
        again = await client.post(f"/api/v1/outbox/{dead['id']}/retry", headers=finance)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "outbox_message_not_dead"
        assert (await deliver_outbox(worker)).delivered == 1
        await deliver_outbox(worker)
    assert len(handler.accepted) == 1
    assert await outbox_of(runtime, MessageState.DEAD) == []


async def test_webhooks_are_signed_retried_and_sent_once_per_endpoint(runtime: Runtime) -> None:
    clock, invoice = await issued_invoice(runtime)
    receiver = WebhookReceiver(failures=1)
    async with webhook_server(receiver) as url:
        endpoints = (
            WebhookEndpoint("erp", url, SECRET),
            WebhookEndpoint("other", url, SECRET + "x", frozenset({"payment.received"})),
        )
        worker = deliveries(runtime, clock, webhooks=endpoints, webhook_sender=HttpWebhookSender())
        assert (await deliver_outbox(worker)).fanned_out == 1  # "other" does not want it
        clock.current += timedelta(minutes=1)
        assert (await deliver_outbox(worker)).delivered == 1
        await deliver_outbox(worker)
    assert [status for _, _, status in receiver.received] == [500, 200]
    headers, body, _ = receiver.received[-1]
    verify_signature(SECRET, headers[SIGNATURE_HEADER.lower()], body, clock.now())
    event = json.loads(body)
    assert event["type"] == "invoice.issued"
    assert event["data"]["document_id"] == str(invoice.id)
    assert (event["data"]["number"], event["data"]["gross_total"]) == (invoice.number, "11.90")
    assert headers["chargeledger-event-id"] == event["id"]
    assert receiver.received[0][0]["chargeledger-event-id"] == event["id"]
