"""Tariff versions are stored exactly, assigned by scope, and the tariff valid at a session's
start is frozen onto it (issue 4; DESIGN §2: a tariff change never re-prices a session)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import Session
from chargeledger.domain.tariffs import tariff_to_json
from chargeledger.domain.tariffs.assignment import TariffScope, connector_scope_id
from chargeledger.services import session_capture, tariffs
from tests.integration.ocpp_server import Network, seed_network

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "ocpi-tariffs"


def corpus_tariff(name: str) -> Any:
    return json.loads(
        (CORPUS / "tandemdrive" / name / "tariff.json").read_text(), parse_float=Decimal
    )


async def test_a_tariff_version_round_trips_exactly(runtime: Runtime) -> None:
    document = corpus_tariff("complex")
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, document)
    async with runtime.uow() as uow:
        again = await tariffs.get_tariff(uow, stored.id)
    assert again.tariff == stored.tariff
    assert json.loads(
        json.dumps(tariff_to_json(again.tariff), default=str), parse_float=Decimal
    ) == json.loads(json.dumps(document, default=str), parse_float=Decimal)


@pytest.fixture
async def network(runtime: Runtime) -> Network:
    return await seed_network(runtime)


async def start(runtime: Runtime, station: Station, evse_id: int, at: datetime) -> Session:
    async with runtime.uow() as uow:
        session = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=evse_id,
                connector_id=1,
                id_tag="04AABBCCDD",
                started_at=at,
                meter_start_wh=Decimal(1000),
            ),
        )
        await uow.commit()
    return session


async def test_the_most_specific_assignment_is_frozen_at_session_start(
    runtime: Runtime, network: Network
) -> None:
    station, other = network.stations["CP16-AC"], network.stations["CP201-DC"]
    async with runtime.uow() as uow:
        default = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        station_tariff = await tariffs.import_tariff(
            uow, runtime.clock, corpus_tariff("simple_2hour")
        )
        connector_tariff = await tariffs.import_tariff(
            uow, runtime.clock, corpus_tariff("025kwh_start")
        )
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    first = await start(runtime, station, 1, at)
    assert first.tariff_id is None  # nothing assigned yet: no tariff, not a guess

    async with runtime.uow() as uow:
        await tariffs.assign_tariff(uow, runtime.clock, default.id, TariffScope.OPERATOR, None)
        await tariffs.assign_tariff(
            uow, runtime.clock, station_tariff.id, TariffScope.STATION, str(station.id)
        )
        await tariffs.assign_tariff(
            uow,
            runtime.clock,
            connector_tariff.id,
            TariffScope.CONNECTOR,
            connector_scope_id(station.id, 2, 1),
        )
    on_evse_1 = await start(runtime, station, 1, datetime(2026, 11, 20, 10, tzinfo=UTC))
    on_evse_2 = await start(runtime, station, 2, datetime(2026, 11, 20, 10, tzinfo=UTC))
    elsewhere = await start(runtime, other, 1, datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert on_evse_1.tariff_id == station_tariff.id
    assert on_evse_2.tariff_id == connector_tariff.id
    assert elsewhere.tariff_id == default.id

    # A new version assigned later does not touch the session that already started.
    async with runtime.uow() as uow:
        newer = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(
            uow, runtime.clock, newer.id, TariffScope.STATION, str(station.id)
        )
        kept = await uow.sessions.get(on_evse_1.id)
    assert kept is not None
    assert kept.tariff_id == station_tariff.id


async def test_a_session_of_no_known_account_gets_the_ad_hoc_tariff(
    runtime: Runtime, network: Network
) -> None:
    """EU AFIR: card or QR payers (no account of ours) pay the ad hoc price of the site."""
    station = network.stations["CP16-AC"]
    async with runtime.uow() as uow:
        regular = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        ad_hoc = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("025kwh_start"))
        await tariffs.assign_tariff(
            uow, runtime.clock, regular.id, TariffScope.STATION, str(station.id)
        )
        await tariffs.assign_tariff(
            uow, runtime.clock, ad_hoc.id, TariffScope.AD_HOC, str(station.site_id)
        )
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    async with runtime.uow() as uow:
        card = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=1,
                connector_id=1,
                id_tag="TERMINAL-42",
                started_at=at,
                meter_start_wh=Decimal(0),
            ),
        )
        await uow.commit()
    known = await start(runtime, station, 2, at)
    assert card.tariff_id == ad_hoc.id
    assert known.tariff_id == regular.id
