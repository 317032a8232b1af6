"""An OEM bundle's pre-paid allowance (issue 14) on SQLite and PostgreSQL: the car maker is
invoiced once for it and the money waits as deferred revenue; its buyers' sessions draw it
until it is used up, each draw releasing its share of the deferred revenue as charging revenue;
the session beyond the allowance is billed to the driver; the books stay clean."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.billing import DEFAULT_VAT_RATES
from chargeledger.domain.catalog import Station
from chargeledger.domain.contract_records import ContractRecord
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ledger import contract_liability
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import tariffs
from chargeledger.services.billing import allowances
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.billing.invoicing import run_invoices
from chargeledger.services.billing.ledger import check_ledger
from chargeledger.services.contracts import records
from tests.conftest import make_account
from tests.integration.billing_world import OPERATOR_TZ, SELLER, FixedClock, balance_of
from tests.integration.ocpp_server import seed_network
from tests.integration.test_contract_pricing import charge
from tests.integration.test_tariff_assignment import corpus_tariff

RATES = DEFAULT_VAT_RATES
TERMS = {"allowance": {"unit": "kwh", "amount": "15", "price": "3.00"}}


async def session(runtime: Runtime, station: Station, id_tag: str, start: datetime) -> None:
    """10 kWh in an hour, postpaid, under the bundle's version."""
    started = await charge(runtime, station, id_tag, start, 10)
    assert started.payment_route is PaymentRoute.INVOICE
    assert started.contract_version_id is not None


async def test_an_allowance_sold_then_drawn_to_the_end(runtime: Runtime) -> None:
    network = await seed_network(runtime)
    assert network.account is not None
    driver, id_tag = network.account, next(iter(network.tokens))
    maker = await make_account(runtime, "Auto Werke AG", AccountKind.BUSINESS)
    runtime.clock = clock = FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    async with runtime.uow() as uow:
        listed = await tariffs.import_tariff(uow, clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(uow, clock, listed.id, TariffScope.OPERATOR, None, RATES)
        record = ContractRecord(
            Contract("OEM-1", ContractType.OEM_BUNDLE, date(2026, 11, 1), date(2028, 10, 31)),
            Currency.of("EUR"),
            account_id=maker.id,
        )
        draft = records.ContractDraft(record, TERMS, account_ids=[driver.id])
        view = await records.create_contract(uow, clock, "finance", draft, date(2026, 11, 2))
        await records.sign_contract(uow, clock, record.id, date(2026, 11, 2), date(2026, 11, 2))
        await uow.commit()
    assert view.account_ids == (driver.id,)  # the drivers, not the car maker

    async with runtime.uow() as uow:
        sold = await allowances.sell_allowance(uow, clock, SELLER, OPERATOR_TZ, RATES, record.id)
        await uow.commit()
    async with runtime.uow() as uow:
        again = await allowances.sell_allowance(uow, clock, SELLER, OPERATOR_TZ, RATES, record.id)
        await uow.commit()
    assert again.id == sold.id  # sold once
    assert sold.account_id == maker.id
    assert (sold.net_total, sold.tax_total, sold.gross_total) == (
        Decimal("3.00"),
        Decimal("0.57"),  # 19 % of 3.00
        Decimal("3.57"),
    )
    deferred = contract_liability(record.id)
    assert await balance_of(runtime, deferred) == Decimal("-3.00")

    station = network.stations["CP16-AC"]
    await session(runtime, station, id_tag, datetime(2026, 11, 3, 9, tzinfo=UTC))
    await session(runtime, station, id_tag, datetime(2026, 11, 4, 9, tzinfo=UTC))
    charged = await charge_completed_sessions(runtime.uow, clock, RATES, OPERATOR_TZ)
    first, second = sorted(charged.charged, key=lambda c: c.started_at)
    # First 10 kWh: all covered, 10/15 of 3.00 = 2.00 released. Second: 5 kWh covered
    # (1.00 released, the allowance's last), 5 kWh beyond at 0.25 = 1.25 billed to the driver.
    assert (first.net, second.net) == (Decimal("0.00"), Decimal("1.25"))
    assert await balance_of(runtime, deferred) == Decimal("0.00")
    assert await balance_of(runtime, "Income:Charging:Energy") == Decimal("-4.25")
    async with runtime.uow() as uow:
        assert await uow.contracts.drawn(record.id) == Decimal("15")

    clock.current = datetime(2026, 12, 1, 8, tzinfo=UTC)
    month = await run_invoices(runtime.uow, clock, SELLER, OPERATOR_TZ, "2026-11")
    (invoice,) = [i for i in month.issued if i.account_id == driver.id]
    assert invoice.net_total == Decimal("1.25")
    async with runtime.uow() as uow:
        assert await check_ledger(uow) == []


async def test_two_sales_at_once_invoice_the_allowance_once(runtime: Runtime) -> None:
    maker = await make_account(runtime, "Auto Werke AG", AccountKind.BUSINESS)
    runtime.clock = clock = FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    record = ContractRecord(
        Contract("OEM-2", ContractType.OEM_BUNDLE, date(2026, 11, 1), date(2028, 10, 31)),
        Currency.of("EUR"),
        account_id=maker.id,
    )
    async with runtime.uow() as uow:
        draft = records.ContractDraft(record, TERMS)
        await records.create_contract(uow, clock, "finance", draft, date(2026, 11, 2))
        await records.sign_contract(uow, clock, record.id, date(2026, 11, 2), date(2026, 11, 2))
        await uow.commit()

    async def sell() -> Invoice:
        async with runtime.uow() as uow:
            sold = await allowances.sell_allowance(
                uow, clock, SELLER, OPERATOR_TZ, RATES, record.id
            )
            await uow.commit()
        return sold

    first, second = await asyncio.gather(sell(), sell())
    assert first.id == second.id
    assert await balance_of(runtime, contract_liability(record.id)) == Decimal("-3.00")
