"""A contract prices its account's sessions (issue 14) on SQLite and PostgreSQL: the version
valid on a session's start day is frozen onto it, an amendment mid-period prices the sessions
before and after it under their own versions, a tariff override becomes the session's tariff
snapshot, and a session before the contract starts (or of another account) pays the list
price. Priced with the one pricing function (DESIGN §2)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from chargeledger.bootstrap import Runtime
from chargeledger.domain.billing import DEFAULT_VAT_RATES
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import Session
from chargeledger.domain.contract_records import ContractRecord
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import quotes, tariffs
from chargeledger.services.charging import session_capture, session_pricing
from chargeledger.services.contracts import records
from tests.integration.billing_world import FixedClock
from tests.integration.ocpp_server import seed_network
from tests.integration.test_tariff_assignment import corpus_tariff

RATES = DEFAULT_VAT_RATES


def discount(percent: str) -> dict[str, Any]:
    return {"price_book": {"discount": {"kind": "percent", "value": percent}}}


async def charge(
    runtime: Runtime, station: Station, id_tag: str, start: datetime, kwh: int
) -> Session:
    """A session of ``kwh`` started at ``start`` and stopped an hour later."""
    async with runtime.uow() as uow:
        session = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=1,
                connector_id=1,
                id_tag=id_tag,
                started_at=start,
                meter_start_wh=Decimal(1000),
            ),
        )
        session = await session_capture.stop_session(
            uow,
            runtime.clock,
            session,
            stopped_at=start + timedelta(hours=1),
            meter_stop_wh=Decimal(1000 + kwh * 1000),
            reason="Local",
        )
        await uow.commit()
    return session


async def energy_net(runtime: Runtime, session: Session) -> Decimal:
    async with runtime.uow() as uow:
        priced = await session_pricing.price_captured_session(uow, session, RATES)
    return priced.billed.net


async def test_an_amendment_mid_period_prices_each_session_under_its_own_version(
    runtime: Runtime,
) -> None:
    network = await seed_network(runtime)
    assert network.account is not None
    account = network.account
    id_tag = next(iter(network.tokens))
    station = network.stations["CP16-AC"]
    runtime.clock = FixedClock(datetime(2026, 10, 20, 9, tzinfo=UTC))
    async with runtime.uow() as uow:
        listed = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(
            uow, runtime.clock, listed.id, TariffScope.OPERATOR, None, RATES
        )
        record = ContractRecord(
            Contract("FL-1", ContractType.FLEET, date(2026, 11, 1), date(2027, 10, 31)),
            Currency.of("EUR"),
            account_id=account.id,
        )
        draft = records.ContractDraft(record, discount("10"))
        view = await records.create_contract(
            uow, runtime.clock, "finance", draft, date(2026, 10, 20)
        )
        await records.sign_contract(
            uow, runtime.clock, view.record.id, date(2026, 10, 20), date(2026, 10, 20)
        )
        await uow.commit()
    contract_id = view.record.id

    # Before the contract starts: the list price, 10 kWh × 0.25 = 2.50, no contract version.
    before = await charge(runtime, station, id_tag, datetime(2026, 10, 30, 9, tzinfo=UTC), 10)
    assert before.contract_version_id is None
    assert await energy_net(runtime, before) == Decimal("2.50")

    runtime.clock = FixedClock(datetime(2026, 11, 10, 9, tzinfo=UTC))
    driver = Principal("driver@example.org", Role.DRIVER, account.id)
    async with runtime.uow() as uow:
        quoted = await quotes.quote_station(
            uow,
            runtime.clock,
            driver,
            station.id,
            RATES,
            kwh=Decimal(10),
            charging=timedelta(hours=1),
        )
    assert quoted.billed.net == Decimal("2.25")  # the driver is quoted what they will pay
    first = await charge(runtime, station, id_tag, datetime(2026, 11, 12, 9, tzinfo=UTC), 10)
    async with runtime.uow() as uow:
        await records.amend_contract(
            uow,
            runtime.clock,
            "finance",
            contract_id,
            date(2026, 11, 15),
            "20 % from 15 November",
            discount("20"),
            date(2026, 11, 10),
        )
        await uow.commit()
        versions = await uow.contracts.versions(contract_id)
    v1, v2 = versions[0].id, versions[1].id
    # Priced after the amendment, the session of 12 November keeps version 1: 10 % off.
    assert first.contract_version_id == v1
    assert await energy_net(runtime, first) == Decimal("2.25")  # 10 × 0.225
    runtime.clock = FixedClock(datetime(2026, 11, 16, 12, tzinfo=UTC))
    second = await charge(runtime, station, id_tag, datetime(2026, 11, 16, 9, tzinfo=UTC), 10)
    assert second.contract_version_id == v2
    assert await energy_net(runtime, second) == Decimal("2.00")  # 10 × 0.20
    # A session started on 14 November 23:30 UTC is 15 November in Berlin: version 2.
    late = await charge(runtime, station, id_tag, datetime(2026, 11, 14, 23, 30, tzinfo=UTC), 4)
    assert late.contract_version_id == v2
    assert await energy_net(runtime, late) == Decimal("0.80")  # 4 × 0.20


async def test_a_tariff_override_becomes_the_sessions_tariff_snapshot(runtime: Runtime) -> None:
    network = await seed_network(runtime)
    assert network.account is not None
    id_tag = next(iter(network.tokens))
    runtime.clock = FixedClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    async with runtime.uow() as uow:
        listed = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(
            uow, runtime.clock, listed.id, TariffScope.OPERATOR, None, RATES
        )
        fleet_price = corpus_tariff("simple_025kwh")
        fleet_price["id"] = "FLEET-19"
        for element in fleet_price["elements"]:
            element["price_components"][0]["price"] = Decimal("0.19")
        override = await tariffs.import_tariff(uow, runtime.clock, fleet_price)
        record = ContractRecord(
            Contract("FL-2", ContractType.FLEET, date(2026, 11, 1)),
            Currency.of("EUR"),
            account_id=network.account.id,
        )
        terms = {"price_book": {"tariff_id": str(override.id)}}
        view = await records.create_contract(
            uow, runtime.clock, "finance", records.ContractDraft(record, terms), date(2026, 11, 1)
        )
        await records.sign_contract(
            uow, runtime.clock, view.record.id, date(2026, 11, 1), date(2026, 11, 1)
        )
        await uow.commit()
    station = network.stations["CP201-DC"]
    session = await charge(runtime, station, id_tag, datetime(2026, 11, 2, 9, tzinfo=UTC), 10)
    assert session.tariff_id == override.id
    assert await energy_net(runtime, session) == Decimal("1.90")
    # Another driver's session at the same station pays the list price.
    async with runtime.uow() as uow:
        stranger = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=2,
                connector_id=1,
                id_tag=uuid.uuid4().hex[:8].upper(),
                started_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
                meter_start_wh=Decimal(0),
            ),
        )
        await uow.commit()
    assert stranger.tariff_id != override.id
    assert stranger.contract_version_id is None


async def test_a_discount_for_a_power_class_prices_only_those_connectors(
    runtime: Runtime,
) -> None:
    network = await seed_network(runtime)
    assert network.account is not None
    id_tag = next(iter(network.tokens))
    runtime.clock = FixedClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    async with runtime.uow() as uow:
        listed = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(
            uow, runtime.clock, listed.id, TariffScope.OPERATOR, None, RATES
        )
        record = ContractRecord(
            Contract("FL-3", ContractType.FLEET, date(2026, 11, 1)),
            Currency.of("EUR"),
            account_id=network.account.id,
        )
        terms = {
            "price_book": {"discount": {"kind": "percent", "value": "20"}, "max_power_kw": "50"}
        }
        day = date(2026, 11, 1)
        view = await records.create_contract(
            uow, runtime.clock, "finance", records.ContractDraft(record, terms), day
        )
        await records.sign_contract(uow, runtime.clock, view.record.id, day, day)
        await uow.commit()
    ac = await charge(
        runtime, network.stations["CP16-AC"], id_tag, datetime(2026, 11, 2, 9, tzinfo=UTC), 10
    )
    dc = await charge(
        runtime, network.stations["CP201-DC"], id_tag, datetime(2026, 11, 3, 9, tzinfo=UTC), 10
    )
    assert await energy_net(runtime, ac) == Decimal("2.00")  # 22 kW < 50 kW: 20 % off
    assert await energy_net(runtime, dc) == Decimal("2.50")  # 150 kW: the list price
