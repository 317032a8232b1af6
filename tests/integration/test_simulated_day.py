"""Issue 3's bar, on both back ends: the simulator's stations (OCPP 1.6J and 2.0.1 over real
websockets, with every fault kind) against the real server; every billable session's captured
energy equals the simulator's truth to the Wh, and every data fault is quarantined with its
reason."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import TokenStatus
from chargeledger.domain.catalog import OcppVersion
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.station_link import SessionFilter
from chargeledger.services import catalog, customers
from chargeledger.services.charging.session_review import sweep_stale_sessions
from chargeledger.services.demo_seed import demo_station_password, seed_demo_operator
from chargeledger.sim.model import (
    EvseSpec,
    FaultKind,
    SimulationOptions,
    StationSpec,
    TokenSpec,
)
from chargeledger.sim.runner import run_simulation
from tests.integration.ocpp_server import running_server

ADMIN = Principal(subject="test", role=Role.ADMIN)
EVERY_FAULT = {kind: 0.04 for kind in FaultKind}


async def fleet(runtime: Runtime) -> tuple[list[StationSpec], list[TokenSpec]]:
    await seed_demo_operator(
        runtime.uow,
        runtime.clock,
        runtime.hasher,
        runtime.station_secrets,
        runtime.vat_ids,
        seed=11,
    )
    stations, tokens = [], []
    async with runtime.uow() as uow:
        for station in (await catalog.list_stations(uow, limit=100)).items:
            evses = (await catalog.list_evses(uow, station_id=station.id, limit=10)).items
            stations.append(
                StationSpec(
                    charge_point_id=station.charge_point_id,
                    password=demo_station_password(station.charge_point_id),
                    ocpp_version=OcppVersion(station.ocpp_version),
                    evses=tuple(
                        EvseSpec(
                            e.evse_id, 1, e.connectors[0].max_power_kw, e.connectors[0].power_type
                        )
                        for e in evses
                    ),
                )
            )
        now = runtime.clock.now()
        for token in (await customers.list_tokens(uow, ADMIN, limit=1000)).items:
            if token.status_at(now) is TokenStatus.ACTIVE:
                tokens.append(TokenSpec(token.uid, token.type))
    return stations, tokens


async def test_a_simulated_day_is_captured_exactly(runtime: Runtime) -> None:
    """The stations pace themselves on the server's answers (issue 11 item 21), so however
    busy the machine, every planned session runs and is acknowledged, and the server holds
    exactly the simulator's sessions: none lost, none doubled."""
    stations, tokens = await fleet(runtime)
    options = SimulationOptions(
        seed=5, duration_s=30, hours=12, sessions_per_evse=(2, 3), faults=EVERY_FAULT
    )
    async with running_server(runtime) as url:
        report = await run_simulation(url, stations, tokens, options)
    assert report.failures == {}  # station id -> why it failed
    assert report.sessions_failed == 0
    assert report.sessions_completed == report.sessions_planned == len(report.truth)
    assert report.call_errors == 0
    async with runtime.uow() as uow:
        stored = (await uow.sessions.search(SessionFilter(), limit=10_000, offset=0)).items
        by_id = {s.id: s.charge_point_id for s in (await catalog.list_stations(uow)).items}
    assert Counter(by_id[s.station_id] for s in stored) == Counter(
        t.charge_point_id for t in report.truth
    )
    assert len({(s.station_id, s.transaction_ref) for s in stored}) == len(report.truth)
    async with runtime.uow() as uow:
        closed = await sweep_stale_sessions(uow, runtime.clock, timedelta(minutes=1))
        await uow.commit()  # the sweep leaves the commit to whoever opened the unit of work
    assert all(s.stop_reason == "NoStopReceived" for s in closed)

    station_ids = {s.charge_point_id: None for s in stations}
    async with runtime.uow() as uow:
        for cpid in station_ids:
            found = await uow.stations.get_by_charge_point_id(cpid)
            assert found is not None
            station_ids[cpid] = found.id  # type: ignore[assignment]
        wrong: list[str] = []
        caught: Counter[str] = Counter()
        expected_reasons: Counter[str] = Counter()
        billable = 0
        for truth in report.truth:
            record = truth.to_json_dict()
            label = f"{record['charge_point_id']} {record['transaction_ref']}"
            assert record["transaction_ref"] is not None, label
            session = await uow.sessions.get_by_ref(
                station_ids[record["charge_point_id"]],  # type: ignore[arg-type]
                str(record["transaction_ref"]),
            )
            if session is None:
                wrong.append(f"{label}: not captured")
                continue
            expected = str(record["expected"])
            if expected.startswith("quarantine:"):
                reason = expected.split(":", 1)[1]
                expected_reasons[reason] += 1
                if session.status is SessionStatus.QUARANTINED and reason in {
                    r.value for r in session.quarantine_reasons
                }:
                    caught[reason] += 1
                else:
                    wrong.append(
                        f"{label}: {session.status} {session.quarantine_reasons}, expected {reason}"
                    )
                continue
            billable += 1
            if session.status is not SessionStatus.COMPLETED:
                wrong.append(f"{label}: {session.status} {session.quarantine_reasons}")
            elif session.energy_wh != Decimal(str(record["energy_wh"])):
                wrong.append(f"{label}: {session.energy_wh} Wh, truth {record['energy_wh']} Wh")
    assert wrong == []
    assert billable > 20
    data_faults = {r.value for k in FaultKind if (r := k.quarantine_reason) is not None}
    assert set(expected_reasons) == data_faults
    assert caught == expected_reasons
    transport = Counter(f for t in report.truth for f in t.to_json_dict()["faults"])
    assert {"disconnect", "duplicate", "reorder", "clock_skew"} <= set(transport)
