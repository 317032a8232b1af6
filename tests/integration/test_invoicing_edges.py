"""Where the money of an invoice run and of its corrections lands, in the less travelled
cases: VAT of several countries on one document, credit notes line by line, and charges that
arrive after their period was invoiced (issue 5; DESIGN §2 "nothing lost", §5).

Amounts are worked out by hand from the nets of ``billing_world``; VAT is net × rate rounded
half-up per charge when accrued and per (category, rate) group on a document (BR-CO-17).
"""

from __future__ import annotations

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.ledger import EntryKind, Posting, receivable, unbilled
from chargeledger.money import Money
from tests.integration.billing_world import (
    ChargeSpec,
    S,
    World,
    all_documents,
    balance_of,
    book_charges,
    create_customer,
    credit,
    d,
    day,
    expect,
    invoices_of,
    new_world,
    receivables,
    run_month,
    standard_world,
    utc,
)


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await standard_world(runtime)


async def test_a_credit_note_reverses_vat_in_the_country_it_was_booked(world: World) -> None:
    """lusa's invoice: reverse charge at the DE site (first line), 1.87 PT VAT at the PT site.
    Crediting it must give the 1.87 back to Liabilities:VAT:PT, where it was booked."""
    await run_month(world, "2026-01")
    lusa = invoices_of(await all_documents(world.runtime), world.accounts["lusa"].id)
    note = await credit(world, lusa[day("2026-01-01")])
    async with world.runtime.uow() as uow:
        entry = await uow.ledger.find(EntryKind.CREDIT_NOTE_ISSUED, "invoice", str(note.id))
    assert entry is not None
    assert set(entry.postings) == {
        Posting("Income:Charging:Energy", Money.of(d("48.13"), "EUR")),
        Posting("Income:Charging:Parking", Money.of(d("2.50"), "EUR")),
        Posting("Liabilities:VAT:PT", Money.of(d("1.87"), "EUR")),
        Posting(receivable(world.accounts["lusa"].id), Money.of(d("-52.50"), "EUR")),
    }
    assert await balance_of(world.runtime, "Liabilities:VAT:DE") == d("-45.05")
    assert await balance_of(world.runtime, "Liabilities:VAT:PT") == d("-2.56")


async def test_an_invoice_books_its_vat_rounding_to_the_country_of_the_rate(
    runtime: Runtime,
) -> None:
    """A DE driver charging in DE (19 %) and twice in PT (23 %): the PT charges accrued
    2 × 2.31 VAT, the invoice states 20.06 × 23 % = 4.61; the cent belongs to VAT:PT."""
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    tourist = await create_customer(runtime, world.clock, "Tom Tourist")
    c = await book_charges(
        runtime,
        world.clock,
        {
            "t1": ChargeSpec(world.de, tourist, utc("2026-01-10T10:00"), {"Energy": "10.00"}),
            "t2": ChargeSpec(world.pt, tourist, utc("2026-01-12T10:00"), {"Energy": "10.03"}),
            "t3": ChargeSpec(world.pt, tourist, utc("2026-01-13T10:00"), {"Energy": "10.03"}),
        },
    )
    [invoice] = (await run_month(world, "2026-01")).issued
    expect(
        invoice,
        period=("2026-01-01", "2026-02-01"),
        charges=[c["t1"], c["t2"], c["t3"]],
        nets=["10.00", "10.03", "10.03"],
        subtotals=[(S, "19", "10.00", "1.90"), (S, "23", "20.06", "4.61")],
        gross="36.57",
        due="2026-02-16",
    )
    async with runtime.uow() as uow:
        entry = await uow.ledger.find(EntryKind.INVOICE_ISSUED, "invoice", str(invoice.id))
    assert entry is not None
    assert set(entry.postings) == {
        Posting(receivable(tourist.id), Money.of(d("36.57"), "EUR")),
        Posting(unbilled(tourist.id), Money.of(d("-36.58"), "EUR")),
        Posting("Liabilities:VAT:PT", Money.of(d("0.01"), "EUR")),
    }
    assert await balance_of(runtime, "Liabilities:VAT:DE") == d("-1.90")
    assert await balance_of(runtime, "Liabilities:VAT:PT") == d("-4.61")


async def test_each_line_of_an_invoice_can_be_credited_separately(world: World) -> None:
    """anna's invoice states 5.87 VAT; its lines alone round to 3.89 and 1.99 (5.88). After
    crediting line 2 (24.34 of 36.77), crediting line 1 must still be possible and leave
    nothing open, not fail because 12.44 > 12.43."""
    await run_month(world, "2026-01")
    anna_id = world.accounts["anna"].id
    anna = invoices_of(await all_documents(world.runtime), anna_id)[day("2026-01-01")]
    second = await credit(world, anna, positions=(2,))
    first = await credit(world, anna, positions=(1,))
    assert second.gross_total + first.gross_total == d("36.77")
    assert (await receivables(world.runtime, anna_id))[0] == d("0.00")


async def test_a_charge_booked_after_its_month_was_invoiced_still_gets_invoiced(
    world: World,
) -> None:
    """A January session of anna's charged only on 3 February, after the January run (e.g.
    released from quarantine: never billed blindly, never dropped) must reach an invoice, at
    the latest the next run's; it must not stay in Unbilled for ever."""
    rt, anna = world.runtime, world.accounts["anna"]
    await run_month(world, "2026-01")
    world.clock.current = utc("2026-02-03T10:00")
    spec = ChargeSpec(world.de, anna, utc("2026-01-20T10:00"), {"Energy": "2.00"})
    late = (await book_charges(rt, world.clock, {"a4": spec}))["a4"]  # 2.00 + 0.38 VAT
    assert await receivables(rt, anna.id) == (d("36.77"), d("8.33"))  # 5.95 (a3) + 2.38

    world.clock.current = utc("2026-03-02T08:00")
    await run_month(world, "2026-02")
    billed = [line.charge_id for i in await all_documents(rt) for line in i.lines]
    assert late.id in billed
    assert await receivables(rt, anna.id) == (d("45.10"), d("0.00"))  # 36.77 + 5.95 + 2.38
