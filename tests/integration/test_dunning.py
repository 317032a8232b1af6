"""Dunning runs (issue 13) on SQLite and PostgreSQL with a fixed clock: levels over time for a
consumer and a business (fees, the EUR 40 compensation and statutory interest, booked apart
from the invoice), each level once however often the run goes, a disputed invoice skipped,
and every notice announced in the outbox and sent by e-mail with the reminder and the
invoice attached."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from chargeledger.adapters.notify.smtp import SmtpMailer, SmtpSettings
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.dunning import late_payment_receivable
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ledger import customer_credit
from chargeledger.domain.outbox import Attachment, Channel
from chargeledger.errors import ConflictError
from chargeledger.money import Money
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing.dunning import (
    DunningReport,
    DunningTerms,
    run_dunning,
    waive_claim,
)
from chargeledger.services.billing.notice_documents import render_attachment
from chargeledger.services.notifications.delivery import Deliveries, deliver_outbox
from chargeledger.services.notifications.ports import MailFile
from chargeledger.services.ports import UnitOfWork
from tests.conftest import LoginAs
from tests.integration.bank_world import bank_entry, day_statement
from tests.integration.billing_world import (
    OPERATOR_TZ,
    ChargeSpec,
    World,
    balance_of,
    book_charges,
    create_customer,
    new_world,
    run_month,
    utc,
)
from tests.integration.outbox_support import FlakySmtpHandler, smtp_server

TERMS = DunningTerms(time_zone=OPERATOR_TZ)
D0 = Decimal("0.00")


async def overdue_world(runtime: Runtime) -> tuple[World, Invoice, Invoice]:
    """January invoiced on 2 February (11.90 EUR each, due 16 February): a consumer's and a
    business's."""
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    anna = await create_customer(runtime, world.clock, "Anna Consumer")
    fleet = await create_customer(runtime, world.clock, "Fleet GmbH", kind=AccountKind.BUSINESS)
    specs = {
        name: ChargeSpec(world.de, account, utc("2026-01-15T10:00"), {"Energy": "10.00"})
        for name, account in (("anna", anna), ("fleet", fleet))
    }
    await book_charges(runtime, world.clock, specs)
    issued = {i.account_id: i for i in (await run_month(world, "2026-01")).issued}
    return world, issued[anna.id], issued[fleet.id]


async def run_on(world: World, day: str) -> DunningReport:
    world.clock.current = utc(f"{day}T09:00")
    async with world.runtime.uow() as uow:
        report = await run_dunning(uow, world.clock, TERMS)
        await uow.commit()
    return report


def levels(report: DunningReport) -> dict[str, int | None]:
    return {str(n.invoice_id): n.level for n in report.notices}


async def test_levels_fees_and_interest_over_time(runtime: Runtime) -> None:
    world, anna, fleet = await overdue_world(runtime)
    assert anna.due_date is not None
    assert str(anna.due_date) == "2026-02-16"
    assert (await run_on(world, "2026-02-22")).notices == []  # 6 days late
    first = await run_on(world, "2026-02-23")
    assert levels(first) == {str(anna.id): 1, str(fleet.id): 1}
    assert (await run_on(world, "2026-02-23")).notices == []  # each level once
    by_invoice = {n.invoice_id: n for n in first.notices}
    fleet_first = by_invoice[fleet.id]
    # 11.90 × 10.15 % × 7 / 365 = 0.0232 → 0.02; the EUR 40 once
    assert (fleet_first.compensation, fleet_first.interest) == (
        Money.of("40.00", "EUR"),
        Money.of("0.02", "EUR"),
    )
    assert by_invoice[anna.id].claimed is not None
    assert by_invoice[anna.id].claimed.is_zero  # a first reminder costs a consumer nothing
    second = await run_on(world, "2026-03-09")  # 21 days late
    assert levels(second) == {str(anna.id): 2, str(fleet.id): 2}
    anna_second = next(n for n in second.notices if n.invoice_id == anna.id)
    fleet_second = next(n for n in second.notices if n.invoice_id == fleet.id)
    assert anna_second.fee is not None
    assert anna_second.fee.amount == Decimal("5.00")
    assert fleet_second.compensation is not None
    assert fleet_second.compensation.is_zero
    assert fleet_second.interest is not None
    assert fleet_second.interest.amount == Decimal("0.05")  # 14 days more: 0.0463
    assert await balance_of(runtime, late_payment_receivable(fleet.account_id)) == Decimal("40.07")
    assert await balance_of(runtime, late_payment_receivable(anna.account_id)) == Decimal("5.00")
    assert await balance_of(runtime, "Income:LatePayment:Compensation") == Decimal("-40.00")
    async with runtime.uow() as uow:  # the books still balance
        assert await uow.ledger.unbalanced() == []


async def test_a_disputed_invoice_is_skipped_until_the_dispute_ends(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    world, anna, fleet = await overdue_world(runtime)
    finance = await login_as(Role.FINANCE)
    runtime.clock = world.clock  # disputes happen on the test's days too
    await run_on(world, "2026-02-23")
    world.clock.current += timedelta(hours=1)
    opened = await client.post(
        f"/api/v1/invoices/{anna.id}/dispute", json={"note": "wrong site"}, headers=finance
    )
    assert opened.status_code == 200, opened.text
    assert [e["kind"] for e in opened.json()] == ["notice", "disputed"]
    again = await client.post(f"/api/v1/invoices/{anna.id}/dispute", json={}, headers=finance)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invoice_already_disputed"
    skipped = await run_on(world, "2026-03-09")
    assert (levels(skipped), skipped.disputed) == ({str(fleet.id): 2}, 1)
    closed = await client.post(f"/api/v1/invoices/{anna.id}/undispute", json={}, headers=finance)
    assert closed.status_code == 200, closed.text
    assert levels(await run_on(world, "2026-03-10")) == {str(anna.id): 2}
    history = await client.get(f"/api/v1/invoices/{anna.id}/dunning", headers=finance)
    assert [(e["kind"], e["level"]) for e in history.json()] == [
        ("notice", 1),
        ("disputed", None),
        ("undisputed", None),
        ("notice", 2),
    ]
    assert history.json()[1]["note"] == "wrong site"


async def test_the_rest_run_refuses_a_day_after_today(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance = await login_as(Role.FINANCE)
    ran = await client.post("/api/v1/dunning/runs", json={}, headers=finance)
    assert ran.status_code == 200, ran.text
    assert ran.json()["notices"] == []
    future = await client.post("/api/v1/dunning/runs", json={"date": "2999-01-01"}, headers=finance)
    assert future.status_code == 422
    assert future.json()["error"]["code"] == "dunning_date_in_future"


async def test_each_notice_is_mailed_once_with_the_reminder_and_the_invoice(
    runtime: Runtime,
) -> None:
    world, anna, _ = await overdue_world(runtime)
    await run_on(world, "2026-02-23")
    handler = FlakySmtpHandler()

    async def attachment(uow: UnitOfWork, item: Attachment) -> MailFile:
        return await render_attachment(uow, runtime.documents, runtime.reminders, item)

    async with smtp_server(handler) as port:
        worker = Deliveries(
            uows=runtime.uow,
            clock=world.clock,
            attachments=attachment,
            mail=SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, starttls=False)),
        )
        report = await deliver_outbox(worker)
        assert (report.fanned_out, report.delivered) == (4, 4)  # two invoices, two notices
        await run_on(world, "2026-02-24")  # nothing new
        assert (await deliver_outbox(worker)).delivered == 0
    mail = next(
        m
        for m in handler.accepted
        if m["To"] == anna.buyer.email and m["Subject"].startswith("Payment reminder")
    )
    assert mail["Subject"] == f"Payment reminder: invoice {anna.number}"
    names = [part.get_filename() for part in mail.iter_attachments()]
    assert names == [f"{anna.number}-reminder-1.pdf", f"{anna.number}.pdf"]
    reminder = next(iter(mail.iter_attachments())).get_content()
    assert reminder.startswith(b"%PDF")
    async with runtime.uow() as uow:
        page = await uow.outbox.list(None, limit=10, offset=0)
    notices = [m for m in page.items if m.notice.topic == "dunning.notice"]
    assert {m.channel for m in notices} == {Channel.EMAIL}
    assert len(notices) == 2
    reminders = [m for m in handler.accepted if m["Subject"].startswith("Payment reminder")]
    assert len(reminders) == 2


async def test_finance_waives_a_notices_claim_once_and_the_books_follow(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """A business's first reminder claimed EUR 40 and interest: finance waives it (with a
    reason), the late-payment receivable and income go back, the history shows who and why,
    and dunning goes on (a waiver is no dispute). Twice, or a notice that claimed nothing,
    is refused."""
    world, anna, fleet = await overdue_world(runtime)
    finance = await login_as(Role.FINANCE)
    runtime.clock = world.clock
    await run_on(world, "2026-02-23")
    receivable = late_payment_receivable(fleet.account_id)
    assert await balance_of(runtime, receivable) == Decimal("40.02")
    url = f"/api/v1/invoices/{fleet.id}/dunning/1/waive"
    unexplained = await client.post(url, json={"note": " "}, headers=finance)
    assert unexplained.status_code == 422
    assert unexplained.json()["error"]["code"] == "invalid_request"  # a reason is required
    waived = await client.post(url, json={"note": "goodwill: new contract"}, headers=finance)
    assert waived.status_code == 200, waived.text
    last = waived.json()[-1]
    assert (last["kind"], last["level"], last["compensation"], last["interest"]) == (
        "waived",
        1,
        "40.00",
        "0.02",
    )
    assert last["note"] == "goodwill: new contract"
    assert last["by"]
    assert await balance_of(runtime, receivable) == Decimal("0.00")
    assert await balance_of(runtime, "Income:LatePayment:Compensation") == Decimal("0.00")
    again = await client.post(url, json={"note": "twice"}, headers=finance)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "claim_already_waived")
    nothing = await client.post(
        f"/api/v1/invoices/{anna.id}/dunning/1/waive", json={"note": "x"}, headers=finance
    )
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (409, "nothing_claimed")
    unsent = await client.post(
        f"/api/v1/invoices/{fleet.id}/dunning/2/waive", json={"note": "x"}, headers=finance
    )
    assert (unsent.status_code, unsent.json()["error"]["code"]) == (
        404,
        "dunning_notice_not_found",
    )
    assert levels(await run_on(world, "2026-03-09")) == {str(anna.id): 2, str(fleet.id): 2}
    async with runtime.uow() as uow:
        assert await uow.ledger.unbalanced() == []


async def test_a_transfer_beyond_the_invoice_pays_the_claims_and_cannot_be_waived(
    runtime: Runtime,
) -> None:
    """The business pays its invoice and what the reminder claimed in one transfer: the
    invoice is paid, the rest (credit) settles the late-payment claim, nothing is left on
    either account, and the paid claim can no longer be waived (it would be refunded)."""
    world, _, fleet = await overdue_world(runtime)
    await run_on(world, "2026-02-23")
    receivable = late_payment_receivable(fleet.account_id)
    assert await balance_of(runtime, receivable) == Decimal("40.02")
    assert fleet.payment_reference is not None
    paid = bank_entry(
        "PAY-1",
        str(fleet.gross_total + Decimal("40.02")),
        date(2026, 2, 24),
        creditor_reference=fleet.payment_reference,
    )
    report = await bank.import_statements(
        runtime.uow,
        runtime.locks,
        world.clock,
        OPERATOR_TZ,
        [day_statement("S-2026-02-24", date(2026, 2, 24), paid)],
        filename="statement.xml",
        imported_by="finance@example.org",
    )
    assert report.matched == 1
    assert await balance_of(runtime, receivable) == Decimal("0.00")
    assert await balance_of(runtime, customer_credit(fleet.account_id)) == Decimal("0.00")
    with pytest.raises(ConflictError) as refused:
        async with runtime.uow() as uow:
            await waive_claim(uow, world.clock, OPERATOR_TZ, fleet.id, 1, "finance", "late")
    assert refused.value.code == "claim_paid"
    async with runtime.uow() as uow:
        assert await uow.ledger.unbalanced() == []


async def test_two_waivers_of_one_claim_at_once_waive_it_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """Two finance clerks waive the same reminder's claim at the same moment: one wins, the
    other is told it is waived already, and the claim is turned round once (not twice)."""
    world, _, fleet = await overdue_world(runtime)
    finance = await login_as(Role.FINANCE)
    runtime.clock = world.clock
    await run_on(world, "2026-02-23")
    url = f"/api/v1/invoices/{fleet.id}/dunning/1/waive"
    answers = await asyncio.gather(
        *(client.post(url, json={"note": f"clerk {n}"}, headers=finance) for n in (1, 2))
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] in ("claim_already_waived", "claim_paid")
    assert await balance_of(runtime, late_payment_receivable(fleet.account_id)) == D0
    assert await balance_of(runtime, "Income:LatePayment:Compensation") == D0
