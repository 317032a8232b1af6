"""A served network for the office's page tests (issue 16): real OCPP 1.6 sessions on CP16,
the operator's default tariff, the operator in Berlin (CET in March 2024: +01:00), and an
office login through the real form (cookie and CSRF)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.integration.ocpp_support import LoginAs, World, open_world
from tests.integration.test_meter_quarantine import priced_network
from tests.integration.test_office_http import add_user, csrf_of, log_in

OPERATOR_TZ = "Europe/Berlin"
ROW = re.compile(r'data-session="([0-9a-f-]{36})"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def office_world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    runtime.settings = dataclasses.replace(runtime.settings, operator_time_zone=OPERATOR_TZ)
    async with open_world(runtime, client, login_as) as served:
        await priced_network(runtime)
        yield served


async def office_login(runtime: Runtime, client: httpx.AsyncClient, role: Role) -> None:
    client.cookies.clear()
    response = await log_in(client, await add_user(runtime, role))
    assert response.status_code == 303, response.text


def rows(page: httpx.Response) -> list[str]:
    """The session ids a list page shows, in order."""
    return ROW.findall(page.text)


def release_form(page: httpx.Response, session_id: str, **fields: Any) -> dict[str, str]:
    """The release form of ``session_id`` on the queue page, filled in with ``fields``."""
    start = page.text.index(f'id="s-{session_id}"')
    article = page.text[start : page.text.index("</article>", start)]
    key = KEY.search(article)
    assert key is not None, article
    form = {"csrf": csrf_of(page), "idempotency_key": key.group(1), "confirm": "yes"}
    form |= {"note": "checked on site"}
    return {**form, **{k: str(v) for k, v in fields.items()}}
