"""The office's dunning page (issue 16) on SQLite and PostgreSQL, over ``test_dunning``'s
world: January invoiced on 2 February 2026 (11.90 EUR, due 16 February) for a consumer (Anna)
and a business (Fleet GmbH), both reminded at level 1 on 23 February (Fleet's notice claims
the EUR 40 compensation and 0.02 interest). The page is read on 25 February; finance pauses
Anna's dunning and waives Fleet's claim, each by a form sent twice (done once), and runs the
notices due on 9 March (Fleet's level 2 only: Anna's is paused)."""

from __future__ import annotations

import csv
import io
import uuid

import httpx

from chargeledger.adapters.clock import SystemClock
from chargeledger.bootstrap import Runtime
from chargeledger.domain.dunning import DunningEventKind
from chargeledger.domain.identity import Role
from chargeledger.services.ports import Clock
from tests.integration.billing_world import utc
from tests.integration.office_world import KEY, office_login
from tests.integration.test_dunning import overdue_world, run_on
from tests.integration.test_office_http import csrf_of

LIST = "/office/dunning"
SYSTEM_CLOCK = SystemClock()


def standing(page: httpx.Response, invoice_id: uuid.UUID) -> str:
    start = page.text.index(f'<tr data-invoice="{invoice_id}"')
    return page.text[start : page.text.index("</tr>", start)]


def form_of(page: httpx.Response, form_id: str, **fields: str) -> dict[str, str]:
    start = page.text.index(f'id="{form_id}"')
    form = page.text[start : page.text.index("</form>", start)]
    key = KEY.search(form)
    assert key is not None, form
    return {"csrf": csrf_of(page), "idempotency_key": key.group(1), **fields}


async def login_then_fix_clock(
    runtime: Runtime, client: httpx.AsyncClient, role: Role, clock: Clock
) -> None:
    """Log in on the real clock (JWTs use real time), then run the pages on ``clock``."""
    runtime.clock = SYSTEM_CLOCK
    await office_login(runtime, client, role)
    runtime.clock = clock


async def history(runtime: Runtime, invoice_id: uuid.UUID) -> list[tuple[str, int | None]]:
    async with runtime.uow() as uow:
        events = (await uow.dunning.history([invoice_id]))[invoice_id]
    return [(e.kind.value, e.level) for e in events]


async def test_overdue_invoices_their_steps_and_finance_actions_done_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world, anna, fleet = await overdue_world(runtime)
    await run_on(world, "2026-02-23")
    world.clock.current = utc("2026-02-25T09:00")
    await login_then_fix_clock(runtime, client, Role.OPERATOR, world.clock)

    page = await client.get(LIST)
    assert page.status_code == 200
    assert '<a href="/office/dunning" aria-current="page">Dunning</a>' in page.text
    row = standing(page, anna.id)
    assert f'href="/office/invoices/{anna.id}"' in row
    assert 'data-paused="no"' in row
    assert "level 1 Payment reminder on 2026-02-23" in row
    assert "level 2 Second reminder from 2026-03-09" in row
    assert '<td class="num">9</td>' in row  # days overdue
    assert 'id="run-form"' not in page.text  # operators read; finance acts
    assert f'id="pause-{anna.id}"' not in page.text
    download = await client.get(f"{LIST}?format=csv")
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][:3] == ["Invoice", "Number", "Buyer"]
    by_id = {line[0]: line for line in lines[1:]}
    assert set(by_id) == {str(anna.id), str(fleet.id)}
    assert by_id[str(fleet.id)][5:11] == [
        "11.90",
        "EUR",
        "1 Payment reminder",
        "2026-02-23",
        "2 Second reminder",
        "2026-03-09",
    ]
    denied = await client.post(
        f"{LIST}/{anna.id}/pause",
        data={"csrf": csrf_of(page), "idempotency_key": "k", "confirm": "yes"},
    )
    assert (denied.status_code, denied.headers["x-error-code"]) == (403, "permission_denied")

    await login_then_fix_clock(runtime, client, Role.FINANCE, world.clock)
    page = await client.get(LIST)
    unconfirmed = await client.post(
        f"{LIST}/{anna.id}/pause", data=form_of(page, f"pause-{anna.id}", note="x")
    )
    assert unconfirmed.status_code == 422
    assert '<code class="error-code">confirmation_required</code>' in unconfirmed.text
    pause = form_of(unconfirmed, f"pause-{anna.id}", note="says she paid", confirm="yes")
    first = await client.post(f"{LIST}/{anna.id}/pause", data=pause)
    second = await client.post(f"{LIST}/{anna.id}/pause", data=pause)  # a double click
    assert (first.status_code, second.status_code) == (303, 303), second.text
    after = await client.get(first.headers["location"])
    assert 'id="notice"' in after.text
    assert 'data-paused="yes"' in standing(after, anna.id)
    assert f'id="resume-{anna.id}"' in after.text
    assert await history(runtime, anna.id) == [("notice", 1), ("disputed", None)]

    waive_url = f"{LIST}/{fleet.id}/waive"
    silent = await client.post(
        waive_url, data=form_of(after, f"waive-{fleet.id}", level="1", note="", confirm="yes")
    )
    assert silent.status_code == 422
    assert '<code class="error-code">invalid_note</code>' in silent.text
    waive = form_of(silent, f"waive-{fleet.id}", level="1", note="goodwill", confirm="yes")
    assert (await client.post(waive_url, data=waive)).status_code == 303
    assert (await client.post(waive_url, data=waive)).status_code == 303
    waived = await client.get(LIST)
    assert f'id="waive-{fleet.id}"' not in waived.text
    assert await history(runtime, fleet.id) == [("notice", 1), ("waived", 1)]

    world.clock.current = utc("2026-03-09T09:00")
    run = form_of(await client.get(LIST), "run-form", confirm="yes")
    assert (await client.post(f"{LIST}/run", data=run)).status_code == 303
    assert (await client.post(f"{LIST}/run", data=run)).status_code == 303
    fleet_kinds = await history(runtime, fleet.id)
    assert fleet_kinds.count((DunningEventKind.NOTICE.value, 2)) == 1
    assert ("notice", 2) not in await history(runtime, anna.id)  # paused
    bad = await client.post(f"{LIST}/{anna.id}/shout", data={**pause, "idempotency_key": "n"})
    assert bad.status_code == 422
    assert '<code class="error-code">invalid_action</code>' in bad.text
