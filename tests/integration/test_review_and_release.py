"""Quarantined sessions show no price; releases are validated and always priceable (issue 11
items 9 and 10), through real OCPP 1.6 messages and the REST API.

Item 9: ``/cost`` answered 2,070.18 € and −1.29 € for quarantined sessions. A quarantined
session is ``under_review`` with no amount anywhere a driver looks, and no price is negative.
Item 10: corrections were not validated (start −5 accepted; start 0 or stop 999,999,999,999
gave a €307,500,000 session) and a released ``no_stop_received`` session failed to price ("a
CDR needs charging periods"). Corrections now pass the station readings' checks and every
released session is priced and invoiced like any other.

Prices: the operator's default tariff (0.49/kWh + 0.35 per session, Germany's 19 %).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.services.billing import charges as billing
from chargeledger.services.billing import invoicing
from tests.integration.billing_world import OPERATOR_TZ, SELLER
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    LoginAs,
    Station16,
    World,
    connected,
    open_world,
)
from tests.integration.test_meter_quarantine import priced_network, session16

Json = dict[str, Any]
AMOUNTS = ("total_cost", "total_vat", "total_energy_cost", "lines", "currency")


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as served:
        await priced_network(runtime)
        yield served


async def ids_by_ref(world: World) -> dict[str, str]:
    return {s["transaction_ref"]: s["id"] for s in await world.sessions_of(CP16)}


async def test_a_quarantined_session_is_under_review_without_any_amount(
    world: World, login_as: LoginAs
) -> None:
    """The issue's two cases: a zero start with a lifetime stop (48,213 kWh: thousands of
    euros) and a register that ran backwards (−10 kWh: a negative price). Their cost is
    ``under_review`` with no amount, to their driver and to the operator alike; they have no
    CDR; once released with plausible readings, they cost what they should."""
    async with connected(world.url, Station16) as cp:
        huge = await session16(cp, 0, 48_213_000, (900, 48_206_000))
        negative = await session16(cp, 2_000_000, 1_990_000, window=1)
    ids = await ids_by_ref(world)
    driver = await login_as(Role.DRIVER, world.account_id)
    for ref in (huge, negative):
        for who in (driver, world.admin):
            cost: Json = await world.get(f"/sessions/{ids[ref]}/cost", who)
            assert (cost["session_id"], cost["status"], cost["live"]) == (
                ids[ref],
                "under_review",
                False,
            )
            assert not set(AMOUNTS) & set(cost), cost
            assert "review" in cost["message"]
        refused = await world.get(f"/sessions/{ids[ref]}/cdr", status=409)
        assert refused["error"]["code"] == "session_under_review"

    operator = await login_as(Role.OPERATOR)
    await world.post(
        f"/sessions/{ids[huge]}/release",
        {"note": "start from the OCMF record", "corrected_meter_start_wh": "48202000"},
        operator,
    )
    await world.post(
        f"/sessions/{ids[negative]}/release",
        {"note": "stop from the display", "corrected_meter_stop_wh": "2000000"},
        operator,
    )
    # 11 kWh: 5.39 + 0.35 = 5.74 net + 1.09 VAT; nothing delivered: the session fee only.
    expected = {huge: ("5.74", "6.83"), negative: ("0.35", "0.42")}
    for ref, (net, gross) in expected.items():
        cost = await world.get(f"/sessions/{ids[ref]}/cost", driver)
        assert cost["status"] == "final"
        assert cost["total_cost"] == {"excl_vat": net, "incl_vat": gross}


async def test_bad_corrections_are_refused_and_change_nothing(
    world: World, login_as: LoginAs
) -> None:
    """The issue's corrections, checked like station readings (never negative, never
    backwards, no more than the EVSE's 22 kW over the 30 minutes + 5 % + 100 Wh, 11,650 Wh):
    each is a 422 with its stable code and the session stays quarantined, untouched."""
    async with connected(world.url, Station16) as cp:
        held = await session16(cp, 1_000_000, 1_008_000, (600, 1_004_000), (1200, 1_003_000))
    session_id = (await ids_by_ref(world))[held]
    operator = await login_as(Role.OPERATOR)
    before = await world.get(f"/sessions/{session_id}")
    cases = [
        ({"corrected_meter_start_wh": "-5"}, "negative_meter_reading", "corrected_meter_start_wh"),
        ({"corrected_meter_start_wh": "0"}, "zero_start_lifetime_stop", "corrected_meter_start_wh"),
        (
            {"corrected_meter_stop_wh": "999999999999"},
            "energy_above_max_power",
            "corrected_meter_stop_wh",
        ),
        (
            {"corrected_meter_start_wh": "1000000", "corrected_meter_stop_wh": "999000"},
            "negative_energy",
            "corrected_meter_stop_wh",
        ),
    ]
    for correction, code, field in cases:
        body = {"note": "corrected from the station's display", **correction}
        refused = await world.post(f"/sessions/{session_id}/release", body, operator, 422)
        assert (refused["error"]["code"], refused["error"]["field"]) == (code, field), correction
        assert refused["error"]["details"]["max_plausible_wh"] == "11650"
    after = await world.get(f"/sessions/{session_id}")
    assert after == before
    assert (after["status"], after["resolution_note"]) == ("quarantined", None)

    fine = await world.post(
        f"/sessions/{session_id}/release",
        {"note": "stop from the display", "corrected_meter_stop_wh": "1011650"},
        operator,
    )
    assert (fine["status"], Decimal(fine["energy_wh"])) == ("completed", Decimal(11_650))


async def test_released_sessions_without_a_stop_are_priced_and_invoiced(
    world: World, login_as: LoginAs
) -> None:
    """A session whose stop never came and that sent no sample is closed by the sweep at its
    start (``no_stop_received``, no time at all); one that sent samples is closed at the last
    one; a stop for a transaction never started has no tariff snapshot. Released (the first
    with the stop reading from the station's display), each is charged, and the account's
    two are on its March 2024 invoice."""
    async with connected(world.url, Station16) as cp:
        silent = await cp.start_tx(ACTIVE_TAG, 5_000_000, 0)
        sampled = await cp.start_tx(ACTIVE_TAG, 7_000_000, 60, connector=2)
        await cp.registers(sampled, 2, (600, 7_001_000), (1200, 7_002_500))
        await cp.stop_tx(4242, 9_000_000, 3600, reason="Local")  # never started
    assert await world.runtime.sweep_stale_sessions() == 2
    ids = await ids_by_ref(world)
    operator = await login_as(Role.OPERATOR)
    silent_id, sampled_id, unknown_id = ids[str(silent)], ids[str(sampled)], ids["4242"]
    swept = await world.get(f"/sessions/{silent_id}")
    assert swept["quarantine_reasons"] == ["no_stop_received"]
    assert swept["stopped_at"] == swept["started_at"]

    releases = [
        (silent_id, {"corrected_meter_stop_wh": "5000080"}),  # 80 Wh within the allowance
        (sampled_id, {}),
        (unknown_id, {}),
    ]
    for session_id, correction in releases:
        body = {"note": "checked against the station log", **correction}
        released = await world.post(f"/sessions/{session_id}/release", body, operator)
        assert released["status"] == "completed"
    # 0.08 kWh: 0.04 + 0.35 = 0.39 net + 0.07; 2.5 kWh: 1.225 + 0.35 = 1.58 (rounded) + 0.30;
    # the unknown transaction delivered nothing it can show: the session fee, 0.35 + 0.07.
    expected = {
        silent_id: ("0.39", "0.46"),
        sampled_id: ("1.58", "1.88"),
        unknown_id: ("0.35", "0.42"),
    }
    for session_id, (net, gross) in expected.items():
        cost = await world.get(f"/sessions/{session_id}/cost")
        assert cost["total_cost"] == {"excl_vat": net, "incl_vat": gross}, session_id

    runtime = world.runtime
    outcome = await billing.charge_completed_sessions(
        runtime.uow, runtime.clock, runtime.settings.vat_rates, OPERATOR_TZ, SELLER
    )
    assert outcome.unpriced == {}
    charged = {str(c.session_id): c.gross for c in outcome.charged}
    assert charged == {s: Decimal(gross) for s, (_, gross) in expected.items()}
    run = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, OPERATOR_TZ, "2024-03")
    [invoice] = [i for i in run.issued if i.account_id == world.account_id]
    assert sorted(str(line.session_id) for line in invoice.lines) == sorted([silent_id, sampled_id])
    assert invoice.gross_total == Decimal("2.34")  # 1.97 net + 0.37 VAT on the invoice's total
