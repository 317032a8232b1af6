"""Invoice runs, receipts, drafts and credit notes on real storage (issue 5; DESIGN §2, §5).

The world of ``billing_world.standard_world`` is billed for January 2026; every expected amount
below is worked out by hand from the nets there (VAT = net × rate, half-up to the cent, per
(category, rate) group of a document: EN 16931 BR-CO-17).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    VatSubtotal,
)
from chargeledger.domain.ledger import EntryKind, Posting, receivable
from chargeledger.domain.postings import WALK_IN
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Money
from chargeledger.services.billing import invoicing, ledger
from tests.integration.billing_world import (
    AE,
    OPERATOR_TZ,
    REVERSE_CHARGE_NOTE,
    SELLER,
    S,
    World,
    all_documents,
    balance_of,
    credit,
    d,
    day,
    expect,
    invoices_of,
    ledger_counts,
    receivables,
    run_month,
    standard_world,
    utc,
)


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await standard_world(runtime)


def check_january(
    world: World, documents: Sequence[Invoice], due: Mapping[str, str | None]
) -> None:
    """The January invoices of the standard world, issued or drafts."""
    a, c = world.accounts, world.charges
    anna = invoices_of(documents, a["anna"].id)
    lusa = invoices_of(documents, a["lusa"].id)
    weekly = invoices_of(documents, a["weekly"].id)
    assert invoices_of(documents, a["quarterly"].id) == {}  # Q1 ends in March
    assert invoices_of(documents, a["prepaid"].id) == {}
    assert list(anna) == [day("2026-01-01")]
    # a2 started 23:50 on 31 Jan in Berlin: January; a3 at 00:10 on 1 Feb: not.
    expect(
        anna[day("2026-01-01")],
        period=("2026-01-01", "2026-02-01"),
        charges=[c["a1"], c["a2"]],
        nets=["10.45", "20.45"],
        subtotals=[(S, "19", "30.90", "5.87")],  # 5.871, though the charges' VAT adds to 5.88
        gross="36.77",
        due=due["anna"],
    )
    # l0 (23:30 on 31 Dec in Lisbon, 1 Jan in Berlin) is December's; l2 (23:50 on 31 Jan in
    # Lisbon, 1 Feb in Berlin) is January's: the site's local date decides.
    lusa_january = lusa[day("2026-01-01")]
    assert list(lusa) == [day("2026-01-01")]
    expect(
        lusa_january,
        period=("2026-01-01", "2026-02-01"),
        charges=[c["l1"], c["l2"]],
        nets=["42.50", "8.13"],
        subtotals=[(AE, "0", "42.50", "0.00"), (S, "23", "8.13", "1.87")],
        gross="52.50",
        due=due["lusa"],
    )
    assert lusa_january.vat_note == REVERSE_CHARGE_NOTE
    assert lusa_january.buyer.vat_id == "PT501964843"
    # ISO weeks ending in January: W01 (from 29 Dec) to W04; W05 ends on 1 Feb.
    weeks = [
        ("2025-12-29", "2026-01-05", "w1", "10.00", "1.90", "11.90"),
        ("2026-01-05", "2026-01-12", "w2", "20.00", "3.80", "23.80"),
        ("2026-01-12", "2026-01-19", "w3", "30.00", "5.70", "35.70"),  # Sun 23:30 local
        ("2026-01-19", "2026-01-26", "w4", "40.00", "7.60", "47.60"),  # Mon 00:30 local
    ]
    assert sorted(weekly) == [day(w[0]) for w in weeks]
    for start, end, name, net, tax, gross in weeks:
        expect(
            weekly[day(start)],
            period=(start, end),
            charges=[c[name]],
            nets=[net],
            subtotals=[(S, "19", net, tax)],
            gross=gross,
            due=due["weekly"],
        )


ISSUED_DUE = {"anna": "2026-02-16", "lusa": "2026-03-04", "weekly": "2026-02-09"}


async def test_a_month_run_invoices_each_postpaid_account_for_its_periods(world: World) -> None:
    result = await run_month(world, "2026-01")
    documents = await all_documents(world.runtime)
    invoices = [i for i in documents if i.kind is DocumentKind.INVOICE]
    check_january(world, invoices, ISSUED_DUE)
    assert {i.id for i in result.issued} == {i.id for i in invoices}
    assert result.drafts == []
    assert sorted(i.number or "" for i in invoices) == [f"INV-2026-{n:06d}" for n in range(1, 7)]
    for invoice in invoices:
        assert invoice.status is DocumentStatus.ISSUED
        assert invoice.series == "INV-2026"
        assert invoice.issue_date == day("2026-02-02")
        assert invoice.seller == SELLER


async def test_ad_hoc_charges_get_one_receipt_each(world: World) -> None:
    result = await run_month(world, "2026-01")
    receipts = [i for i in await all_documents(world.runtime) if i.kind is DocumentKind.RECEIPT]
    assert {r.id for r in result.receipts} == {r.id for r in receipts}
    h1, h2 = world.charges["h1"], world.charges["h2"]
    by_charge = {r.lines[0].charge_id: r for r in receipts}
    assert sorted(by_charge, key=str) == sorted([h1.id, h2.id], key=str)
    assert sorted(r.number or "" for r in receipts) == ["RCT-2026-000001", "RCT-2026-000002"]
    for charge, vat, gross in (
        (h1, (S, "19", "4.20", "0.80"), "5.00"),
        (h2, (S, "23", "8.13", "1.87"), "10.00"),
    ):
        receipt = by_charge[charge.id]
        assert receipt.account_id is None
        assert receipt.series == "RCT-2026"
        assert len(receipt.lines) == 1
        cat, pct, taxable, tax = vat
        assert receipt.vat_subtotals == (VatSubtotal(cat, d(pct), d(taxable), d(tax)),)
        assert receipt.gross_total == d(gross)
    assert await receivables(world.runtime, WALK_IN) == (d("15.00"), d("0.00"))


async def test_running_the_same_month_again_creates_nothing(world: World) -> None:
    await run_month(world, "2026-01")
    documents, counts = await all_documents(world.runtime), await ledger_counts(world.runtime)
    assert counts == (17 + 6 + 2, 70)  # accruals, invoices, receipts; postings counted by hand
    again = await run_month(world, "2026-01")
    assert (again.issued, again.drafts, again.receipts) == ([], [], [])
    assert again.already_done == 6  # anna, lusa and four weeks
    assert await all_documents(world.runtime) == documents
    assert await ledger_counts(world.runtime) == counts


async def test_after_the_run_the_books_balance_and_receivables_match(world: World) -> None:
    await run_month(world, "2026-01")
    rt, a = world.runtime, world.accounts
    async with rt.uow() as uow:
        assert await ledger.check_ledger(uow) == []
        assert await ledger.trial_balance_of(uow) == {"EUR": Decimal(0)}
    # (receivable = invoiced gross, unbilled = gross of charges outside January's periods)
    assert await receivables(rt, a["anna"].id) == (d("36.77"), d("5.95"))
    assert await receivables(rt, a["lusa"].id) == (d("52.50"), d("3.69"))
    assert await receivables(rt, a["weekly"].id) == (d("119.00"), d("59.50"))
    assert await receivables(rt, a["quarterly"].id) == (d("0.00"), d("48.79"))
    assert await receivables(rt, a["prepaid"].id) == (d("0.00"), d("7.14"))
    # VAT: the charges accrued 45.06 (DE) and 4.43 (PT); anna's invoice states 0.01 less.
    assert await balance_of(rt, "Liabilities:VAT:DE") == d("-45.05")
    assert await balance_of(rt, "Liabilities:VAT:PT") == d("-4.43")
    for component, amount in (("Energy", "-294.11"), ("Time", "-1.25"), ("Parking", "-2.50")):
        assert await balance_of(rt, f"Income:Charging:{component}") == d(amount)

    # February and March: the rest is invoiced and Unbilled clears.
    world.clock.current = utc("2026-03-02T08:00")
    february = await run_month(world, "2026-02")
    assert sorted(i.number or "" for i in february.issued) == ["INV-2026-000007", "INV-2026-000008"]
    documents = await all_documents(rt)
    expect(
        invoices_of(documents, a["anna"].id)[day("2026-02-01")],
        period=("2026-02-01", "2026-03-01"),
        charges=[world.charges["a3"]],
        nets=["5.00"],
        subtotals=[(S, "19", "5.00", "0.95")],
        gross="5.95",
        due="2026-03-16",
    )
    expect(
        invoices_of(documents, a["weekly"].id)[day("2026-01-26")],
        period=("2026-01-26", "2026-02-02"),
        charges=[world.charges["w5"]],
        nets=["50.00"],
        subtotals=[(S, "19", "50.00", "9.50")],
        gross="59.50",
        due="2026-03-09",
    )
    assert invoices_of(documents, a["quarterly"].id) == {}
    assert await receivables(rt, a["anna"].id) == (d("42.72"), d("0.00"))
    assert await receivables(rt, a["weekly"].id) == (d("178.50"), d("0.00"))

    world.clock.current = utc("2026-04-01T08:00")
    march = await run_month(world, "2026-03")
    [quarter] = march.issued
    assert quarter.number == "INV-2026-000009"
    expect(
        quarter,
        period=("2026-01-01", "2026-04-01"),
        charges=[world.charges["q1"], world.charges["q2"]],  # q3 is 1 Apr 00:30 CEST: Q2
        nets=["15.00", "25.00"],
        subtotals=[(S, "19", "40.00", "7.60")],
        gross="47.60",
        due="2026-04-22",
    )
    assert await receivables(rt, a["quarterly"].id) == (d("47.60"), d("1.19"))
    async with rt.uow() as uow:
        assert await ledger.check_ledger(uow) == []


async def test_credit_notes_full_by_lines_and_by_amount(world: World) -> None:
    await run_month(world, "2026-01")
    world.clock.current = utc("2026-02-10T09:00")
    rt, a = world.runtime, world.accounts
    documents = await all_documents(rt)
    anna = invoices_of(documents, a["anna"].id)[day("2026-01-01")]
    lusa = invoices_of(documents, a["lusa"].id)[day("2026-01-01")]
    w01, w02 = (
        invoices_of(documents, a["weekly"].id)[day(s)] for s in ("2025-12-29", "2026-01-05")
    )

    full = await credit(world, w01)
    assert (full.kind, full.status, full.number) == (
        DocumentKind.CREDIT_NOTE,
        DocumentStatus.ISSUED,
        "CN-2026-000001",
    )
    assert (full.original_id, full.original_number) == (w01.id, w01.number)
    assert [line.net for line in full.lines] == [d("10.00")]
    assert full.gross_total == d("11.90")

    by_line = await credit(world, anna, positions=(2,))
    assert by_line.number == "CN-2026-000002"
    assert by_line.original_number == anna.number
    assert [line.charge_id for line in by_line.lines] == [world.charges["a2"].id]
    assert (by_line.tax_total, by_line.gross_total) == (d("3.89"), d("24.34"))

    by_amount = await credit(world, w02, net_amount="5.00")
    assert by_amount.number == "CN-2026-000003"
    assert by_amount.gross_total == d("5.95")
    async with rt.uow() as uow:
        entry = await uow.ledger.find(EntryKind.CREDIT_NOTE_ISSUED, "invoice", str(by_amount.id))
    assert entry is not None
    assert set(entry.postings) == {
        Posting("Income:Charging:Energy", Money.of(d("5.00"), "EUR")),
        Posting("Liabilities:VAT:DE", Money.of(d("0.95"), "EUR")),
        Posting(receivable(a["weekly"].id), Money.of(d("-5.95"), "EUR")),
    }

    # 17.85 is left on W02: 15.01 net (+2.85 VAT = 17.86) is one cent too much, 15.00 fits.
    with pytest.raises(ConflictError) as too_much:
        await credit(world, w02, net_amount="15.01")
    assert too_much.value.code == "credit_exceeds_invoice"
    rest = await credit(world, w02, net_amount="15.00")
    assert rest.number == "CN-2026-000004"
    assert rest.gross_total == d("17.85")
    with pytest.raises(ConflictError) as nothing_left:
        await credit(world, w02, net_amount="0.01")
    assert nothing_left.value.code == "credit_exceeds_invoice"
    with pytest.raises(ConflictError) as of_a_note:
        await credit(world, full)
    assert of_a_note.value.code == "not_creditable"
    with pytest.raises(InvalidInputError) as two_rates:
        await credit(world, lusa, net_amount="1.00")
    assert two_rates.value.code == "invalid_credit_note"

    async with rt.uow() as uow:
        assert await ledger.check_ledger(uow) == []
        assert (await uow.billing.series())["CN-2026"] == 4  # refused notes used no number
        assert await invoicing.status_of(uow, w01, day("2026-02-10")) is PaymentStatus.CREDITED
    # 119.00 - 11.90 - 5.95 - 17.85 and 36.77 - 24.34
    assert await receivables(rt, a["weekly"].id) == (d("83.30"), d("59.50"))
    assert await receivables(rt, a["anna"].id) == (d("12.43"), d("5.95"))


async def test_drafts_are_numbered_when_issued_and_never_change_after(world: World) -> None:
    rt = world.runtime
    result = await run_month(world, "2026-01", issue=False)
    assert result.issued == []
    drafts = [i for i in await all_documents(rt) if i.kind is DocumentKind.INVOICE]
    assert {i.id for i in result.drafts} == {i.id for i in drafts}
    check_january(world, drafts, {"anna": None, "lusa": None, "weekly": None})
    assert all(i.status is DocumentStatus.DRAFT and i.number is None for i in drafts)
    async with rt.uow() as uow:
        assert await uow.ledger.sources(EntryKind.INVOICE_ISSUED, "invoice") == set()
        assert "INV-2026" not in await uow.billing.series()
    assert (await run_month(world, "2026-01", issue=False)).already_done == 6

    world.clock.current = utc("2026-02-05T09:00")
    order = sorted(drafts, key=lambda i: (i.buyer.name, i.period_start))
    issued = []
    for n, draft in enumerate(order, 1):
        async with rt.uow() as uow:
            issued.append(await invoicing.issue_invoice(uow, world.clock, draft.id, OPERATOR_TZ))
            await uow.commit()
        assert issued[-1].number == f"INV-2026-{n:06d}"
        assert issued[-1].issue_date == day("2026-02-05")
    check_january(
        world, issued, {"anna": "2026-02-19", "lusa": "2026-03-07", "weekly": "2026-02-12"}
    )
    assert await receivables(rt, world.accounts["anna"].id) == (d("36.77"), d("5.95"))

    first = issued[0]
    with pytest.raises(ConflictError) as again:
        async with rt.uow() as uow:
            await invoicing.issue_invoice(uow, world.clock, first.id, OPERATOR_TZ)
    assert again.value.code == "invoice_issued"
    changed = dataclasses.replace(first, number="INV-2026-000099", due_date=day("2026-12-31"))
    for attempt in (first, changed):
        async with rt.uow() as uow:
            with pytest.raises(ConflictError) as refused:
                await uow.billing.mark_issued(attempt)
            assert refused.value.code == "invoice_issued"
            await uow.commit()
    async with rt.uow() as uow:
        stored = await uow.billing.get_invoice(first.id)
        assert stored is not None
        assert (stored.number, stored.due_date) == (first.number, first.due_date)
        assert (await uow.billing.series())["INV-2026"] == 6  # the refused issue gave it back
        assert await ledger.check_ledger(uow) == []
