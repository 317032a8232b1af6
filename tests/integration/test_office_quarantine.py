"""The office's quarantine review queue (issue 16) on SQLite and PostgreSQL, over real OCPP
1.6 sessions held back by the capture's checks (the sessions of test_review_and_release):

- ``huge``: a zero start with a lifetime stop (0 → 48,213,000 Wh); released with the start
  corrected to 48,202,000 it is 11 kWh: 0.49 × 11 + 0.35 = 5.74 net, 6.83 gross.
- ``backwards``: a register that ran backwards mid-session (1,000,000 → 1,004,000 →
  1,003,000 → 1,008,000 Wh); its start and stop are plausible, so it may go as reported.

The EVSE's 22 kW over 30 minutes allow at most 11,650 Wh (with the meter tolerance).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Role
from tests.integration.ocpp_support import CP16, LoginAs, Station16, World, connected
from tests.integration.office_world import office_login, office_world, release_form, rows
from tests.integration.test_meter_quarantine import session16
from tests.integration.test_office_http import csrf_of

Refs = dict[str, str]
QUEUE = "/office/quarantine"


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async for served in office_world(runtime, client, login_as):
        yield served


@pytest.fixture
async def ids(world: World) -> Refs:
    async with connected(world.url, Station16) as cp:
        refs = {
            "huge": await session16(cp, 0, 48_213_000, (900, 48_206_000)),
            "backwards": await session16(
                cp, 1_000_000, 1_008_000, (600, 1_004_000), (1200, 1_003_000), window=1
            ),
            "fine": await session16(cp, 3_000_000, 3_004_000, window=2),
        }
    by_ref = {s["transaction_ref"]: s["id"] for s in await world.sessions_of(CP16)}
    return {name: by_ref[ref] for name, ref in refs.items()}


async def stored(runtime: Runtime, session_id: str) -> Session:
    async with runtime.uow() as uow:
        found = await uow.sessions.get(uuid.UUID(session_id))
    assert found is not None
    return found


async def release(
    client: httpx.AsyncClient, session_id: str, form: dict[str, str]
) -> httpx.Response:
    return await client.post(f"{QUEUE}/{session_id}/release", data=form)


async def test_the_queue_lists_quarantined_sessions_with_their_reasons(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(QUEUE)
    assert page.status_code == 200
    assert sorted(rows(page)) == sorted([ids["huge"], ids["backwards"]])
    assert "<code>zero_start_lifetime_stop</code>" in page.text
    assert "<code>non_monotonic_register</code>" in page.text
    assert 'type="checkbox" name="confirm" value="yes" required' in page.text
    keys = [release_form(page, ids[name])["idempotency_key"] for name in ("huge", "backwards")]
    assert len(set(keys)) == 2  # one per form
    again = await client.get(QUEUE)
    assert release_form(again, ids["huge"])["idempotency_key"] not in keys  # one per render


async def test_release_as_reported_and_with_corrected_readings(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(QUEUE)
    done = await release(client, ids["backwards"], release_form(page, ids["backwards"]))
    assert done.status_code == 303
    assert done.headers["location"] == f"{QUEUE}?released={ids['backwards']}"
    after = await client.get(done.headers["location"])
    assert 'id="released"' in after.text
    assert rows(after) == [ids["huge"]]
    as_reported = await stored(runtime, ids["backwards"])
    assert as_reported.status is SessionStatus.COMPLETED
    assert as_reported.resolution is not None
    assert as_reported.resolution.note == "checked on site"
    assert as_reported.resolution.corrected_meter_stop_wh is None
    assert as_reported.energy_wh == Decimal(8000)

    form = release_form(after, ids["huge"], corrected_meter_start_wh="48202000")
    corrected = await release(client, ids["huge"], form)
    assert corrected.status_code == 303
    assert rows(await client.get(QUEUE)) == []
    session = await stored(runtime, ids["huge"])
    assert session.status is SessionStatus.COMPLETED
    assert session.energy_wh == Decimal(11_000)
    assert session.meter_start_wh == 0  # the station's reading stays as evidence
    cost = await world.get(f"/sessions/{ids['huge']}/cost")
    assert cost["total_cost"] == {"excl_vat": "5.74", "incl_vat": "6.83"}


async def test_invalid_readings_are_form_errors_and_change_nothing(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    target = ids["backwards"]
    cases = [
        ({"corrected_meter_start_wh": "-5"}, 422, "negative_meter_reading"),
        ({"corrected_meter_stop_wh": "999999999999"}, 422, "energy_above_max_power"),
        ({"corrected_meter_stop_wh": "999000"}, 422, "negative_energy"),
        ({"corrected_meter_stop_wh": "lots"}, 422, "invalid_number"),
        ({"note": " "}, 422, "missing_field"),
        ({"confirm": ""}, 422, "confirmation_required"),
    ]
    for fields, status, code in cases:
        page = await client.get(QUEUE)
        refused = await release(client, target, release_form(page, target, **fields))
        assert refused.status_code == status, (fields, refused.text)
        assert f'<code class="error-code">{code}</code>' in refused.text, fields
        assert 'role="alert"' in refused.text
        assert target in rows(refused)  # the form is shown again, with what was typed
        for value in fields.values():
            assert f'value="{value}"' in refused.text or not value.strip()
        assert (await stored(runtime, target)).status is SessionStatus.QUARANTINED
    fine = await client.get(QUEUE)
    done = await release(
        client, target, release_form(fine, target, corrected_meter_stop_wh="1011650")
    )
    assert done.status_code == 303
    assert (await stored(runtime, target)).energy_wh == Decimal(11_650)


async def test_a_double_submit_releases_once(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(QUEUE)
    form = release_form(page, ids["huge"], corrected_meter_start_wh="48202000")
    first = await release(client, ids["huge"], form)
    released = await stored(runtime, ids["huge"])
    second = await release(client, ids["huge"], form)  # the same form sent again
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    assert await stored(runtime, ids["huge"]) == released  # released once, untouched since
    # the same key with other values is refused; a fresh form for a released session too
    other = await release(client, ids["huge"], {**form, "note": "another reason"})
    assert other.status_code == 422
    assert '<code class="error-code">idempotency_key_reused</code>' in other.text
    fresh = {**form, "idempotency_key": uuid.uuid4().hex}
    late = await release(client, ids["huge"], fresh)
    assert late.status_code == 409
    assert '<code class="error-code">not_quarantined</code>' in late.text
    assert await stored(runtime, ids["huge"]) == released


async def test_csrf_and_roles(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(QUEUE)
    form = release_form(page, ids["huge"], corrected_meter_start_wh="48202000")
    for csrf in (None, "0" * 64):
        forged = {k: v for k, v in form.items() if k != "csrf"}
        if csrf is not None:
            forged["csrf"] = csrf
        refused = await release(client, ids["huge"], forged)
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "csrf_failed"
    assert (await stored(runtime, ids["huge"])).status is SessionStatus.QUARANTINED

    for role in (Role.DRIVER, Role.FLEET_MANAGER):
        await office_login(runtime, client, role)
        their_page = await client.get(QUEUE)
        assert their_page.status_code == 403
        assert their_page.headers["x-error-code"] == "permission_denied"
        # with their own session's CSRF token (the logout form's), the role is what refuses
        refused = await release(client, ids["huge"], {**form, "csrf": csrf_of(their_page)})
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "permission_denied"
    client.cookies.clear()
    anonymous = await release(client, ids["huge"], form)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/office/login"
    assert (await stored(runtime, ids["huge"])).status is SessionStatus.QUARANTINED
