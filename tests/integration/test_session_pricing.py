"""A captured session is priced from its tariff snapshot with the same price() as the quote:
periods cut where the price can change (here 17:00 local), idle time as parking, exported as
an OCPI CDR; a running session has a live cost (issue 4)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from ocpp.v16 import call as call16

from chargeledger.bootstrap import Runtime
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import tariffs
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    LoginAs,
    Station16,
    World,
    connected,
    meter_value,
    open_world,
    sampled,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "ocpi-tariffs"


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as served:
        document = json.loads(
            (CORPUS / "tandemdrive" / "step_size" / "tariff.json").read_text(), parse_float=Decimal
        )
        async with runtime.uow() as uow:
            stored = await tariffs.import_tariff(uow, runtime.clock, document)
            await tariffs.assign_tariff(
                uow,
                runtime.clock,
                stored.id,
                TariffScope.STATION,
                str(served.station_id(CP16)),
                runtime.settings.vat_rates,
            )
            await uow.commit()
        yield served


async def test_a_session_is_priced_like_the_spec_example(world: World) -> None:
    """OCPI 2.2.1 step_size example: 16:55 local (15:55Z in Berlin winter), 10 min charging
    across the 17:00 price change, then 2 min idle: 0.10 + 0.20 + 0.25 parking = 0.55 net.
    The tariff states no VAT (net prices): the German site's 19 % is due, 0.10, so 0.65."""
    async with connected(world.url, Station16) as cp:
        started = await cp.request(
            call16.StartTransaction(
                connector_id=1,
                id_tag=ACTIVE_TAG,
                meter_start=50_000,
                timestamp="2026-11-20T15:55:00Z",
            )
        )
        tx = started.transaction_id
        await cp.request(
            call16.StatusNotification(
                connector_id=1,
                error_code="NoError",
                status="Charging",
                timestamp="2026-11-20T15:55:00Z",
            )
        )
        await cp.request(
            call16.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[meter_value("2026-11-20T16:00:00Z", sampled("51100"))],
            )
        )
        await cp.request(
            call16.StatusNotification(
                connector_id=1,
                error_code="NoError",
                status="SuspendedEV",
                timestamp="2026-11-20T16:05:00Z",
            )
        )
        await cp.request(
            call16.StopTransaction(
                meter_stop=52_000,
                timestamp="2026-11-20T16:07:00Z",
                transaction_id=tx,
                reason="EVDisconnected",
            )
        )

    (session,) = await world.sessions_of(CP16)
    cost = await world.get(f"/sessions/{session['id']}/cost")
    assert cost["live"] is False
    assert cost["status"] == "final"
    assert cost["total_cost"] == {"excl_vat": "0.55", "incl_vat": "0.65"}
    assert (cost["vat"]["category"], Decimal(cost["vat"]["percent"])) == ("S", 19)
    assert cost["total_time_cost"]["excl_vat"] == "0.30"
    assert cost["total_parking_cost"]["excl_vat"] == "0.25"
    assert Decimal(cost["total_energy_kwh"]) == Decimal(2)

    cdr = await world.get(f"/sessions/{session['id']}/cdr")
    starts = [p["start_date_time"] for p in cdr["charging_periods"]]
    assert starts == ["2026-11-20T15:55:00Z", "2026-11-20T16:00:00Z", "2026-11-20T16:05:00Z"]
    energy = sum(
        Decimal(str(d["volume"]))
        for p in cdr["charging_periods"]
        for d in p["dimensions"]
        if d["type"] == "ENERGY"
    )
    assert energy == Decimal(2)
    assert cdr["total_cost"] == {"excl_vat": 0.55, "incl_vat": 0.65}
    assert cdr["tariffs"][0]["id"] == "22"


async def test_a_running_session_has_a_live_cost(world: World) -> None:
    async with connected(world.url, Station16) as cp:
        started = await cp.request(
            call16.StartTransaction(
                connector_id=1,
                id_tag=ACTIVE_TAG,
                meter_start=10_000,
                timestamp="2026-11-20T09:00:00Z",
            )
        )
        await cp.request(
            call16.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[meter_value("2026-11-20T09:30:00Z", sampled("15000"))],
            )
        )
    (session,) = await world.sessions_of(CP16)
    cost = await world.get(f"/sessions/{session['id']}/cost")
    assert cost["live"] is True
    # 30 min charging before 17:00 local at 1.20/h, rounded to the 30-min step: 0.60.
    assert cost["total_cost"]["excl_vat"] == "0.60"
    answer = await world.http.get(f"/api/v1/sessions/{session['id']}/cdr", headers=world.admin)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "session_open"
