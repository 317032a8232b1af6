"""Meter data checks through real OCPP messages: every kind of bad meter data our anchors'
users lose money on (issue 3) quarantines the session with exactly its reason, a sound
session is billed as is, and an operator can release or correct a held session.

DESIGN §2: suspicious meter data is quarantined, never billed blindly and never dropped; the
station's own readings stay as evidence next to any correction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import QuarantineReason, SessionStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    LoginAs,
    Station16,
    Station201,
    World,
    at,
    connected,
    meter_value,
    open_world,
    sampled201,
    stored_sessions,
    when,
    wire,
)

Reading = tuple[int, int]  # (seconds after T0, register Wh)


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as served:
        await priced_network(runtime)
        yield served


async def priced_network(runtime: Runtime) -> None:
    """The operator's default tariff (Germany's 19 % stated): a released session is billed."""
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, flat_with_session_fee(Decimal(19)))
        await tariffs.assign_tariff(
            uow, runtime.clock, stored.id, TariffScope.OPERATOR, None, runtime.settings.vat_rates
        )
        await uow.commit()


async def session16(
    cp: Station16, meter_start: int, meter_stop: int, *readings: Reading, window: int = 0
) -> str:
    """A whole 1.6 transaction on connector 1 (OCPP 1.6 §4.8, §4.7, §4.10), 30 minutes long,
    in the ``window``-th hour after T0 (a start at the same time with the same idTag would be
    a retried start); its transaction reference."""
    base = window * 3600
    tx = await cp.start_tx(ACTIVE_TAG, meter_start, base)
    await cp.registers(tx, 1, *((base + s, wh) for s, wh in readings))
    await cp.stop_tx(tx, meter_stop, base + 1800, reason="Local")
    return str(tx)


async def session201(cs: Station201, tx: str, *readings: Reading) -> str:
    """A whole 2.0.1 transaction: Started with the first reading, Updated with the middle ones,
    Ended with the last (Part 2 §E)."""
    (first_s, first_wh), *middle, (last_s, last_wh) = readings
    events = [("Started", first_s, first_wh, "Transaction.Begin")]
    events += [("Updated", s, wh, "Sample.Periodic") for s, wh in middle]
    events.append(("Ended", last_s, last_wh, "Transaction.End"))
    for seq_no, (event_type, seconds, wh, context) in enumerate(events):
        await cs.request(
            call201.TransactionEvent(
                event_type=event_type,
                timestamp=wire(seconds),
                trigger_reason="Authorized" if event_type == "Started" else "MeterValuePeriodic",
                seq_no=seq_no,
                transaction_info={"transactionId": tx},
                meter_value=[meter_value(wire(seconds), sampled201(wh, context=context))],
                evse={"id": 1, "connectorId": 1},
                id_token={"idToken": ACTIVE_TAG, "type": "ISO14443"} if seq_no == 0 else None,
            )
        )
    return tx


async def verdicts(world: World, charge_point_id: str) -> dict[str, tuple[str, list[str]]]:
    return {
        s["transaction_ref"]: (s["status"], s["quarantine_reasons"])
        for s in await world.sessions_of(charge_point_id)
    }


async def test_each_kind_of_bad_meter_data_is_quarantined_with_its_reason(world: World) -> None:
    """One session per check, each failing exactly that check (22 kW AC on CP16-AC, 150 kW DC
    on CP201-DC, 30 minutes each): a register that runs backwards, a zero meterStart with a
    lifetime meterStop, meterStop below meterStart, more energy than the connector's maximum
    power allows; and a sound session that must not be held."""
    async with connected(world.url, Station16) as cp:
        expected16 = {
            await session16(cp, 1_000_000, 1_010_000, (600, 1_004_000), (1200, 1_007_500)): [],
            await session16(
                cp, 1_010_000, 1_018_000, (600, 1_014_000), (1200, 1_013_000), window=1
            ): [QuarantineReason.NON_MONOTONIC_REGISTER],
            await session16(cp, 0, 48_213_000, window=2): [
                QuarantineReason.ZERO_START_LIFETIME_STOP
            ],
            await session16(cp, 2_000_000, 1_990_000, window=3): [QuarantineReason.NEGATIVE_ENERGY],
            await session16(cp, 3_000_000, 3_030_000, window=4): [
                QuarantineReason.ENERGY_ABOVE_MAX_POWER
            ],
        }
    async with connected(world.url, Station201) as cs:
        expected201 = {
            await session201(cs, "OK", (0, 500_000), (900, 530_000), (1800, 560_000)): [],
            await session201(
                cs, "BACKWARDS", (0, 600_000), (600, 620_000), (1200, 610_000), (1800, 640_000)
            ): [QuarantineReason.NON_MONOTONIC_REGISTER],
            await session201(cs, "ZERO", (0, 0), (1800, 73_500_000)): [
                QuarantineReason.ZERO_START_LIFETIME_STOP
            ],
            await session201(cs, "TOO-MUCH", (0, 700_000), (1800, 800_000)): [
                QuarantineReason.ENERGY_ABOVE_MAX_POWER
            ],
        }

    for charge_point_id, expected in ((CP16, expected16), (CP201, expected201)):
        assert await verdicts(world, charge_point_id) == {
            ref: ("quarantined" if reasons else "completed", [r.value for r in reasons])
            for ref, reasons in expected.items()
        }
    stored = await stored_sessions(world.runtime, world.station_id(CP16))
    held = [s for s in stored if s.status is SessionStatus.QUARANTINED]
    assert len(held) == 4
    assert all(s.energy_wh is not None for s in held)  # kept with the readings, not dropped


async def test_a_session_that_never_stops_is_closed_by_the_sweep(world: World) -> None:
    """Issue 3: a session with no stop after the configured time (24 h) is closed by the sweep
    from its last sample: stop time = last sample time, meterStop = last register, flagged
    ``no_stop_received``. A session with recent samples stays open."""
    async with connected(world.url, Station16) as cp:
        old = await cp.start_tx(ACTIVE_TAG, 5_000_000, 0)
        await cp.registers(old, 1, (600, 5_001_000), (1200, 5_002_500))
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        fresh = await cp.request(
            call16.StartTransaction(
                connector_id=2, id_tag=ACTIVE_TAG, meter_start=9_000_000, timestamp=now
            )
        )

    assert await world.runtime.sweep_stale_sessions() == 1
    assert await world.runtime.sweep_stale_sessions() == 0

    sessions = {s["transaction_ref"]: s for s in await world.sessions_of(CP16)}
    swept = await world.get(f"/sessions/{sessions[str(old)]['id']}")
    assert swept["status"] == "quarantined"
    assert swept["quarantine_reasons"] == [QuarantineReason.NO_STOP_RECEIVED.value]
    assert when(swept["stopped_at"]) == at(1200)
    assert Decimal(swept["meter_stop_wh"]) == Decimal(5_002_500)
    assert Decimal(swept["energy_wh"]) == Decimal(2_500)
    assert swept["stop_reason"] == "NoStopReceived"
    assert len(swept["samples"]) == 2
    assert sessions[str(fresh.transaction_id)]["status"] == "active"


async def test_the_real_stop_after_the_sweep_replaces_the_inferred_one(world: World) -> None:
    """A station offline for longer than the sweep waits comes back and replays its
    StopTransaction: the station's own stop reading replaces the one the sweep took from the
    samples, and the session is no longer held for a missing stop."""
    async with connected(world.url, Station16) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, 7_000_000, 0)
        await cp.registers(tx, 1, (600, 7_001_000))
    assert await world.runtime.sweep_stale_sessions() == 1
    async with connected(world.url, Station16) as cp:
        await cp.stop_tx(tx, 7_004_000, 1800, reason="EVDisconnected")

    (session,) = [s for s in await world.sessions_of(CP16) if s["transaction_ref"] == str(tx)]
    assert session["status"] == "completed"
    assert session["quarantine_reasons"] == []
    assert Decimal(session["energy_wh"]) == Decimal(4_000)
    assert when(session["stopped_at"]) == at(1800)
    assert session["stop_reason"] == "EVDisconnected"


async def test_release_as_reported_or_corrected_keeps_the_station_readings(
    world: World, login_as: LoginAs
) -> None:
    """An operator releases a held session with a note, as reported or with corrected
    readings: the session becomes billable (completed) with the corrected energy, while the
    station's own readings and samples stay unchanged as evidence (DESIGN §2)."""
    async with connected(world.url, Station16) as cp:
        backwards = await session16(cp, 1_000_000, 1_008_000, (600, 1_004_000), (1200, 1_003_000))
        zero = await session16(cp, 0, 48_213_000, (900, 48_206_000), window=1)
        sound = await session16(cp, 2_000_000, 2_005_000, window=2)
    ids = {s["transaction_ref"]: s["id"] for s in await world.sessions_of(CP16)}
    operator = await login_as(Role.OPERATOR)

    as_reported = await world.post(
        f"/sessions/{ids[backwards]}/release",
        {"note": "meter firmware reorders readings; total checked on site"},
        operator,
    )
    assert as_reported["status"] == "completed"
    assert Decimal(as_reported["energy_wh"]) == Decimal(8_000)
    assert (
        as_reported["resolution_note"] == "meter firmware reorders readings; total checked on site"
    )
    assert as_reported["resolved_by"]
    assert as_reported["quarantine_reasons"] == [QuarantineReason.NON_MONOTONIC_REGISTER.value]

    corrected = await world.post(
        f"/sessions/{ids[zero]}/release",
        {
            "note": "start reading taken from the OCMF record",
            "corrected_meter_start_wh": "48202000",
        },
        operator,
    )
    assert corrected["status"] == "completed"
    assert Decimal(corrected["energy_wh"]) == Decimal(11_000)
    assert Decimal(corrected["corrected_meter_start_wh"]) == Decimal(48_202_000)
    detail = await world.get(f"/sessions/{ids[zero]}")
    assert Decimal(detail["meter_start_wh"]) == 0
    assert Decimal(detail["meter_stop_wh"]) == Decimal(48_213_000)
    assert [Decimal(s["value"]) for s in detail["samples"]] == [Decimal(48_206_000)]

    (stored,) = [
        s
        for s in await stored_sessions(world.runtime, world.station_id(CP16))
        if s.transaction_ref == zero
    ]
    assert stored.status is SessionStatus.COMPLETED
    assert (stored.meter_start_wh, stored.billed_meter_start_wh) == (
        Decimal(0),
        Decimal(48_202_000),
    )
    assert stored.energy_wh == Decimal(11_000)

    refused = await world.post(f"/sessions/{ids[sound]}/release", {"note": "why"}, operator, 409)
    assert refused["error"]["code"] == "not_quarantined"
    again = await world.post(f"/sessions/{ids[zero]}/release", {"note": "twice"}, operator, 409)
    assert again["error"]["code"] == "not_quarantined"


async def test_release_needs_a_reason_sane_readings_and_the_right_role(
    world: World, login_as: LoginAs
) -> None:
    """A release without a note, or with corrections giving negative energy, is refused with
    422 and a stable code; a driver, even of the session's own account, may not release (403,
    DESIGN §6). The session stays quarantined throughout."""
    async with connected(world.url, Station16) as cp:
        held = await session16(cp, 2_000_000, 1_990_000)
    (session,) = await world.sessions_of(CP16)
    assert session["transaction_ref"] == held
    path = f"/sessions/{session['id']}/release"
    operator = await login_as(Role.OPERATOR)
    driver = await login_as(Role.DRIVER, world.account_id)

    no_note = await world.post(path, {"note": "  "}, operator, status=422)
    assert (no_note["error"]["code"], no_note["error"]["field"]) == ("missing_field", "note")
    negative = await world.post(path, {"note": "as reported"}, operator, status=422)
    assert negative["error"]["code"] == "negative_energy"
    await world.post(path, {"note": "driver says fine"}, driver, status=403)

    detail = await world.get(f"/sessions/{session['id']}")
    assert (detail["status"], detail["resolution_note"]) == ("quarantined", None)
    assert [s["transaction_ref"] for s in (await world.get("/sessions", driver))["items"]] == [held]
