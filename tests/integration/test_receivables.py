"""Open items (issue 13): each invoice's status and outstanding amount are derived from its
credit notes and settlements, and the invoice list filters by that status in SQL exactly as
``domain.receivables.payment_status`` decides it, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.receivables import PaymentStatus, Settlement, SettlementKind
from chargeledger.money import Money
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from tests.integration.billing_world import (
    ChargeSpec,
    World,
    book_charges,
    create_customer,
    credit,
    new_world,
    run_month,
    utc,
)

NAMES = ("open", "partial", "paid", "credited", "part_credited", "written_off", "returned")


def settled(invoice: Invoice, kind: SettlementKind, amount: str, at: datetime) -> Settlement:
    return Settlement(
        invoice_id=invoice.id,
        account_id=invoice.account_id,
        kind=kind,
        amount=Money.of(amount, "EUR"),
        source=f"manual:{uuid.uuid4()}",
        booked_at=at,
        booked_on=at.date(),
        booked_by="finance@example.org",
    )


async def invoiced_world(runtime: Runtime) -> tuple[World, dict[str, Invoice]]:
    """One January invoice (11.90 EUR gross) per name, an ad hoc receipt, and the money of
    each name's story set against its invoice."""
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    specs = {}
    for name in NAMES:
        account = await create_customer(runtime, world.clock, name.title())
        specs[name] = ChargeSpec(world.de, account, utc("2026-01-15T10:00"), {"Energy": "10.00"})
    specs["walk_in"] = ChargeSpec(world.de, None, utc("2026-01-16T10:00"), {"Energy": "5.00"})
    await book_charges(runtime, world.clock, specs)
    run = await run_month(world, "2026-01")
    invoices = {i.buyer.name.lower(): i for i in run.issued}
    assert {i.gross_total for i in invoices.values()} == {Decimal("11.90")}
    at = world.clock.now()
    money = [
        settled(invoices["partial"], SettlementKind.BANK_TRANSFER, "5.00", at),
        settled(invoices["paid"], SettlementKind.BANK_TRANSFER, "11.90", at),
        settled(invoices["written_off"], SettlementKind.BANK_TRANSFER, "5.00", at),
        settled(invoices["written_off"], SettlementKind.WRITE_OFF, "6.90", at),
        settled(invoices["returned"], SettlementKind.BANK_TRANSFER, "11.90", at),
        settled(invoices["returned"], SettlementKind.RETURN, "-11.90", at),
    ]
    async with runtime.uow() as uow:
        for settlement in money:
            assert await uow.billing.add_settlement(settlement)
        await uow.commit()
    await credit(world, invoices["credited"])
    await credit(world, invoices["part_credited"], net_amount="1.00")
    invoices["receipt"] = run.receipts[0]
    return world, invoices


async def statuses_on(runtime: Runtime, on: date) -> dict[uuid.UUID, tuple[str, Decimal]]:
    async with runtime.uow() as uow:
        page = await invoice_documents.list_documents(uow, InvoiceFilter(), 1000, 0, on)
    return {v.invoice.id: (v.status.value, v.outstanding) for v in page.items}


async def ids_filtered(runtime: Runtime, status: PaymentStatus, on: date) -> set[uuid.UUID]:
    criteria = InvoiceFilter(payment_status=status, on=on)
    async with runtime.uow() as uow:
        page = await uow.billing.list_invoices(criteria, limit=1000, offset=0)
    return {i.id for i in page.items}


async def test_each_invoice_shows_the_status_its_money_gives_it(runtime: Runtime) -> None:
    world, invoices = await invoiced_world(runtime)
    issued_on = world.clock.now().date()
    shown = await statuses_on(runtime, issued_on)
    assert {name: shown[i.id] for name, i in invoices.items()} == {
        "open": ("open", Decimal("11.90")),
        "partial": ("partially_paid", Decimal("6.90")),
        "paid": ("paid", Decimal(0)),
        "credited": ("credited", Decimal(0)),
        "part_credited": ("open", Decimal("10.71")),  # 11.90 less the note's 1.19
        "written_off": ("written_off", Decimal(0)),
        "returned": ("open", Decimal("11.90")),
        "receipt": ("paid", Decimal(0)),
    }
    due = invoices["open"].due_date
    assert due is not None
    late = await statuses_on(runtime, due + timedelta(days=1))
    assert {name: late[i.id][0] for name, i in invoices.items()} == {
        "open": "overdue",
        "partial": "overdue",
        "paid": "paid",
        "credited": "credited",
        "part_credited": "overdue",
        "written_off": "written_off",
        "returned": "overdue",
        "receipt": "paid",
    }
    assert late[invoices["partial"].id][1] == Decimal("6.90")


async def test_the_list_filters_by_the_status_each_document_shows(runtime: Runtime) -> None:
    world, invoices = await invoiced_world(runtime)
    due = invoices["open"].due_date
    assert due is not None
    for on in (world.clock.now().date(), due, due + timedelta(days=1)):
        shown = await statuses_on(runtime, on)
        assert len(shown) == len(invoices) + 2  # and the two credit notes
        for status in PaymentStatus:
            expected = {i for i, (s, _) in shown.items() if s == status.value}
            assert await ids_filtered(runtime, status, on) == expected, (status, on)


async def test_a_source_settles_once(runtime: Runtime) -> None:
    world, invoices = await invoiced_world(runtime)
    again = settled(invoices["open"], SettlementKind.BANK_TRANSFER, "11.90", world.clock.now())
    async with runtime.uow() as uow:
        assert await uow.billing.add_settlement(again)
        replayed = Settlement(
            invoice_id=again.invoice_id,
            kind=again.kind,
            amount=again.amount,
            source=again.source,
            booked_at=again.booked_at,
            booked_on=again.booked_on,
        )
        assert not await uow.billing.add_settlement(replayed)
        await uow.commit()
    shown = await statuses_on(runtime, world.clock.now().date())
    assert shown[invoices["open"].id] == ("paid", Decimal(0))
