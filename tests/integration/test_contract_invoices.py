"""A contract's lines on the month-end invoice (issue 14), on SQLite and PostgreSQL, against
invoices computed by hand: both volume-tier models, a commitment the fleet misses, fixed
fees, a month without sessions that still owes its commitment, and books that stay clean."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pypdf import PdfReader

from chargeledger.adapters.documents.cii import invoice_xml
from chargeledger.adapters.documents.pdf import invoice_pdf as render_pdf
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType
from chargeledger.domain.contract_records import ContractRecord
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.invoicing import Invoice
from chargeledger.money import Currency
from chargeledger.services import customers
from chargeledger.services.billing import invoicing
from chargeledger.services.billing.ledger import check_ledger
from chargeledger.services.charging.authorization import AuthorizationStatus, authorize_token
from chargeledger.services.contracts import records
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
from tests.unit.documents import schematron

D0 = Decimal("0.00")
TIERS = {
    "bands": [
        {"from_kwh": "0", "price_per_kwh": "0.40"},
        {"from_kwh": "1000", "price_per_kwh": "0.32"},
    ]
}


async def fleet_under_contract(world: World, terms: dict[str, Any]) -> Account:
    fleet = await create_customer(
        world.runtime, world.clock, "Fleet GmbH", kind=AccountKind.BUSINESS
    )
    record = ContractRecord(
        Contract("FL-9", ContractType.FLEET, date(2026, 1, 1), date(2026, 12, 31)),
        Currency.of("EUR"),
        account_id=fleet.id,
    )
    async with world.runtime.uow() as uow:
        day = date(2025, 12, 20)
        view = await records.create_contract(
            uow, world.clock, "finance", records.ContractDraft(record, terms), day
        )
        await records.sign_contract(uow, world.clock, view.record.id, day, day)
        await uow.commit()
    return fleet


async def sessions(world: World, fleet: Account, count: int) -> None:
    """``count`` sessions of 12.5 kWh in January, each 5.00 net of energy (0.40/kWh)."""
    start = utc("2026-01-05T08:00")
    specs = {
        f"s{n}": ChargeSpec(world.de, fleet, start + timedelta(hours=n), {"Energy": "5.00"})
        for n in range(count)
    }
    await book_charges(world.runtime, world.clock, specs)


def contract_lines(invoice: Invoice) -> list[tuple[str, Decimal]]:
    return [
        (line.description.split(",")[0], line.net) for line in invoice.lines if not line.charge_id
    ]


async def january(world: World, fleet: Account) -> Invoice:
    result = await run_month(world, "2026-01")
    (invoice,) = [i for i in result.issued if i.account_id == fleet.id]
    return invoice


async def books_are_clean(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        assert await check_ledger(uow) == []


async def test_marginal_tiers(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    fleet = await fleet_under_contract(world, {"tiers": {"model": "marginal", **TIERS}})
    await sessions(world, fleet, 120)  # 1,500 kWh charged 600.00
    invoice = await january(world, fleet)
    # 1,000 kWh × 0.40 + 500 kWh × 0.32 = 560.00; charged 600.00: −40.00.
    assert contract_lines(invoice) == [("Volume tiers (marginal)", Decimal("-40.00"))]
    assert invoice.net_total == Decimal("560.00")
    assert invoice.tax_total == Decimal("106.40")  # 19 % of 560.00
    assert invoice.gross_total == Decimal("666.40")
    await books_are_clean(runtime)
    assert await balance_of(runtime, "Income:Charging:Energy") == Decimal("-560.00")


async def test_retroactive_tiers(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    fleet = await fleet_under_contract(world, {"tiers": {"model": "retroactive", **TIERS}})
    await sessions(world, fleet, 120)
    invoice = await january(world, fleet)
    # Past 1,000 kWh every kWh costs 0.32: 1,500 × 0.32 = 480.00; charged 600.00: −120.00.
    assert contract_lines(invoice) == [("Volume tiers (retroactive)", Decimal("-120.00"))]
    assert invoice.net_total == Decimal("480.00")
    assert invoice.gross_total == Decimal("571.20")  # 480.00 + 91.20
    await books_are_clean(runtime)


async def test_a_missed_commitment_and_fees(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    terms = {
        "monthly_commitment": "500.00",
        "fixed_fees": [
            {"basis": "flat", "amount": "25.00", "description": "Fleet service"},
            {"basis": "per_card", "amount": "2.00", "description": "Card fee"},
        ],
    }
    fleet = await fleet_under_contract(world, terms)
    await sessions(world, fleet, 10)  # 50.00 net
    invoice = await january(world, fleet)
    # No cards: no card fee line. Bought 50.00 of a 500.00 commitment: 450.00 shortfall.
    assert contract_lines(invoice) == [
        ("Fleet service (1 × 25.00 EUR)", Decimal("25.00")),
        ("Minimum commitment 500.00 EUR", Decimal("450.00")),
    ]
    assert invoice.net_total == Decimal("525.00")
    assert invoice.gross_total == Decimal("624.75")  # + 19 % = 99.75
    await books_are_clean(runtime)
    assert await balance_of(runtime, "Income:Charging:Fees") == Decimal("-475.00")

    # February: no sessions at all, the commitment and the fee are still owed.
    world.clock.current = utc("2026-03-02T08:00")
    result = await run_month(world, "2026-02")
    (february,) = [i for i in result.issued if i.account_id == fleet.id]
    assert [line.net for line in february.lines] == [Decimal("25.00"), Decimal("500.00")]
    assert february.gross_total == Decimal("624.75")
    again = await run_month(world, "2026-02")
    assert [i for i in again.issued if i.account_id == fleet.id] == []  # once per period
    await books_are_clean(runtime)


async def test_order_contract_and_cost_centre_on_the_e_invoice(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    terms = {"purchase_order": "PO-4711", "cost_centre": "CC-12", "payment_terms_days": 30}
    fleet = await fleet_under_contract(world, terms)
    await sessions(world, fleet, 3)
    invoice = await january(world, fleet)
    assert (invoice.purchase_order, invoice.contract_reference) == ("PO-4711", "FL-9")
    assert {line.cost_centre for line in invoice.lines} == {"CC-12"}
    assert invoice.due_date == date(2026, 3, 4)  # 30 days from 2 February, the contract's
    async with runtime.uow() as uow:
        stored = await uow.billing.get_invoice(invoice.id)
    assert stored is not None
    assert (stored.purchase_order, stored.contract_reference) == ("PO-4711", "FL-9")
    assert stored.lines == invoice.lines  # the cost centres kept
    xml = invoice_xml(invoice).decode()
    assert "<ram:IssuerAssignedID>PO-4711</ram:IssuerAssignedID>" in xml  # BT-13
    assert "<ram:IssuerAssignedID>FL-9</ram:IssuerAssignedID>" in xml  # BT-12
    assert "<ram:ID>CC-12</ram:ID>" in xml  # BT-133
    if schematron.AVAILABLE:
        assert schematron.schematron_failures(xml.encode()) == []


async def test_a_credit_limit_stops_the_cards_until_paid_down(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-01-20T08:00"))
    fleet = await fleet_under_contract(world, {"credit_limit": "100.00"})
    async with runtime.uow() as uow:
        await customers.create_token(
            uow, world.clock, Token(uid="F1EE7001", type=TokenType.RFID, account_id=fleet.id)
        )
        await uow.commit()

    async def authorize() -> AuthorizationStatus:
        async with runtime.uow() as uow:
            answer = await authorize_token(uow, world.clock, "F1EE7001", wallet_floor=D0)
        return answer.status

    await sessions(world, fleet, 16)  # 16 × 5.95 gross = 95.20 owed
    assert await authorize() is AuthorizationStatus.ACCEPTED
    await sessions(world, fleet, 1)  # 101.15 owed: at the limit of 100.00 and beyond
    assert await authorize() is AuthorizationStatus.NO_CREDIT
    world.clock.current = utc("2026-02-02T08:00")
    invoice = await january(world, fleet)  # invoiced: still owed
    assert await authorize() is AuthorizationStatus.NO_CREDIT
    async with runtime.uow() as uow:
        await invoicing.issue_credit_note(
            uow, world.clock, invoice.id, "Goodwill", OPERATOR_TZ, positions=(1, 2)
        )
        await uow.commit()
    assert await authorize() is AuthorizationStatus.ACCEPTED  # 101.15 − 11.90 = 89.25


async def test_a_per_driver_annex_names_each_sessions_card(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    fleet = await fleet_under_contract(world, {"annex": "per_driver"})
    cards = {"F1EE7001": "Van 12 (Ida)", "F1EE7002": ""}
    async with runtime.uow() as uow:
        for uid, label in cards.items():
            token = Token(uid=uid, type=TokenType.RFID, account_id=fleet.id, label=label or None)
            await customers.create_token(uow, world.clock, token)
        await uow.commit()
    booked = await book_charges(
        runtime,
        world.clock,
        {
            f"s{n}": ChargeSpec(world.de, fleet, utc(f"2026-01-0{n + 1}T08:00"), {"Energy": "5.00"})
            for n in range(3)
        },
    )
    async with runtime.uow() as uow:
        for n, charge in enumerate(booked.values()):
            session = await uow.sessions.get(charge.session_id)
            assert session is not None
            tag = "F1EE7001" if n < 2 else "F1EE7002"
            await uow.sessions.update(replace(session, id_tag=tag))
        await uow.commit()
    invoice = await january(world, fleet)
    assert invoice.annex == "per_driver"
    assert [line.driver for line in invoice.lines] == ["Van 12 (Ida)", "Van 12 (Ida)", "F1EE7002"]
    xml = invoice_xml(invoice).decode()
    assert xml.count("<ram:Content>Card: Van 12 (Ida)</ram:Content>") == 2  # BT-127
    if schematron.AVAILABLE:
        assert schematron.schematron_failures(xml.encode()) == []
    pdf = render_pdf(invoice)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Card Van 12 (Ida): 2 sessions" in text
    assert "Card F1EE7002: 1 sessions" in text
