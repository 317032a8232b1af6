"""A site host's revenue share, settled monthly by a self-billed invoice (issue 14), on SQLite
and PostgreSQL: the document against one computed by hand, its EN 16931 XML, its booking as a
payable, once per contract and month (also when two runs race), and receivables that never
count it as money owed to us.

The world (invoiced on 2 February 2026, the operator in Berlin): the host's two sites,
"Berlin Depot" (the standard world's DE site) and "Berlin Mitte", and "Lisboa Hub", which is
not the host's. Every session delivered 12.5 kWh. January at the host's sites, net:

- Depot: anna 20.00 + 1.45 (10 Jan), an ad hoc payer 4.20 (5 Jan), anna 5.00 (31 Dec 23:30
  UTC = 1 Jan 00:30 in Berlin: January): 30.65 net, 37.5 kWh;
- Mitte: anna 30.00 (12 Jan), Lusa 40.00 (reverse-charged to the Portuguese business,
  still 40.00 net; 20 Jan): 70.00 net, 25 kWh.

Not counted: anna 8.13 at Lisboa Hub, and anna 5.00 at the Depot on 31 Jan 23:10 UTC (1 Feb
00:10 in Berlin: February).
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chargeledger.adapters.documents import check_en16931, invoice_xml
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.billing import VatCategory
from chargeledger.domain.contract_records import ContractRecord, Partner, PartnerKind
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import DocumentKind, Invoice, VatSubtotal
from chargeledger.domain.ledger import partner_payable
from chargeledger.domain.outbox import Channel
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.errors import ConflictError
from chargeledger.money import Currency
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoice_runs import Invoicer, MonthRun, run_month
from chargeledger.services.billing.ledger import check_ledger
from chargeledger.services.billing.revenue_share import settle_month_shares
from chargeledger.services.contracts import records
from tests.conftest import LoginAs, fast_hasher
from tests.integration.billing_api import API
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    ChargeSpec,
    World,
    all_documents,
    balance_of,
    book_charges,
    create_customer,
    create_place,
    credit,
    new_world,
    utc,
)
from tests.unit.documents.schematron import AVAILABLE, REASON, schematron_failures

D = Decimal
JANUARY = (date(2026, 1, 1), date(2026, 2, 1))
PERCENT = {"revenue_share": {"percent": "10"}}
HOST_EMAIL = "abrechnung@parkhaus.example.org"


async def host_world(
    runtime: Runtime,
    *,
    terms: dict[str, Any] = PERCENT,
    country: str = "DE",
    vat_id: str | None = "DE811907980",
) -> tuple[World, ContractRecord, Partner]:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    clock = world.clock
    mitte = await create_place(runtime, clock, "Berlin Mitte", "DE", "Europe/Berlin", "DE-CP2")
    anna = await create_customer(runtime, clock, "Anna Becker")
    lusa = await create_customer(
        runtime, clock, "Lusa Lda", kind=AccountKind.BUSINESS, country="PT", vat_id="PT501964843"
    )
    world.accounts = {"anna": anna, "lusa": lusa}
    host = Partner(
        PartnerKind.SITE_HOST,
        "Parkhaus Mitte GmbH",
        HOST_EMAIL,
        Address("Parkweg 2", "10117", "Berlin" if country == "DE" else "Wien", country),
        vat_id=vat_id,
        iban="DE02120300000000202051",
    )
    signed = date(2025, 12, 20)
    async with runtime.uow() as uow:
        host = await records.add_partner(uow, clock, host)
        record = ContractRecord(
            Contract("SH-1", ContractType.SITE_HOST, date(2026, 1, 1), date(2026, 12, 31)),
            Currency.of("EUR"),
            partner_id=host.id,
        )
        draft = records.ContractDraft(record, terms, site_ids=(world.de.site.id, mitte.site.id))
        view = await records.create_contract(uow, clock, "finance", draft, signed)
        view = await records.sign_contract(uow, clock, view.record.id, signed, signed)
        await uow.commit()
    de, pt = world.de, world.pt
    specs = {
        "depot1": ChargeSpec(
            de, anna, utc("2026-01-10T13:00"), {"Energy": "20.00", "Time": "1.45"}
        ),
        "depot2": ChargeSpec(de, None, utc("2026-01-05T12:00"), {"Energy": "4.20"}),
        "depot3": ChargeSpec(de, anna, utc("2025-12-31T23:30"), {"Energy": "5.00"}),
        "mitte1": ChargeSpec(mitte, anna, utc("2026-01-12T09:00"), {"Energy": "30.00"}),
        "mitte2": ChargeSpec(mitte, lusa, utc("2026-01-20T09:00"), {"Energy": "40.00"}),
        "lisboa": ChargeSpec(pt, anna, utc("2026-01-14T09:00"), {"Energy": "8.13"}),
        "february": ChargeSpec(de, anna, utc("2026-01-31T23:10"), {"Energy": "5.00"}),
    }
    world.charges = await book_charges(runtime, clock, specs)
    return world, view.record, host


def invoicer(runtime: Runtime, world: World) -> Invoicer:
    return Invoicer(
        uow=runtime.uow,
        locks=runtime.locks,
        clock=world.clock,
        rates=runtime.settings.vat_rates,
        seller=SELLER,
        time_zone=OPERATOR_TZ,
    )


def the_share(run: MonthRun) -> Invoice:
    assert run.shares is not None
    (document,) = run.shares.issued
    return document


def lines_of(document: Invoice) -> list[tuple[str, Decimal, Decimal]]:
    return [(line.site_name, line.net, line.energy_kwh) for line in document.lines]


async def books_are_clean(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        assert await check_ledger(uow) == []


async def test_a_ten_percent_share_of_two_sites(runtime: Runtime) -> None:
    world, record, host = await host_world(runtime)
    document = the_share(await run_month(invoicer(runtime, world), "2026-01"))

    assert document.kind is DocumentKind.SELF_BILLED
    assert document.number == "SB-2026-000001"
    assert (document.seller.name, document.seller.vat_id) == (host.name, host.vat_id)
    assert document.seller.iban == host.iban  # where we pay the host
    assert (document.buyer.name, document.buyer.iban) == (SELLER.name, None)
    assert (document.period_start, document.period_end) == JANUARY
    # Depot: 10 % of 30.65 = 3.065 → 3.07 (half-up); Mitte: 10 % of 70.00 = 7.00.
    assert lines_of(document) == [
        ("Berlin Depot", D("3.07"), D("37.5")),
        ("Berlin Mitte", D("7.00"), D("25")),
    ]
    assert "10 % of 30.65 EUR net charging revenue" in document.lines[0].description
    # A German host charges 19 %: 19 % of 10.07 = 1.9133 → 1.91; gross 11.98.
    assert document.vat_subtotals == (
        VatSubtotal(VatCategory.STANDARD, D("19"), D("10.07"), D("1.91")),
    )
    assert document.gross_total == D("11.98")
    assert document.due_date == date(2026, 2, 16)  # issued 2 Feb, 14 days

    # Booked as a payable: the share an expense, the host's VAT deductible, the gross owed.
    assert await balance_of(runtime, "Expenses:RevenueShare") == D("10.07")
    assert await balance_of(runtime, "Assets:VAT:Input:DE") == D("1.91")
    assert await balance_of(runtime, partner_payable(host.id)) == D("-11.98")
    await books_are_clean(runtime)

    async with runtime.uow() as uow:
        (billing,) = await uow.contracts.billings(record.id)
        events = await uow.outbox.due([Channel.EVENT], utc("2100-01-01T00:00"), 100)
    assert (billing.kind, billing.invoice_id, billing.amount) == (
        "revenue_share",
        document.id,
        D("10.07"),
    )
    (notice,) = [m.notice for m in events if m.notice.topic == "self_billed.issued"]
    assert notice.recipient == HOST_EMAIL

    xml = invoice_xml(document)
    check_en16931(xml)  # our arithmetic; the Schematron: the last test
    assert b"<ram:TypeCode>389</ram:TypeCode>" in xml

    # The run again: nothing twice.
    again = await run_month(invoicer(runtime, world), "2026-01")
    assert again.shares is not None
    assert (again.shares.issued, again.shares.already_settled) == ([], 1)
    shares = [d for d in await all_documents(runtime) if d.kind is DocumentKind.SELF_BILLED]
    assert [d.id for d in shares] == [document.id]
    async with runtime.uow() as uow:
        assert (await uow.billing.series())["SB-2026"] == 1
    await books_are_clean(runtime)


async def test_a_host_abroad_per_kwh_is_reverse_charged(runtime: Runtime) -> None:
    terms = {"revenue_share": {"per_kwh": "0.05"}}
    world, _, host = await host_world(runtime, terms=terms, country="AT", vat_id="ATU13585627")
    document = the_share(await run_month(invoicer(runtime, world), "2026-01"))
    # 37.5 kWh × 0.05 = 1.875 → 1.88; 25 kWh × 0.05 = 1.25; net 3.13, no VAT charged.
    assert [line.net for line in document.lines] == [D("1.88"), D("1.25")]
    assert document.vat_subtotals == (
        VatSubtotal(VatCategory.REVERSE_CHARGE, D("0"), D("3.13"), D("0.00"), document.vat_note),
    )
    assert document.gross_total == D("3.13")
    # We self-assess German VAT and deduct it: 19 % of 3.13 = 0.5947 → 0.59.
    assert await balance_of(runtime, "Expenses:RevenueShare") == D("3.13")
    assert await balance_of(runtime, "Assets:VAT:Input:DE") == D("0.59")
    assert await balance_of(runtime, partner_payable(host.id)) == D("-3.13")
    await books_are_clean(runtime)
    check_en16931(invoice_xml(document))


async def test_a_credit_note_reduces_the_month_it_is_issued_in(runtime: Runtime) -> None:
    world, _, _ = await host_world(runtime)
    january = await run_month(invoicer(runtime, world), "2026-01")
    assert the_share(january).net_total == D("10.07")
    anna = world.accounts["anna"]
    (invoice,) = [i for i in january.invoiced.issued if i.account_id == anna.id]
    mitte1 = world.charges["mitte1"].id
    (position,) = [line.position for line in invoice.lines if line.charge_id == mitte1]
    await credit(world, invoice, positions=(position,))  # issued 2 Feb: February's
    await book_charges(
        runtime,
        world.clock,
        {"m": ChargeSpec(world.de, anna, utc("2026-02-10T09:00"), {"Energy": "50.00"})},
    )
    world.clock.current = utc("2026-03-02T08:00")
    february = the_share(await run_month(invoicer(runtime, world), "2026-02"))
    # Depot: 5.00 (1 Feb 00:10) + 50.00 = 55.00 → 5.50. Mitte: nothing charged, 30.00
    # credited: the base stays at 0 → 0.00, 0 kWh. Net 5.50, 19 % 1.045 → 1.05, gross 6.55.
    assert lines_of(february) == [
        ("Berlin Depot", D("5.50"), D("25")),
        ("Berlin Mitte", D("0.00"), D("0")),
    ]
    assert february.gross_total == D("6.55")
    await books_are_clean(runtime)


async def test_a_host_without_a_vat_id_is_held(runtime: Runtime) -> None:
    """Not subject to VAT needs the host's legal registration (BR-CO-26), which a partner
    record does not hold yet: the contract is reported, nothing is issued or recorded."""
    world, record, _ = await host_world(runtime, vat_id=None)
    run = await run_month(invoicer(runtime, world), "2026-01")
    assert run.shares is not None
    assert run.shares.issued == []
    ((number, reason),) = run.shares.held
    assert number == "SH-1"
    assert reason.startswith("invalid_host_vat")
    async with runtime.uow() as uow:
        assert await uow.contracts.billings(record.id) == []
        assert "SB-2026" not in await uow.billing.series()
    await books_are_clean(runtime)


async def test_two_settlements_at_once_issue_one_document(
    runtime: Runtime, database: tuple[str, str | None]
) -> None:
    """Two nodes settle the month at once, outside the run's lock: one issues, the other
    clashes on the unique keys, rolls back (returning its number) and finds it settled."""
    world, _, _ = await host_world(runtime)
    other = build_runtime(runtime.settings, schema=database[1], hasher=fast_hasher())
    rates = runtime.settings.vat_rates
    try:
        runs = await asyncio.gather(
            settle_month_shares(runtime.uow, world.clock, SELLER, OPERATOR_TZ, rates, JANUARY),
            settle_month_shares(other.uow, world.clock, SELLER, OPERATOR_TZ, rates, JANUARY),
        )
    finally:
        await other.aclose()
    assert sorted(len(r.issued) for r in runs) == [0, 1]
    assert sorted(r.already_settled for r in runs) == [0, 1]
    shares = [d for d in await all_documents(runtime) if d.kind is DocumentKind.SELF_BILLED]
    assert [d.number for d in shares] == ["SB-2026-000001"]
    async with runtime.uow() as uow:
        assert (await uow.billing.series())["SB-2026"] == 1
    await books_are_clean(runtime)


async def test_receivables_do_not_count_it(runtime: Runtime) -> None:
    world, _, _ = await host_world(runtime)
    run = await run_month(invoicer(runtime, world), "2026-01")
    document = the_share(run)
    issued_on = world.clock.now().date()
    async with runtime.uow() as uow:
        views = await invoice_documents.list_documents(uow, InvoiceFilter(), 1000, 0, issued_on)
        statuses = {v.invoice.id: (v.status, v.outstanding) for v in views.items}
        assert statuses[document.id] == (PaymentStatus.ISSUED, D("0.00"))
        for on in (issued_on, date(2026, 3, 1)):  # also after its due date: never overdue
            for status in PaymentStatus:
                criteria = InvoiceFilter(payment_status=status, on=on)
                page = await uow.billing.list_invoices(criteria, limit=1000, offset=0)
                if status is PaymentStatus.ISSUED:
                    assert document.id in {i.id for i in page.items}
                else:
                    assert document.id not in {i.id for i in page.items}, status
        open_ids = {o.invoice_id for o in await uow.billing.open_invoices()}
        aging = {o.invoice_id for o in await uow.reports.open_items(as_of=date(2026, 3, 1))}
    assert document.id not in open_ids | aging
    invoiced = [i.id for i in run.invoiced.issued]
    assert open_ids == set(invoiced)  # the customers' invoices are open, and only they
    with pytest.raises(ConflictError) as refused:
        await credit(world, document)
    assert refused.value.code == "not_creditable"


async def test_finance_downloads_it_drivers_do_not_see_it(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance = await login_as(Role.FINANCE)
    driver = await login_as(Role.DRIVER)
    world, _, _ = await host_world(runtime)
    document = the_share(await run_month(invoicer(runtime, world), "2026-01"))
    pdf = await client.get(f"{API}/invoices/{document.id}/pdf", headers=finance)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    xml = await client.get(f"{API}/invoices/{document.id}/xml", headers=finance)
    assert xml.status_code == 200
    check_en16931(xml.content)
    hidden = await client.get(f"{API}/invoices/{document.id}/pdf", headers=driver)
    assert hidden.status_code == 404


@pytest.mark.skipif(not AVAILABLE, reason=REASON)
@pytest.mark.parametrize(
    ("terms", "country", "vat_id"),
    [(PERCENT, "DE", "DE811907980"), ({"revenue_share": {"per_kwh": "0.05"}}, "AT", "ATU13585627")],
    ids=["standard", "reverse_charge"],
)
async def test_the_document_obeys_the_en16931_schematron(
    runtime: Runtime, terms: dict[str, Any], country: str, vat_id: str
) -> None:
    world, _, _ = await host_world(runtime, terms=terms, country=country, vat_id=vat_id)
    document = the_share(await run_month(invoicer(runtime, world), "2026-01"))
    assert schematron_failures(invoice_xml(document)) == []
