"""Issue 4, Done when: a session captured from the simulator becomes a priced CDR whose total
equals the quote for the same energy and durations, and whose OCPI CDR JSON round-trips through
the model (DESIGN §2: one pricing function for quote and bill)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import OcppVersion
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.tariffs import parse_cdr, price
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.domain.tariffs.ocpi_json import cdr_to_json
from chargeledger.services import quotes, tariffs
from chargeledger.services.charging import session_pricing
from chargeledger.sim.model import EvseSpec, SimulationOptions, StationSpec, TokenSpec
from chargeledger.sim.runner import run_simulation
from tests.integration.ocpp_server import STATION_PASSWORD, running_server, seed_network

ADMIN = Principal(subject="test", role=Role.ADMIN)
# Energy and an idle fee billed per started minute: the shape of a fast-charger tariff.
TARIFF = {
    "id": "DC-IDLE",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.69"), "vat": Decimal(19), "step_size": 1},
                {
                    "type": "PARKING_TIME",
                    "price": Decimal("6.00"),
                    "vat": Decimal(19),
                    "step_size": 60,
                },
                {"type": "FLAT", "price": Decimal("0.35"), "vat": Decimal(19), "step_size": 1},
            ]
        }
    ],
}


async def test_simulated_sessions_bill_what_the_quote_said(runtime: Runtime) -> None:
    network = await seed_network(runtime)
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, TARIFF)
        await tariffs.assign_tariff(
            uow, runtime.clock, stored.id, TariffScope.OPERATOR, None, runtime.settings.vat_rates
        )
        await uow.commit()
    specs = [
        StationSpec(
            cpid,
            STATION_PASSWORD,
            OcppVersion(station.ocpp_version),
            (EvseSpec(1, 1, Decimal(22)), EvseSpec(2, 1, Decimal(22))),
        )
        for cpid, station in network.stations.items()
    ]
    tokens = [TokenSpec("04AABBCCDD")]
    options = SimulationOptions(seed=3, duration_s=8, hours=6, sessions_per_evse=(1, 2))
    async with running_server(runtime) as url:
        report = await run_simulation(url, specs, tokens, options)
    assert report.sessions_failed == 0

    async with runtime.uow() as uow:
        page = await uow.sessions.search(
            SessionFilter(status=SessionStatus.COMPLETED), limit=100, offset=0
        )
        assert len(page.items) >= 4
        for session in page.items:
            billed = await session_pricing.price_session(
                uow, runtime.clock, ADMIN, session.id, runtime.settings.vat_rates
            )
            result = billed.result
            assert result.total_parking_time > 0 or result.total_parking_cost.excl_vat == 0
            charging = timedelta(hours=float(result.total_time - result.total_parking_time))
            idle = timedelta(hours=float(result.total_parking_time))
            quoted = await quotes.quote_station(
                uow,
                runtime.clock,
                ADMIN,
                session.station_id,
                runtime.settings.vat_rates,
                kwh=result.total_energy,
                charging=charging,
                idle=idle,
                evse_id=session.evse_id,
                starts_at=session.started_at,
            )
            assert quoted.result.ocpi_totals(2) == result.ocpi_totals(2), session.id
            assert result.total_energy * 1000 == session.energy_wh

            document = json.loads(
                json.dumps(cdr_to_json(billed.cdr, result.ocpi_totals(4), "DE"), default=str),
                parse_float=Decimal,
            )
            again = parse_cdr(document)
            assert again.charging_periods == billed.cdr.charging_periods
            assert again.tariffs == billed.cdr.tariffs
            repriced = price(again, again.tariffs[0], billed.time_zone)
            assert repriced.total_cost == result.total_cost
