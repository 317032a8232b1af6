"""Bank statements in, invoices paid (issue 13): each matching rule, partial and over-payments,
a returned transfer, import idempotence and overlap, the unmatched queue decided by finance,
and books that still balance — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date
from decimal import Decimal

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.bank_statements import (
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ledger import BANK, BANK_SUSPENSE, customer_credit
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Currency, Money
from chargeledger.services.billing import bank_decisions as decisions
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.payments.gateway import Payout
from chargeledger.services.payments.webhooks import book_payout
from chargeledger.services.transactions import in_transaction
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

IBAN_G = "DE02120300000000202051"
DAY = date(2026, 2, 3)


def credit(ref: str, amount: str, **details: object) -> StatementEntry:
    return bank_entry(ref, amount, DAY, **details)


def statement(statement_id: str, *entries: StatementEntry) -> Statement:
    return day_statement(statement_id, DAY, *entries)


async def world_with_invoices(runtime: Runtime) -> tuple[World, dict[str, Invoice]]:
    """One 11.90 EUR invoice for January per customer; ``dora`` and ``gus`` also one for
    December (two invoices open at once)."""
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    specs = {}
    accounts = {}
    for name in ("anna", "ben", "carla", "dora", "eve", "gus"):
        accounts[name] = await create_customer(runtime, world.clock, f"{name.title()} Weber GmbH")
        specs[name] = ChargeSpec(
            world.de, accounts[name], utc("2026-01-15T10:00"), {"Energy": "10.00"}
        )
    for name in ("dora", "gus"):
        specs[name + "_dec"] = ChargeSpec(
            world.de, accounts[name], utc("2025-12-15T10:00"), {"Energy": "10.00"}
        )
    await book_charges(runtime, world.clock, specs)
    december = await run_month(world, "2025-12")
    january = await run_month(world, "2026-01")
    invoices = {i.buyer.name.split()[0].lower(): i for i in january.issued}
    invoices |= {i.buyer.name.split()[0].lower() + "_dec": i for i in december.issued}
    return world, invoices


async def shown(runtime: Runtime, on: date = DAY) -> dict[uuid.UUID, tuple[str, Decimal]]:
    async with runtime.uow() as uow:
        page = await invoice_documents.list_documents(uow, InvoiceFilter(), 1000, 0, on)
    return {v.invoice.id: (v.status.value, v.outstanding) for v in page.items}


async def entries(runtime: Runtime) -> dict[str, BankEntry]:
    async with runtime.uow() as uow:
        page = await decisions.list_entries(uow, None, 1000, 0)
    return {e.entry.entry_ref: e for e in page.items}


async def run_import(runtime: Runtime, world: World, *statements: Statement) -> bank.ImportReport:
    return await bank.import_statements(
        runtime.uow,
        runtime.locks,
        world.clock,
        OPERATOR_TZ,
        statements,
        filename="statement.xml",
        imported_by="finance@example.org",
    )


def first_statement(invoices: dict[str, Invoice]) -> Statement:
    ref = {name: i.payment_reference for name, i in invoices.items()}
    return statement(
        "2026-02-03",
        credit(
            "e1",
            "11.90",
            creditor_reference=ref["anna"],
            end_to_end_id="E2E-ANNA",
            counterparty_name="Anna Weber GmbH",
        ),
        credit("e2", "5.00", remittance_unstructured=f"Rechnung {invoices['ben'].number}\nDanke"),
        credit("e3", "11.90", counterparty_name="CARLA WEBER gmbh"),
        credit("e4", "23.80", creditor_reference=ref["dora"]),
        credit("e5", "7.77", counterparty_name="Somebody Else"),
        credit("e6", "11.90", creditor_reference=ref["eve"], status=EntryStatus.PENDING),
        credit("e7", "11.90", creditor_reference=ref["gus_dec"], counterparty_iban=IBAN_G),
    )


async def test_each_rule_books_what_it_is_sure_of_and_queues_the_rest(runtime: Runtime) -> None:
    world, invoices = await world_with_invoices(runtime)
    report = await run_import(runtime, world, first_statement(invoices))
    assert (report.new, report.duplicates, report.matched, report.unmatched) == (7, 0, 4, 2)
    assert report.balance_gaps == []
    assert dict(report.by_rule) == {"reference": 3, "invoice_number": 1}

    kept = await entries(runtime)
    assert {ref: e.state.value for ref, e in kept.items()} == {
        "e1": "matched",
        "e2": "matched",
        "e3": "unmatched",
        "e4": "matched",
        "e5": "unmatched",
        "e6": "pending",
        "e7": "matched",
    }
    # The name-and-amount guess is shown, not booked.
    assert (kept["e3"].rule, kept["e3"].confidence, kept["e3"].invoice_id) == (
        "amount_and_name",
        Decimal("0.60"),
        invoices["carla"].id,
    )
    assert kept["e5"].invoice_id is None

    status = await shown(runtime)
    assert {name: status[i.id] for name, i in invoices.items()} == {
        "anna": ("paid", Decimal(0)),
        "ben": ("partially_paid", Decimal("6.90")),
        "carla": ("open", Decimal("11.90")),
        "dora": ("paid", Decimal(0)),
        "dora_dec": ("paid", Decimal(0)),  # the over-payment's credit paid the older one
        "eve": ("open", Decimal("11.90")),  # a pending entry books nothing
        "gus": ("open", Decimal("11.90")),
        "gus_dec": ("paid", Decimal(0)),
    }
    booked = Decimal("11.90") + Decimal("5.00") + Decimal("11.90") + Decimal("23.80")
    booked += Decimal("7.77") + Decimal("11.90")
    assert await balance_of(runtime, BANK) == booked
    assert await balance_of(runtime, BANK_SUSPENSE) == -(Decimal("11.90") + Decimal("7.77"))
    dora = invoices["dora"].account_id
    assert dora is not None
    assert await balance_of(runtime, customer_credit(dora)) == 0  # used up by December
    async with runtime.uow() as uow:
        assert not await uow.ledger.unbalanced()


async def test_importing_again_or_overlapping_adds_only_what_is_new(runtime: Runtime) -> None:
    world, invoices = await world_with_invoices(runtime)
    first = first_statement(invoices)
    await run_import(runtime, world, first)
    async with runtime.uow() as uow:
        before = await uow.ledger.count()
    again = await run_import(runtime, world, first)
    assert (again.new, again.duplicates) == (0, 7)
    async with runtime.uow() as uow:
        assert await uow.ledger.count() == before

    # The next day's statement repeats e1 and brings Gus's January payment from the IBAN that
    # paid his December invoice, without any reference: amount and IBAN match it.
    overlap = statement(
        "2026-02-04", first.entries[0], credit("e8", "11.90", counterparty_iban=IBAN_G)
    )
    report = await run_import(runtime, world, overlap)
    assert (report.new, report.duplicates, dict(report.by_rule)) == (1, 1, {"amount_and_iban": 1})
    assert (await shown(runtime))[invoices["gus"].id] == ("paid", Decimal(0))


async def test_a_returned_transfer_reopens_its_invoice(runtime: Runtime) -> None:
    world, invoices = await world_with_invoices(runtime)
    await run_import(runtime, world, first_statement(invoices))
    returned = StatementEntry(
        entry_ref="r1",
        amount=Money.of("11.90", "EUR"),
        direction=Direction.DEBIT,
        status=EntryStatus.BOOKED,
        booking_date=DAY,
        reversal=True,
        return_reason="AC04",
        end_to_end_id="E2E-ANNA",
    )
    report = await run_import(runtime, world, statement("2026-02-05", returned))
    assert report.states[EntryState.RETURNED] == 1
    assert (await shown(runtime))[invoices["anna"].id] == ("open", Decimal("11.90"))
    anna = invoices["anna"].account_id
    assert anna is not None
    async with runtime.uow() as uow:
        assert not await uow.ledger.unbalanced()


async def test_finance_decides_the_unmatched_once(runtime: Runtime) -> None:
    world, invoices = await world_with_invoices(runtime)
    await run_import(runtime, world, first_statement(invoices))
    kept = await entries(runtime)
    clock = world.clock

    matched = await in_transaction(
        runtime.uow,
        decisions.match_entry,
        clock,
        OPERATOR_TZ,
        kept["e3"].id,
        invoices["carla"].number or "",
        "clerk@example.org",
    )
    assert (matched.state, matched.decided_by, matched.rule) == (
        EntryState.MATCHED,
        "clerk@example.org",
        "manual",
    )
    assert (await shown(runtime))[invoices["carla"].id] == ("paid", Decimal(0))

    # Two clerks at once: one decides, the other is told and books nothing.
    eve = invoices["eve"].account_id
    assert eve is not None
    outcomes = await asyncio.gather(
        in_transaction(
            runtime.uow,
            decisions.credit_entry,
            clock,
            OPERATOR_TZ,
            kept["e5"].id,
            eve,
            "a@example.org",
        ),
        in_transaction(
            runtime.uow, decisions.ignore_entry, clock, kept["e5"].id, "b@example.org", "bank fee"
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(refused) == 1
    assert refused[0].code == "bank_entry_decided"
    async with runtime.uow() as uow:
        assert not await uow.ledger.unbalanced()
    with pytest.raises(ConflictError) as again:
        await in_transaction(
            runtime.uow, decisions.ignore_entry, clock, kept["e5"].id, "c@example.org", "late"
        )
    assert again.value.code == "bank_entry_decided"


async def test_a_payouts_bank_line_confirms_it_and_books_only_a_difference(
    runtime: Runtime,
) -> None:
    """The PSP's payout is booked when the PSP reports it (Bank net, fees, PSP gross); its bank
    line must not bring the money in a second time. Differences are reported and wait in
    suspense."""
    world, _ = await world_with_invoices(runtime)
    payouts = [
        Payout("po_1QxAlpha", Money.of("100.00", "EUR"), Money.of("1.65", "EUR"), DAY),
        Payout("po_1QxBravo", Money.of("50.00", "EUR"), Money.of("0.95", "EUR"), DAY),
        Payout("po_1QxCharlie", Money.of("30.00", "EUR"), Money.of("0.67", "EUR"), DAY),
    ]
    async with runtime.uow() as uow:
        for payout in payouts:
            assert await book_payout(uow, runtime.payments, "sandbox", payout)
        await uow.commit()
    bank_before = await balance_of(runtime, BANK)
    lines = statement(
        "2026-02-06",
        credit("p1", "98.35", remittance_unstructured="STRIPE PAYOUT po_1QxAlpha"),
        credit("p2", "49.05", counterparty_name="Sandbox PSP GmbH"),  # net, without the id
        credit("p3", "29.00", remittance_unstructured="po_1QxCharlie"),  # 0.33 short
    )
    report = await run_import(runtime, world, lines)
    assert (report.matched, report.unmatched, dict(report.by_rule)) == (3, 0, {"payout": 3})
    assert report.payout_differences == [
        "po_1QxCharlie: the bank brought 29.00, the PSP reported 29.33 EUR"
    ]
    kept = await entries(runtime)
    assert [kept[ref].payout_id for ref in ("p1", "p2", "p3")] == [
        "po_1QxAlpha",
        "po_1QxBravo",
        "po_1QxCharlie",
    ]
    assert await balance_of(runtime, BANK) == bank_before - Decimal("0.33")
    assert await balance_of(runtime, BANK_SUSPENSE) == Decimal("0.33")
    again = await run_import(
        runtime,
        world,
        statement("2026-02-07", credit("p4", "98.35", remittance_unstructured="po_1QxAlpha")),
    )
    assert again.states[EntryState.UNMATCHED] == 1  # a payout's line is matched once


async def test_an_over_payment_pays_the_customers_next_invoice(runtime: Runtime) -> None:
    world, invoices = await world_with_invoices(runtime)
    eve = invoices["eve"]
    over = statement("2026-02-03", credit("o1", "30.00", creditor_reference=eve.payment_reference))
    report = await run_import(runtime, world, over)
    assert report.matched == 1
    assert eve.account_id is not None
    assert await balance_of(runtime, customer_credit(eve.account_id)) == Decimal("-18.10")

    async with runtime.uow() as uow:  # the same customer charges again in February
        customer = await uow.accounts.get(eve.account_id)
    spec = ChargeSpec(world.de, customer, utc("2026-02-10T10:00"), {"Energy": "10.00"})
    await book_charges(runtime, world.clock, {"feb": spec})
    world.clock.current = utc("2026-03-02T08:00")
    february = await run_month(world, "2026-02")
    [next_invoice] = [i for i in february.issued if i.account_id == eve.account_id]
    status = await shown(runtime, date(2026, 3, 2))
    assert status[next_invoice.id] == ("paid", Decimal(0))  # 11.90 of the 18.10 credit
    assert await balance_of(runtime, customer_credit(eve.account_id)) == Decimal("-6.20")
    async with runtime.uow() as uow:
        assert not await uow.ledger.unbalanced()


async def test_money_in_another_currency_never_pays_an_invoice_by_itself(
    runtime: Runtime,
) -> None:
    world, invoices = await world_with_invoices(runtime)
    reference = invoices["anna"].payment_reference
    swiss = StatementEntry(
        entry_ref="chf-1",
        amount=Money.of("11.90", "CHF"),
        direction=Direction.CREDIT,
        status=EntryStatus.BOOKED,
        booking_date=DAY,
        creditor_reference=reference,
    )
    chf = dataclasses.replace(
        statement("2026-02-03"),
        currency=Currency.of("CHF"),
        opening_balance=None,
        closing_balance=None,
        entries=(swiss,),
    )
    report = await run_import(runtime, world, chf)
    assert report.unmatched == 1
    assert (await shown(runtime))[invoices["anna"].id] == ("open", Decimal("11.90"))
    kept = await entries(runtime)
    with pytest.raises(InvalidInputError) as refused:
        await in_transaction(
            runtime.uow,
            decisions.match_entry,
            world.clock,
            OPERATOR_TZ,
            kept["chf-1"].id,
            invoices["anna"].number or "",
            "clerk@example.org",
        )
    assert refused.value.code == "currency_mismatch"


async def test_a_return_naming_only_the_reference_reopens_that_invoice(runtime: Runtime) -> None:
    """Some banks return a transfer with the original remittance but a new end-to-end id."""
    world, invoices = await world_with_invoices(runtime)
    await run_import(runtime, world, first_statement(invoices))
    returned = StatementEntry(
        entry_ref="r2",
        amount=Money.of("11.90", "EUR"),
        direction=Direction.DEBIT,
        status=EntryStatus.BOOKED,
        booking_date=DAY,
        return_reason="AC04",
        creditor_reference=invoices["gus_dec"].payment_reference,
    )
    report = await run_import(runtime, world, statement("2026-02-05", returned))
    assert report.states[EntryState.RETURNED] == 1
    assert (await shown(runtime))[invoices["gus_dec"].id] == ("open", Decimal("11.90"))


async def test_one_file_whose_statements_overlap_books_the_shared_entry_once(
    runtime: Runtime,
) -> None:
    world, invoices = await world_with_invoices(runtime)
    paid = credit("same", "11.90", creditor_reference=invoices["anna"].payment_reference)
    report = await run_import(
        runtime, world, statement("2026-02-03", paid), statement("2026-02-04", paid)
    )
    assert (report.new, report.duplicates, report.matched) == (1, 1, 1)
    assert await balance_of(runtime, BANK) == Decimal("11.90")
