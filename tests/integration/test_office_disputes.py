"""The office's dispute pages (issue 16) on SQLite and PostgreSQL, over a driver's case on
their captured 80 kWh app-card session (47.06 gross, ``refund_world``): the list with its
filters and CSV, the case page with its history, subject and evidence pack, the review, and a
refund resolved through the two-step form — sent twice, refunded once."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.conftest import LoginAs
from tests.integration.office_world import KEY, office_login
from tests.integration.refund_world import Captured, captured_session
from tests.integration.test_office_http import csrf_of

LIST = "/office/disputes"
ROW = re.compile(r'data-dispute="([0-9a-f-]{36})"')
CODE = re.compile(
    r'<code id="error-code">([a-z_]+)</code>|<code(?: class="error-code")?>([a-z_]+)</code>'
)


async def opened(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> tuple[Captured, dict[str, object]]:
    captured = await captured_session(runtime)
    driver = await login_as(Role.DRIVER, captured.payment.account_id)
    photo = base64.b64encode(b"\x89PNG not really").decode()
    response = await client.post(
        "/api/v1/disputes",
        headers=driver,
        json={
            "session_id": str(captured.payment.session_id),
            "reason": "energy",
            "description": "I was charged for 80 kWh but my car shows 40",
            "amount": "23.53",
            "attachment": {"name": "dash.png", "media_type": "image/png", "content_base64": photo},
        },
    )
    assert response.status_code == 201, response.text
    return captured, response.json()


def codes(page: httpx.Response) -> set[str]:
    return {a or b for a, b in CODE.findall(page.text)}


def form_of(page: httpx.Response, form_id: str) -> dict[str, str]:
    """The hidden fields (CSRF, idempotency key, …) of the form ``form_id``."""
    start = page.text.index(f'id="{form_id}"')
    form = page.text[start : page.text.index("</form>", start)]
    key = KEY.search(form)
    assert key is not None, form
    fields = dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    return {**fields, "csrf": csrf_of(page), "idempotency_key": key.group(1)}


async def test_the_list_filters_downloads_and_leads_to_the_case(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured, case = await opened(runtime, client, login_as)
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(LIST)
    assert page.status_code == 200
    assert ROW.findall(page.text) == [case["id"]]
    assert '<a href="/office/disputes" aria-current="page">Disputes</a>' in page.text
    zone = ZoneInfo(runtime.settings.operator_time_zone)
    due = datetime.fromisoformat(str(case["respond_by"])).astimezone(zone).date()
    shown = {
        "state=open": 1,
        "state=open_cases": 1,
        "state=resolved": 0,
        "kind=energy": 1,
        "kind=price": 0,
        f"due={due}": 1,
        f"due={due - timedelta(days=1)}": 0,
    }
    for query, count in shown.items():
        filtered = await client.get(f"{LIST}?{query}")
        assert (filtered.status_code, len(ROW.findall(filtered.text))) == (200, count), query
    for bad in ("state=lost_at_sea", "kind=weather", "due=tomorrow"):
        refused = await client.get(f"{LIST}?{bad}")
        assert refused.status_code == 422, bad
        assert "invalid_filter" in codes(refused), refused.text

    download = await client.get(f"{LIST}?kind=energy&format=csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][:3] == ["Case", "Number", "State"]
    assert [(r[0], r[1], r[2], r[7]) for r in lines[1:]] == [
        (case["id"], "DSP-000001", "open", "23.53")
    ]

    detail = await client.get(f"{LIST}/{case['id']}")
    assert detail.status_code == 200
    assert f'href="/office/sessions/{captured.payment.session_id}"' in detail.text
    assert [e for e in re.findall(r'data-event="([a-z_]+)"', detail.text)] == [
        "opened",
        "attachment",
    ]
    assert 'id="review-form"' in detail.text
    assert 'id="resolve-form"' not in detail.text  # operators take cases up, finance resolves
    pdf = await client.get(f"{LIST}/{case['id']}/evidence.pdf")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    pack = await client.get(f"{LIST}/{case['id']}/evidence.zip")
    assert (pack.status_code, pack.content[:2]) == (200, b"PK")
    attachment = re.search(r'href="(/office/disputes/[^"]+/attachments/[^"]+)"', detail.text)
    assert attachment is not None
    photo = await client.get(attachment.group(1))
    assert (photo.status_code, photo.content) == (200, b"\x89PNG not really")

    missing = await client.get(f"{LIST}/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.headers["x-error-code"]) == (404, "dispute_not_found")


async def test_roles_and_the_review_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    _, case = await opened(runtime, client, login_as)
    await office_login(runtime, client, Role.DRIVER)
    assert (await client.get(LIST)).status_code == 403
    await office_login(runtime, client, Role.OPERATOR)
    detail = await client.get(f"{LIST}/{case['id']}")
    form = form_of(detail, "review-form")
    denied = await client.post(
        f"{LIST}/{case['id']}/resolve", data={**form, "resolution": "refund", "confirm": "yes"}
    )
    assert (denied.status_code, denied.headers["x-error-code"]) == (403, "permission_denied")
    forged = await client.post(f"{LIST}/{case['id']}/review", data={**form, "csrf": "forged"})
    assert (forged.status_code, forged.headers["x-error-code"]) == (403, "csrf_failed")
    first = await client.post(f"{LIST}/{case['id']}/review", data=form)
    again = await client.post(f"{LIST}/{case['id']}/review", data=form)  # a double click
    assert (first.status_code, again.status_code) == (303, 303)
    after = await client.get(first.headers["location"])
    assert 'id="notice"' in after.text
    assert '<dd id="case-state">under_review</dd>' in after.text
    events = re.findall(r'data-event="([a-z_]+)"', after.text)
    assert events.count("review_started") == 1


async def test_a_refund_resolved_twice_through_the_page_refunds_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured, case = await opened(runtime, client, login_as)
    await office_login(runtime, client, Role.FINANCE)
    url = f"{LIST}/{case['id']}/resolve"
    detail = await client.get(f"{LIST}/{case['id']}")
    form = form_of(detail, "resolve-form")

    bad_inputs = [
        ({"resolution": "rejected", "note": ""}, "rejection_reason_missing"),
        ({"resolution": "refund", "amount": "-1"}, "invalid_number"),
        ({"resolution": "refund", "amount": "1.234"}, "invalid_number"),
        ({"resolution": "shrug"}, "invalid_resolution"),
        ({"resolution": "reprice", "tariff_id": "cheap"}, "invalid_tariff_id"),
    ]
    for fields, code in bad_inputs:
        refused = await client.post(url, data={**form, "note": "", **fields})
        assert refused.status_code == 422, (fields, refused.text)
        assert code in codes(refused), (code, refused.text)

    ask = await client.post(url, data={**form, "resolution": "refund", "amount": "23.53"})
    assert ask.status_code == 200
    assert 'id="resolve-confirm"' in ask.text
    assert "refund 23.53 EUR" in ask.text
    confirm = form_of(ask, "resolve-confirm")
    assert confirm["idempotency_key"] == form["idempotency_key"]
    assert confirm["confirm"] == "yes"
    first = await client.post(url, data=confirm)
    second = await client.post(url, data=confirm)  # the same form sent again
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert first.headers["location"] == second.headers["location"]
    resolved = await client.get(first.headers["location"])
    assert '<dd id="case-state">resolved</dd>' in resolved.text
    assert 'id="resolve-form"' not in resolved.text

    finance = await login_as(Role.FINANCE)
    payment = await client.get(f"/api/v1/payments/{captured.payment.id}", headers=finance)
    assert Decimal(payment.json()["refunded"]) == Decimal("23.53"), payment.text

    fresh = await client.post(url, data={**confirm, "idempotency_key": "another-form"})
    assert fresh.status_code == 409
    assert "dispute_closed" in codes(fresh)
