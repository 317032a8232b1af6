"""The office's payments pages and refunds (issue 16) on SQLite and PostgreSQL, over the
captured app-card session of ``refund_world`` (47.06 captured through the sandbox PSP, its
receipt issued): the list's filters, CSV and roles, the detail page, and a refund through the
page in two steps, exactly once (a double submit and two tabs refund once), refused above what
is left with the use case's code, and only for finance and admin (``WriteBilling``).
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.payments import Payment, PaymentMethodKind, PaymentPurpose
from chargeledger.money import Currency
from tests.conftest import LoginAs
from tests.integration.office_world import KEY, office_login
from tests.integration.refund_world import CAPTURED, Captured, captured_session, refunds_of
from tests.integration.test_office_http import csrf_of

LIST = "/office/payments"
ROW = re.compile(r'data-payment="([0-9a-f-]{36})"')


@pytest.fixture
async def captured(runtime: Runtime) -> Captured:
    runtime.settings = dataclasses.replace(runtime.settings, operator_time_zone="Europe/Berlin")
    return await captured_session(runtime)


def rows(page: httpx.Response) -> list[str]:
    return ROW.findall(page.text)


def cells(page: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(page.text)))


async def test_the_list_filters_pages_and_downloads_as_csv(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    await office_login(runtime, client, Role.OPERATOR)  # ReadBilling: operators read
    paid = str(captured.payment.id)
    everything = await client.get(LIST)
    assert everything.status_code == 200, everything.text
    assert rows(everything) == [paid]
    assert f'href="/office/sessions/{captured.payment.session_id}"' in everything.text
    found = {
        "status": ("captured", "refunded"),
        "method": ("app", "wallet"),
        "gateway": ("sandbox", "wallet"),
        "account": (str(captured.payment.account_id), "8d1e9b8e-0d7c-4f5e-9a55-2b1b8c7f0e11"),
        "q": (captured.provider_ref, "no-such-reference"),
        "refunded": ("", "yes"),
    }
    for field, (matching, other) in found.items():
        assert rows(await client.get(LIST, params={field: matching})) == [paid], field
        assert rows(await client.get(LIST, params={field: other})) == [], field
    assert rows(await client.get(LIST, params={"q": paid})) == [paid]
    created = captured.payment.created_at
    assert created is not None
    day = created.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    assert rows(await client.get(LIST, params={"from": day, "to": day})) == [paid]
    assert rows(await client.get(LIST, params={"to": "2020-01-01"})) == []
    for field, wrong in (("status", "lost"), ("gateway", "paypal"), ("from", "May 1")):
        bad = await client.get(LIST, params={field: wrong})
        assert bad.status_code == 422, field
        assert "<code>invalid_filter</code>" in bad.text
    assert (await client.get(LIST, params={"account": "anna"})).status_code == 422
    download = await client.get(LIST, params={"method": "app", "format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in download.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(download.text)))
    assert table[0][:2] == ["Payment", "Created"]
    [line] = table[1:]
    assert (line[0], line[5], line[7], line[9]) == (paid, "captured", "47.06", "47.06")


async def test_the_detail_page_links_what_it_paid(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    url = f"{LIST}/{captured.payment.id}"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    assert f'href="/office/sessions/{captured.payment.session_id}"' in page.text
    assert f'href="/office/invoices/{captured.receipt.id}"' in page.text
    assert 'id="refundable">47.06 EUR<' in page.text
    assert "<td>captured</td>" in page.text
    assert 'id="refund-form"' not in page.text  # operators do not refund
    missing = await client.get(f"{LIST}/8d1e9b8e-0d7c-4f5e-9a55-2b1b8c7f0e11")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "payment_not_found"
    assert (await client.get(f"{LIST}/not-an-id")).status_code == 422
    form = {"csrf": csrf_of(page), "idempotency_key": "k1", "reason": "x", "confirm": "yes"}
    refused = await client.post(f"{url}/refund", data=form)
    assert refused.status_code == 403
    assert refused.headers["x-error-code"] == "permission_denied"
    await office_login(runtime, client, Role.DRIVER)
    assert (await client.get(url)).status_code == 403


async def test_a_refund_through_the_page_happens_once(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    await office_login(runtime, client, Role.FINANCE)
    url = f"{LIST}/{captured.payment.id}"
    page = await client.get(url)
    assert 'id="refund-form"' in page.text
    key = KEY.search(page.text)
    assert key is not None
    form = {"csrf": csrf_of(page), "idempotency_key": key.group(1)}
    form |= {"amount": "10.00", "reason": "goodwill"}
    asked = await client.post(f"{url}/refund", data=form)
    assert asked.status_code == 200, asked.text
    assert 'id="refund-confirm"' in asked.text
    assert "47.06 EUR left to refund" in asked.text
    assert (await refunds_of(runtime, captured)).events == []  # asking is not refunding
    confirm = {**form, "confirm": "yes"}
    first = await client.post(f"{url}/refund", data=confirm)
    assert first.status_code == 303, first.text
    assert first.headers["location"] == f"{url}?refunded=1"
    again = await client.post(f"{url}/refund", data=confirm)  # a double submit
    assert again.status_code == 303
    done = await client.get(first.headers["location"])
    assert 'id="refund-done"' in done.text
    assert 'id="refundable">37.06 EUR<' in done.text
    found = await refunds_of(runtime, captured)
    assert found.events == found.at_psp == [Decimal("10.00")]
    assert [n.gross_total for n in found.credit_notes] == [Decimal("10.00")]
    # Two tabs of one form, sent at the same moment: one refund.
    key = KEY.search(done.text)
    assert key is not None
    tabs = {**confirm, "idempotency_key": key.group(1), "amount": "5.00"}
    answers = await asyncio.gather(*(client.post(f"{url}/refund", data=tabs) for _ in range(2)))
    assert {a.status_code for a in answers} <= {303, 409}, [a.text for a in answers]
    assert 303 in {a.status_code for a in answers}
    found = await refunds_of(runtime, captured)
    assert found.events == [Decimal("10.00"), Decimal("5.00")]
    assert found.state.refunded == Decimal("15.00") < CAPTURED


async def test_a_refund_above_what_is_left_is_refused_with_its_code(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    await office_login(runtime, client, Role.ADMIN)
    url = f"{LIST}/{captured.payment.id}"
    page = await client.get(url)
    key = KEY.search(page.text)
    assert key is not None
    form = {"csrf": csrf_of(page), "idempotency_key": key.group(1), "confirm": "yes"}
    too_much = await client.post(f"{url}/refund", data={**form, "amount": "47.07", "reason": "x"})
    assert too_much.status_code == 422, too_much.text
    assert '<code class="error-code">invalid_refund_amount</code>' in too_much.text
    assert "at most 47.06 EUR" in too_much.text
    assert 'aria-invalid="true"' in too_much.text
    for amount, reason, code in (("ten", "x", "invalid_refund_amount"), ("1", "", "missing_field")):
        fresh = KEY.search(too_much.text)
        assert fresh is not None
        data = {**form, "idempotency_key": fresh.group(1), "amount": amount, "reason": reason}
        bad = await client.post(f"{url}/refund", data={**data, "confirm": ""})
        assert bad.status_code == 422, bad.text
        assert f'<code class="error-code">{code}</code>' in bad.text
    forged = await client.post(f"{url}/refund", data={**form, "csrf": "0" * 64, "reason": "x"})
    assert forged.status_code == 403
    assert forged.headers["x-error-code"] == "csrf_failed"
    assert (await refunds_of(runtime, captured)).events == []


async def test_the_rest_list_takes_the_same_filters(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured, login_as: LoginAs
) -> None:
    finance = await login_as(Role.FINANCE)
    url = "/api/v1/payments"
    paid = str(captured.payment.id)

    async def ids(**params: str) -> list[str]:
        answer = await client.get(url, params=params, headers=finance)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert await ids(reference=captured.provider_ref, gateway="sandbox") == [paid]
    assert await ids(status="captured") == [paid]
    assert await ids(status="refunded") == await ids(refunded="true") == []
    assert await ids(to="2020-01-01T00:00:00Z") == []


async def test_the_list_is_paged_by_fifty_also_when_filtered_on_the_state(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    """54 pending top-ups besides the captured payment: 50 and 4 on two pages of pending
    ones (a state the service folds from the events), 50 and 5 unfiltered."""
    async with runtime.uow() as uow:
        for _ in range(54):
            pending = Payment(
                purpose=PaymentPurpose.TOP_UP,
                method=PaymentMethodKind.APP,
                gateway="sandbox",
                currency=Currency.of("EUR"),
                account_id=captured.payment.account_id,
            )
            await uow.payments.add(pending, runtime.clock.now())
        await uow.commit()
    await office_login(runtime, client, Role.FINANCE)
    for params, total in (({"status": "pending"}, 54), ({}, 55)):
        first = await client.get(LIST, params=params)
        assert len(rows(first)) == 50
        link = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert link is not None
        second = await client.get(link.group(1).replace("&amp;", "&"))
        assert len(rows(second)) == total - 50
        assert not set(rows(first)) & set(rows(second))
        assert 'rel="next"' not in second.text
        shown = rows(first) + rows(second)
        assert (str(captured.payment.id) in shown) is (not params)  # captured, not pending
    csv_rows = cells(await client.get(LIST, params={"status": "pending", "format": "csv"}))
    assert len(csv_rows) == 55
