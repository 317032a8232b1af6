"""A case on an invoice pauses its dunning (issue 15), on SQLite and PostgreSQL: the fleet
manager disputes a line, the next dunning run skips the invoice, finance credits the line and
dunning goes on for what is still open."""

from __future__ import annotations

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.conftest import LoginAs
from tests.integration.test_dunning import levels, overdue_world, run_on


async def test_a_disputed_invoice_line_pauses_dunning_until_it_is_credited(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    world, anna, fleet = await overdue_world(runtime)
    manager = await login_as(Role.FLEET_MANAGER, fleet.account_id)
    opened = await client.post(
        "/api/v1/disputes",
        headers=manager,
        json={
            "invoice_id": str(fleet.id),
            "line": 1,
            "reason": "price",
            "description": "this session was priced above our contract",
        },
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["origin"] == "fleet_manager"
    paused = await run_on(world, "2026-02-23")
    assert levels(paused) == {str(anna.id): 1}
    assert paused.disputed == 1
    finance = await login_as(Role.FINANCE)
    resolved = await client.post(
        f"/api/v1/disputes/{case['id']}/resolve",
        headers=finance,
        json={"resolution": "credit_note", "amount": "5.00", "note": "contract price applies"},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["outcome"].startswith("credit_note:")
    history = await client.get(f"/api/v1/invoices/{fleet.id}/dunning", headers=finance)
    assert [e["kind"] for e in history.json()] == ["disputed", "undisputed"]
    resumed = await run_on(world, "2026-02-24")
    assert levels(resumed) == {str(fleet.id): 1}
