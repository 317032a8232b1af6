"""Contracts benchmark (issue 14): what pricing and billing under contracts costs, next to the
same work for accounts under no contract, measured in the same run on fresh SQLite databases.

Two databases get the same network (one site, 10 stations × 2 EVSEs), the same tariff and the
same N postpaid accounts with a card each; in the second, every account is under its own fleet
contract (a 10 % discount book, marginal volume tiers, a monthly commitment and a per-card
fee). Timed, per database:

1. capture: a StartTransaction and a StopTransaction per session (``session_capture``: the
   contract version is looked up and frozen at the start), one transaction per session;
2. charge: every completed session priced (the discount applied to its tariff) and booked
   (``charge_completed_sessions``);
3. invoice run: the month's invoices (tier, fee and shortfall lines for the contracts).

The rates are printed side by side with the overhead of contracts in percent.

Usage: python bench/contracts.py [--accounts 500] [--sessions-per-account 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings, sqlite_url
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType
from chargeledger.domain.billing import DEFAULT_VAT_RATES
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
    Station,
)
from chargeledger.domain.contract_records import ContractRecord
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import Party
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import catalog, customers, tariffs
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.billing.invoicing import run_invoices
from chargeledger.services.charging import session_capture
from chargeledger.services.contracts import records

ZONE = "Europe/Berlin"
RATES = DEFAULT_VAT_RATES
SELLER = Party("Bench Ladenetz GmbH", "Ring 1", "10115", "Berlin", "DE", vat_id="DE136695976")
TARIFF = (
    Path(__file__).resolve().parents[2]
    / "shared/conformance/ocpi-tariffs/tandemdrive/simple_025kwh/tariff.json"
)
TERMS: dict[str, Any] = {
    "price_book": {"discount": {"kind": "percent", "value": "10"}},
    "tiers": {
        "model": "marginal",
        "bands": [
            {"from_kwh": "0", "price_per_kwh": "0.24"},
            {"from_kwh": "50", "price_per_kwh": "0.20"},
        ],
    },
    "monthly_commitment": "100.00",
    "fixed_fees": [{"basis": "per_card", "amount": "1.50", "description": "Card"}],
}
START = datetime(2026, 11, 2, 8, tzinfo=UTC)


class FixedClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 1, 7, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


async def network(runtime: Runtime) -> list[Station]:
    clock, station_secrets = runtime.clock, runtime.station_secrets
    stations = []
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name="Bench depot",
                address=Address("Ring 1", "10115", "Berlin", "DE"),
                latitude=Decimal("52.5"),
                longitude=Decimal("13.4"),
                time_zone=ZONE,
            ),
        )
        for n in range(10):
            fields = {
                "site_id": site.id,
                "charge_point_id": f"BENCH-{n:02d}",
                "vendor": "Bench",
                "model": "B1",
                "ocpp_version": "1.6",
                "security_profile": 1,
            }
            station = await catalog.create_station(uow, clock, station_secrets, fields, "x" * 24)
            stations.append(station)
            for evse_id in (1, 2):
                connector = Connector(
                    1,
                    ConnectorStandard.IEC_62196_T2,
                    ConnectorFormat.SOCKET,
                    PowerType.AC_3_PHASE,
                    Decimal(22),
                )
                await catalog.create_evse(
                    uow,
                    clock,
                    Evse(station_id=station.id, evse_id=evse_id, connectors=(connector,)),
                )
        document = json.loads(TARIFF.read_text(), parse_float=Decimal)
        for element in document["elements"]:
            for component in element["price_components"]:
                component["vat"] = Decimal(19)
        stored = await tariffs.import_tariff(uow, clock, document)
        await tariffs.assign_tariff(uow, clock, stored.id, TariffScope.OPERATOR, None, RATES)
        await uow.commit()
    return stations


async def drivers(runtime: Runtime, count: int, contracts: bool) -> list[str]:
    """``count`` postpaid business accounts with a card each; under contract if asked."""
    tags = []
    async with runtime.uow() as uow:
        for n in range(count):
            account = await customers.create_account(
                uow,
                runtime.clock,
                runtime.vat_ids,
                Account(
                    kind=AccountKind.BUSINESS,
                    name=f"Fleet {n:05d}",
                    email=f"fleet{n}@example.org",
                    billing_address=Address("Ring 2", "10115", "Berlin", "DE"),
                    currency=Currency.of("EUR"),
                ),
            )
            tag = f"B{n:09d}"
            token = Token(uid=tag, type=TokenType.RFID, account_id=account.id)
            await customers.create_token(uow, runtime.clock, token)
            tags.append(tag)
            if contracts:
                record = ContractRecord(
                    Contract(f"FL-{n:05d}", ContractType.FLEET, date(2026, 11, 1)),
                    Currency.of("EUR"),
                    account_id=account.id,
                )
                draft = records.ContractDraft(record, TERMS)
                day = date(2026, 11, 1)
                await records.create_contract(uow, runtime.clock, "bench", draft, day)
                await records.sign_contract(uow, runtime.clock, record.id, day, day)
        await uow.commit()
    return tags


async def capture(runtime: Runtime, stations: list[Station], tags: list[str], per: int) -> int:
    done = 0
    for round_ in range(per):
        for index, tag in enumerate(tags):
            station = stations[index % len(stations)]
            start = START + timedelta(days=round_, minutes=index)
            async with runtime.uow() as uow:
                session = await session_capture.start_session(
                    uow,
                    runtime.clock,
                    station,
                    session_capture.StartRequest(
                        evse_id=1 + index % 2,
                        connector_id=1,
                        id_tag=tag,
                        started_at=start,
                        meter_start_wh=Decimal(0),
                    ),
                )
                await session_capture.stop_session(
                    uow,
                    runtime.clock,
                    session,
                    stopped_at=start + timedelta(minutes=50),
                    meter_stop_wh=Decimal(18_000),
                    reason="Local",
                )
                await uow.commit()
            done += 1
    return done


async def bench(label: str, contracts: bool, args: argparse.Namespace) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="chargeledger-bench-"))
    settings = Settings(data_dir=folder, database_url=sqlite_url(folder / "bench.sqlite3"))
    clock = FixedClock()
    runtime = build_runtime(
        settings, hasher=Argon2PasswordHasher(time_cost=1, memory_cost=1024), clock=clock
    )
    rates: dict[str, float] = {}
    try:
        await runtime.migrate()
        stations = await network(runtime)
        tags = await drivers(runtime, args.accounts, contracts)
        clock.current = START
        started = time.perf_counter()
        sessions = await capture(runtime, stations, tags, args.sessions_per_account)
        rates["capture"] = sessions / (time.perf_counter() - started)
        clock.current = datetime(2026, 12, 1, 6, tzinfo=UTC)
        started = time.perf_counter()
        charged = await charge_completed_sessions(runtime.uow, clock, RATES, ZONE)
        rates["charge"] = len(charged.charged) / (time.perf_counter() - started)
        started = time.perf_counter()
        month = await run_invoices(runtime.uow, clock, SELLER, ZONE, "2026-11", rates=RATES)
        rates["invoice"] = len(month.issued) / (time.perf_counter() - started)
        extra = sum(1 for i in month.issued for line in i.lines if line.charge_id is None)
        print(
            f"{label:<22} capture {rates['capture']:8.1f} sessions/s   charge "
            f"{rates['charge']:8.1f} sessions/s   invoice run {rates['invoice']:8.1f} "
            f"invoices/s   ({sessions} sessions, {len(month.issued)} invoices, "
            f"{extra} contract lines)"
        )
    finally:
        await runtime.aclose()
    return rates


async def main(args: argparse.Namespace) -> None:
    plain = await bench("no contracts", False, args)
    under = await bench("every account under one", True, args)
    for phase in ("capture", "charge", "invoice"):
        overhead = 100 * (plain[phase] / under[phase] - 1)
        print(f"  {phase:<8} contracts cost {overhead:6.1f} % more time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--sessions-per-account", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
