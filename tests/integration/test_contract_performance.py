"""Contract performance (issue 14) on SQLite and PostgreSQL: a fleet contract with a 10 %
discount and a 100.00 monthly commitment, its sessions priced through session capture and
pricing, charged and invoiced by the month run; the report's figures computed by hand, read
back from JSON, CSV and XLSX, and served to finance and to the fleet's own manager only."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import cast

import httpx
import openpyxl
import pytest
import typer
from sqlalchemy import insert
from typer.testing import CliRunner

from chargeledger.adapters.db.contract_tables import contract_billings
from chargeledger.adapters.db.unit_of_work import SqlUnitOfWork
from chargeledger.bootstrap import Runtime
from chargeledger.cli.contract_performance import performance_command
from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import DEFAULT_VAT_RATES
from chargeledger.domain.contract_performance import EnergyPrice, PerformanceReport
from chargeledger.domain.contract_records import ContractRecord, Partner, PartnerKind
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import tariffs
from chargeledger.services.billing import charges as billing
from chargeledger.services.billing import invoicing
from chargeledger.services.billing.contract_performance import contract_performance
from chargeledger.services.contracts import records
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.billing_api import error_code
from tests.integration.billing_world import OPERATOR_TZ, SELLER, FixedClock
from tests.integration.ocpp_server import Network, seed_network
from tests.integration.test_contract_pricing import charge
from tests.integration.test_tariff_assignment import corpus_tariff

RATES = DEFAULT_VAT_RATES
FINANCE = Principal(subject="finance", role=Role.FINANCE)
JANUARY, FEBRUARY = date(2026, 1, 1), date(2026, 2, 1)


async def fleet_contract(runtime: Runtime, network: Network) -> uuid.UUID:
    """FL-P for the network's account, 2026, 10 % off the list price, 20.00 a month."""
    assert network.account is not None
    runtime.clock = FixedClock(datetime(2025, 12, 20, 9, tzinfo=UTC))
    async with runtime.uow() as uow:
        listed = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(
            uow, runtime.clock, listed.id, TariffScope.OPERATOR, None, RATES
        )
        record = ContractRecord(
            Contract("FL-P", ContractType.FLEET, date(2026, 1, 1), date(2026, 12, 31)),
            Currency.of("EUR"),
            account_id=network.account.id,
        )
        terms = {
            "price_book": {"discount": {"kind": "percent", "value": "10"}},
            "monthly_commitment": "20.00",
        }
        day = date(2025, 12, 20)
        view = await records.create_contract(
            uow, runtime.clock, "finance", records.ContractDraft(record, terms), day
        )
        await records.sign_contract(uow, runtime.clock, view.record.id, day, day)
        await uow.commit()
    return view.record.id


async def charge_and_invoice(runtime: Runtime, month: str, run_on: datetime) -> None:
    runtime.clock = FixedClock(run_on)
    await billing.charge_completed_sessions(runtime.uow, runtime.clock, RATES, OPERATOR_TZ, SELLER)
    await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, OPERATOR_TZ, month)


async def fleet_world(runtime: Runtime) -> tuple[Network, uuid.UUID]:
    """December: a session before the contract (list price, not the contract's). January:
    20 kWh and 12 kWh, listed 5.00 and 3.00 (0.25/kWh), charged 4.50 and 2.70. February:
    nothing. Both months invoiced by the month run; the runtime's own clock is put back (the
    API's tokens are checked against it)."""
    real_clock = runtime.clock
    network = await seed_network(runtime)
    contract_id = await fleet_contract(runtime, network)
    id_tag = next(iter(network.tokens))
    station = network.stations["CP16-AC"]
    runtime.clock = FixedClock(datetime(2025, 12, 29, 9, tzinfo=UTC))
    await charge(runtime, station, id_tag, datetime(2025, 12, 28, 9, tzinfo=UTC), 10)
    runtime.clock = FixedClock(datetime(2026, 1, 25, 9, tzinfo=UTC))
    await charge(runtime, station, id_tag, datetime(2026, 1, 10, 9, tzinfo=UTC), 20)
    await charge(runtime, station, id_tag, datetime(2026, 1, 20, 9, tzinfo=UTC), 12)
    await charge_and_invoice(runtime, "2026-01", datetime(2026, 2, 2, 8, tzinfo=UTC))
    await charge_and_invoice(runtime, "2026-02", datetime(2026, 3, 2, 8, tzinfo=UTC))
    runtime.clock = real_clock
    return network, contract_id


def figures(report: PerformanceReport) -> list[tuple[object, ...]]:
    return [
        (
            row.label,
            row.sessions,
            row.energy_kwh,
            row.sessions_net,
            row.contract_lines_net,
            row.revenue_net,
            row.discount_given,
            row.commitment,
            row.attainment_percent,
            row.shortfall_billed,
            row.revenue_share_paid,
            row.energy_cost,
            row.margin,
        )
        for row in (*report.rows, report.total)
    ]


D = Decimal
# January: 7.20 charged (4.50 + 2.70) of a 20.00 commitment: 12.80 shortfall, revenue
# 20.00, discount 8.00 − 7.20 = 0.80, attainment 7.20 / 20.00 = 36.0 %; energy 32 × 0.12 =
# 3.84, margin 20.00 − 3.84 = 16.16. February: no session, the 20.00 shortfall is all the
# revenue, energy 0.00, margin 20.00. Total: attainment 7.20 / 40.00 = 18.0 %.
EXPECTED = [
    ("2026-01", 2, D(32), D("7.20"), D("12.80"), D("20.00"), D("0.80"), D("20.00"),
     D("36.0"), D("12.80"), D(0), D("3.84"), D("16.16")),
    ("2026-02", 0, D(0), D(0), D("20.00"), D("20.00"), D(0), D("20.00"),
     D("0.0"), D("20.00"), D(0), D("0.00"), D("20.00")),
    ("total", 2, D(32), D("7.20"), D("32.80"), D("40.00"), D("0.80"), D("40.00"),
     D("18.0"), D("32.80"), D(0), D("3.84"), D("36.16")),
]  # fmt: skip


async def test_a_fleet_contracts_months_against_hand_computed_figures(runtime: Runtime) -> None:
    _, contract_id = await fleet_world(runtime)
    report = await reading(
        runtime.uow,
        contract_performance,
        FINANCE,
        contract_id,
        JANUARY,
        FEBRUARY,
        RATES,
        EnergyPrice(D("0.12")),
    )
    assert report.contract_number == "FL-P"
    assert figures(report) == EXPECTED
    # Without an energy price: the same months, no energy cost and no margin.
    bare = await reading(
        runtime.uow, contract_performance, FINANCE, contract_id, JANUARY, FEBRUARY, RATES, None
    )
    assert [(r.revenue_net, r.energy_cost, r.margin) for r in bare.rows] == [
        (D("20.00"), None, None),
        (D("20.00"), None, None),
    ]


async def test_a_site_hosts_revenue_share_is_read_from_its_settlements(
    runtime: Runtime,
) -> None:
    """The settlements another part writes to ``contract_billings`` (kind revenue_share)
    are what the report says was paid; a month without one paid nothing."""
    network, _ = await fleet_world(runtime)
    async with runtime.uow() as uow:
        station = network.stations["CP16-AC"]
        host = await records.add_partner(uow, runtime.clock, host_partner())
        record = ContractRecord(
            Contract("SH-1", ContractType.SITE_HOST, date(2026, 1, 1)),
            Currency.of("EUR"),
            partner_id=host.id,
        )
        terms = {"revenue_share": {"percent": "15"}}
        day = date(2025, 12, 20)
        view = await records.create_contract(
            uow,
            runtime.clock,
            "finance",
            records.ContractDraft(record, terms, site_ids=[station.site_id]),
            day,
        )
        await records.sign_contract(uow, runtime.clock, view.record.id, day, day)
        # 15 % of January's 7.20 net at the site: 1.08, settled in February.
        connection = cast(SqlUnitOfWork, uow)._connection
        await connection.execute(
            insert(contract_billings).values(
                id=uuid.uuid4(),
                contract_id=view.record.id,
                kind="revenue_share",
                period_start=JANUARY,
                period_end=FEBRUARY,
                invoice_id=None,
                amount=D("1.08"),
                currency="EUR",
                created_at=runtime.clock.now(),
            )
        )
        await uow.commit()
    report = await reading(
        runtime.uow,
        contract_performance,
        FINANCE,
        view.record.id,
        JANUARY,
        FEBRUARY,
        RATES,
        EnergyPrice(D("0.12"), Currency.of("EUR")),
    )
    # January at the host's site: the fleet's two sessions, 7.20 net, 32 kWh (3.84);
    # margin 7.20 − 3.84 − 1.08 = 2.28. No commitment, no contract lines, no discount
    # (a site host's contract prices nothing).
    (january, february) = report.rows
    assert (january.sessions, january.revenue_net, january.revenue_share_paid) == (
        2,
        D("7.20"),
        D("1.08"),
    )
    assert (january.commitment, january.discount_given, january.margin) == (
        None,
        D(0),
        D("2.28"),
    )
    assert (february.sessions, february.revenue_share_paid, february.margin) == (0, D(0), D(0))


def host_partner() -> Partner:
    return Partner(
        kind=PartnerKind.SITE_HOST,
        name="Supermarkt Nord",
        email="host@example.org",
        address=Address("Ring 1", "10115", "Berlin", "DE"),
    )


async def test_served_as_json_csv_and_xlsx_to_whom_it_concerns(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    network, contract_id = await fleet_world(runtime)
    assert isinstance(network.account, Account)
    runtime.settings = replace(runtime.settings, energy_price=EnergyPrice(D("0.12")))
    url = f"/api/v1/contracts/{contract_id}/performance"
    window = {"from": "2026-01", "to": "2026-02"}
    manager = await login_as(Role.FLEET_MANAGER, network.account.id)

    answer = await client.get(url, params=window, headers=manager)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["report"] == "performance"
    january = document["rows"][0]
    assert (january["month"], january["revenue_net"], january["margin"]) == (
        "2026-01",
        "20.00",
        "16.16",
    )
    assert document["totals"][0]["attainment_percent"] == "18"  # 18.0 written exactly

    finance = await login_as(Role.FINANCE)
    as_csv = await client.get(url, params={**window, "format": "csv"}, headers=finance)
    assert as_csv.status_code == 200
    assert "performance-FL-P.csv" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["month"], r["shortfall_billed"], r["discount_given"]) for r in rows] == [
        ("2026-01", "12.80", "0.80"),
        ("2026-02", "20.00", "0.00"),
        ("total", "32.80", "0.80"),
    ]

    as_xlsx = await client.get(url, params={**window, "format": "xlsx"}, headers=finance)
    assert as_xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))["performance"]
    header, *cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    revenue = header.index("revenue net")
    margin = header.index("margin")
    assert [(row[0], D(str(row[revenue])), D(str(row[margin]))) for row in cells] == [
        ("2026-01", D("20.00"), D("16.16")),
        ("2026-02", D("20.00"), D("20.00")),
        ("total", D("40.00"), D("36.16")),
    ]

    # Another fleet's manager: no such contract; a driver: not allowed; a bad month: 422.
    stranger = await login_as(Role.FLEET_MANAGER)
    other = await client.get(url, params=window, headers=stranger)
    assert (other.status_code, error_code(other)) == (404, "contract_not_found")
    driver = await login_as(Role.DRIVER, network.account.id)
    assert (await client.get(url, params=window, headers=driver)).status_code == 403
    bad = await client.get(url, params={"from": "2026-13"}, headers=finance)
    assert (bad.status_code, error_code(bad)) == (422, "invalid_month")
    backwards = await client.get(url, params={"from": "2026-02", "to": "2026-01"}, headers=finance)
    assert (backwards.status_code, error_code(backwards)) == (422, "invalid_period")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the CLI reads its database
async def test_the_cli_prints_and_writes_the_months(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``contracts performance`` as the contracts group will register it, on the test's
    database (the CLI opens its own runtime, so it runs in a thread of its own)."""
    _, contract_id = await fleet_world(runtime)
    group = typer.Typer()
    group.command("performance")(performance_command)
    group.command("other")(lambda: None)  # a group of two: the command is named
    monkeypatch.setenv("CHARGELEDGER_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CHARGELEDGER_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CHARGELEDGER_ENERGY_COST_PER_KWH", "0.12 EUR")
    args = ["performance", str(contract_id), "--from", "2026-01", "--to", "2026-02"]
    runner = CliRunner()

    shown = await asyncio.to_thread(runner.invoke, group, args)
    assert shown.exit_code == 0, shown.output
    assert "Contract FL-P performance" in shown.output
    assert "energy_cost_per_kwh" in shown.output  # the setting was read: margins shown

    target = tmp_path / "fl-p.csv"
    written = await asyncio.to_thread(runner.invoke, group, [*args, "--csv", str(target)])
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["month"], r["revenue_net"], r["margin"]) for r in rows] == [
        ("2026-01", "20.00", "16.16"),
        ("2026-02", "20.00", "20.00"),
        ("total", "40.00", "36.16"),
    ]
    bad = await asyncio.to_thread(runner.invoke, group, [*args[:2], "--from", "January"])
    assert bad.exit_code == 1
