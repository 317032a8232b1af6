"""The office's tariffs pages (issue 16) on SQLite and PostgreSQL: the list (search, paging,
CSV), the detail (AFIR display, versions, assignments), the price preview against ``price()``
itself, the assignment form (exactly once, the VAT check) and who may do what.

The test network (``seed_network``): one site in Berlin (Germany, 19 % VAT), its stations and
a driver account. Tariffs: ``TOU-DE`` (0.59 EUR/kWh 17:00-21:00 on weekdays, 0.39 at night,
0.49 else, 19 % stated), two versions of ``FLAT-049`` (0.49/kWh + 0.35 per session), and
``FLAT-7`` stating 7 % (wrong for a German site).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.tariffs import price
from chargeledger.domain.tariffs.assignment import StoredTariff, TariffScope
from chargeledger.domain.tariffs.display import price_display
from chargeledger.domain.tariffs.periods import planned_cdr
from chargeledger.office import tariffs_pages
from chargeledger.services import tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee, time_of_use
from tests.integration.ocpp_server import Network, seed_network
from tests.integration.ocpp_support import LoginAs
from tests.integration.office_world import KEY, OPERATOR_TZ, office_login
from tests.integration.test_office_http import csrf_of

ROW = re.compile(r'data-tariff="([0-9a-f-]{36})"')
FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*>")


def unlabelled(page: httpx.Response) -> list[str]:
    """The form fields a person sees that no ``<label for=…>`` names (hidden ones aside)."""
    missing = []
    for tag in FIELD.findall(page.text):
        if 'type="hidden"' in tag:
            continue
        found = re.search(r'id="([^"]+)"', tag)
        if found is None or f'<label for="{found.group(1)}">' not in page.text:
            missing.append(tag)
    return missing


Tariffs = dict[str, StoredTariff]


@pytest.fixture
async def network(runtime: Runtime) -> Network:
    runtime.settings = dataclasses.replace(runtime.settings, operator_time_zone=OPERATOR_TZ)
    return await seed_network(runtime)


@pytest.fixture
async def stored(runtime: Runtime, network: Network) -> Tariffs:
    wrong_vat = {**flat_with_session_fee(Decimal(7)), "id": "FLAT-7"}
    found: Tariffs = {}
    async with runtime.uow() as uow:
        for name, document in (
            ("tou", time_of_use(Decimal(19))),
            ("flat1", flat_with_session_fee(Decimal(19))),
            ("flat2", flat_with_session_fee(Decimal(19))),
            ("wrong", wrong_vat),
        ):
            found[name] = await tariffs.import_tariff(uow, runtime.clock, document)
        await uow.commit()
    return found


def site_id(network: Network) -> str:
    return str(network.stations["CP16-AC"].site_id)


async def test_list_search_paging_and_csv(
    runtime: Runtime,
    client: httpx.AsyncClient,
    stored: Tariffs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    every = await client.get("/office/tariffs")
    assert every.status_code == 200
    assert unlabelled(every) == []
    ids = {name: str(t.id) for name, t in stored.items()}
    # by OCPI id, versions oldest first
    assert ROW.findall(every.text) == [ids["flat1"], ids["flat2"], ids["wrong"], ids["tou"]]
    searched = await client.get("/office/tariffs", params={"q": "tou"})
    assert ROW.findall(searched.text) == [ids["tou"]]
    nothing = await client.get("/office/tariffs", params={"q": "%"})
    assert nothing.status_code == 200
    assert ROW.findall(nothing.text) == []

    monkeypatch.setattr(tariffs_pages, "PAGE_SIZE", 3)
    first = await client.get("/office/tariffs")
    assert len(ROW.findall(first.text)) == 3
    found = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert found is not None
    second = await client.get(found.group(1).replace("&amp;", "&"))
    assert ROW.findall(second.text) == [ids["tou"]]

    download = await client.get("/office/tariffs", params={"q": "flat", "format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in download.headers["content-disposition"]
    header, *lines = list(csv.reader(io.StringIO(download.text)))
    assert header == list(tariffs_pages.COLUMNS)
    assert [line[:3] for line in lines] == [
        [ids["flat1"], "FLAT-049", "EUR"],
        [ids["flat2"], "FLAT-049", "EUR"],
        [ids["wrong"], "FLAT-7", "EUR"],
    ]
    # times in the operator's zone with their offset
    imported = stored["flat1"].created_at.astimezone(ZoneInfo(OPERATOR_TZ))
    assert lines[0][6] == imported.isoformat(timespec="seconds")


async def test_detail_shows_prices_versions_and_assignments(
    runtime: Runtime, client: httpx.AsyncClient, network: Network, stored: Tariffs
) -> None:
    flat = stored["flat2"]
    async with runtime.uow() as uow:
        await tariffs.assign_tariff(
            uow,
            runtime.clock,
            flat.id,
            TariffScope.SITE,
            site_id(network),
            runtime.settings.vat_rates,
        )
        await uow.commit()
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"/office/tariffs/{flat.id}")
    assert page.status_code == 200
    assert 'id="assign-form"' in page.text
    assert unlabelled(page) == []
    for line in price_display(flat.tariff):
        assert f"<li>{escape(line)}</li>" in page.text
    versions = page.text[page.text.index('id="versions"') :]
    assert str(stored["flat1"].id) in versions
    assert str(flat.id) in versions
    assert str(stored["tou"].id) not in versions
    listed = page.text[page.text.index('id="assignment-list"') :]
    assert f'<tr data-scope="site"><td>site</td><td>{site_id(network)}</td>' in listed
    missing = await client.get(f"/office/tariffs/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "tariff_not_found"


def totals(page: httpx.Response) -> tuple[str, str]:
    excl = re.search(r'id="preview-total-excl">([^<]*)<', page.text)
    incl = re.search(r'id="preview-total-incl">([^<]*)<', page.text)
    assert excl is not None, page.text
    assert incl is not None
    return excl.group(1), incl.group(1)


async def test_the_preview_is_price_of_the_same_cdr(
    runtime: Runtime, client: httpx.AsyncClient, stored: Tariffs, login_as: LoginAs
) -> None:
    tou = stored["tou"]
    await office_login(runtime, client, Role.FINANCE)
    # Monday 2 March 2026, 20:30 in Berlin: the evening peak ends at 21:00 in the middle.
    asked = {"start": "2026-03-02T20:30", "minutes": "60", "kwh": "22", "idle_minutes": "15"}
    page = await client.get(f"/office/tariffs/{tou.id}", params=asked)
    assert page.status_code == 200, page.text
    start = datetime(2026, 3, 2, 20, 30, tzinfo=ZoneInfo(OPERATOR_TZ))
    cdr = planned_cdr(
        tou.tariff,
        start,
        kwh=Decimal(22),
        charging=timedelta(minutes=60),
        idle=timedelta(minutes=15),
        time_zone=OPERATOR_TZ,
    )
    expected = price(cdr, tou.tariff, OPERATOR_TZ)
    excl, incl = totals(page)
    assert Decimal(excl) == expected.total_cost.excl_vat
    assert Decimal(incl) == expected.total_cost.incl_vat
    assert expected.total_cost.excl_vat == Decimal("0.59") * 11 + Decimal("0.49") * 11
    assert page.text.count('class="preview-line"') == len(expected.lines) == 2
    for line in expected.lines:
        assert escape(line.explanation) in page.text
    # the form shows what was asked
    assert 'value="2026-03-02T20:30"' in page.text
    assert 'value="15"' in page.text

    # the REST preview is the same use case
    headers = await login_as(Role.OPERATOR)
    api = await client.get(
        f"/api/v1/tariffs/{tou.id}/preview",
        params={"start": start.isoformat(), "kwh": "22", "minutes": 60, "idle_minutes": 15},
        headers=headers,
    )
    assert api.status_code == 200, api.text
    assert Decimal(api.json()["total_excl_vat"]) == expected.total_cost.excl_vat
    assert len(api.json()["lines"]) == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kwh": "lots"}, "kwh"),
        ({"minutes": "-5"}, "minutes"),
        ({"start": "yesterday"}, "start"),
        ({"start": "9999-12-31T23:59"}, "start"),
        ({"minutes": "0", "kwh": "5"}, "minutes"),
        ({"kwh": "20000"}, "kwh"),
        ({"power_kw": "0"}, "power_kw"),
        ({"idle_minutes": "99999999"}, "idle_minutes"),
    ],
)
async def test_bad_preview_input_shows_the_form_again(
    runtime: Runtime,
    client: httpx.AsyncClient,
    stored: Tariffs,
    fields: dict[str, str],
    field: str,
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    asked = {"start": "2026-03-02T08:00", "minutes": "30", "kwh": "10", **fields}
    page = await client.get(f"/office/tariffs/{stored['tou'].id}", params=asked)
    assert page.status_code == 422, page.text
    assert '<code class="error-code">invalid_preview</code>' in page.text
    assert 'id="preview-form"' in page.text
    assert 'id="preview-totals"' not in page.text
    assert f'name="{field}"' in page.text
    marked = re.search(rf'name="{field}"[^>]*aria-invalid="true"', page.text)
    assert marked is not None, field


def assign_form(page: httpx.Response, scope: str, scope_id: str) -> dict[str, str]:
    key = KEY.search(page.text)
    assert key is not None, page.text
    return {
        "csrf": csrf_of(page),
        "idempotency_key": key.group(1),
        "scope": scope,
        "scope_id": scope_id,
    }


async def assigned_at(runtime: Runtime, scope: TariffScope, scope_id: str) -> uuid.UUID | None:
    async with runtime.uow() as uow:
        return await uow.tariffs.assigned(scope, scope_id)


async def test_assignment_runs_once_on_a_double_submit(
    runtime: Runtime, client: httpx.AsyncClient, network: Network, stored: Tariffs
) -> None:
    flat, tou = stored["flat1"], stored["tou"]
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(f"/office/tariffs/{flat.id}")
    form = assign_form(page, "site", site_id(network))
    first = await client.post(f"/office/tariffs/{flat.id}/assign", data=form)
    assert first.status_code == 303
    assert first.headers["location"].startswith(f"/office/tariffs/{flat.id}?assigned=site")
    assert await assigned_at(runtime, TariffScope.SITE, site_id(network)) == flat.id
    # someone assigns another tariff there; the double click's replay must not undo it
    async with runtime.uow() as uow:
        rates = runtime.settings.vat_rates
        await tariffs.assign_tariff(
            uow, runtime.clock, tou.id, TariffScope.SITE, site_id(network), rates
        )
        await uow.commit()
    again = await client.post(f"/office/tariffs/{flat.id}/assign", data=form)
    assert again.status_code == 303
    assert await assigned_at(runtime, TariffScope.SITE, site_id(network)) == tou.id
    shown = await client.get(first.headers["location"])
    assert 'id="assigned"' in shown.text
    other = await client.post(
        f"/office/tariffs/{flat.id}/assign", data={**form, "scope": "operator", "scope_id": ""}
    )
    assert other.status_code == 422
    assert '<code class="error-code">idempotency_key_reused</code>' in other.text
    assert await assigned_at(runtime, TariffScope.OPERATOR, "default") is None


@pytest.mark.parametrize(
    ("scope", "scope_id", "status", "code"),
    [
        ("site", "SITE", 422, "tariff_vat_mismatch"),
        ("station", "not-an-id", 422, "invalid_scope_id"),
        ("site", str(uuid.UUID(int=7)), 404, "site_not_found"),
        ("galaxy", "", 422, "invalid_scope"),
        ("connector", "x", 422, "invalid_scope_id"),
    ],
)
async def test_refused_assignments_show_the_code_and_assign_nothing(
    runtime: Runtime,
    client: httpx.AsyncClient,
    network: Network,
    stored: Tariffs,
    scope: str,
    scope_id: str,
    status: int,
    code: str,
) -> None:
    wrong = stored["wrong"]
    scope_id = site_id(network) if scope_id == "SITE" else scope_id
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"/office/tariffs/{wrong.id}")
    refused = await client.post(
        f"/office/tariffs/{wrong.id}/assign", data=assign_form(page, scope, scope_id)
    )
    assert refused.status_code == status, refused.text
    assert f'<code class="error-code">{code}</code>' in refused.text
    assert 'id="assign-form"' in refused.text
    async with runtime.uow() as uow:
        assert await uow.tariffs.assignments_of(wrong.id) == []


async def test_csrf_and_roles(
    runtime: Runtime, client: httpx.AsyncClient, network: Network, stored: Tariffs
) -> None:
    flat = stored["flat1"]
    target = f"/office/tariffs/{flat.id}/assign"
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"/office/tariffs/{flat.id}")
    assert 'id="assign-form"' in page.text  # operators assign, as the API lets them
    form = assign_form(page, "site", site_id(network))
    for csrf in (None, "0" * 64):
        forged = {k: v for k, v in form.items() if k != "csrf"}
        if csrf is not None:
            forged["csrf"] = csrf
        refused = await client.post(target, data=forged)
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "csrf_failed"
    for role in (Role.DRIVER, Role.FLEET_MANAGER):
        await office_login(runtime, client, role)
        for path in ("/office/tariffs", f"/office/tariffs/{flat.id}"):
            theirs = await client.get(path)
            assert theirs.status_code == 403
            assert theirs.headers["x-error-code"] == "permission_denied"
        refused = await client.post(target, data={**form, "csrf": csrf_of(theirs)})
        assert refused.status_code == 403
    client.cookies.clear()
    anonymous = await client.get("/office/tariffs")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/office/login"
    assert await assigned_at(runtime, TariffScope.SITE, site_id(network)) is None
