"""The driver app's "Wallet & payment" and "Report a problem" in a real browser (Chromium driven
by Playwright) against the real server (uvicorn) on SQLite (issue 16: "pay (stored card, wallet
top-up), receipts and invoices to download, and report a problem on a session").

The world: an operator-wide tariff (OCPI example simple_025kwh, 19 % VAT); last month two
sessions of the driver's account (10 and 20 kWh under 0.40 EUR/kWh + 19 % VAT: 4.76 and 9.52
EUR) invoiced by a run while it was postpaid, so one invoice of 14.28 EUR is open; the account
is prepaid since, with a sandbox Visa stored and 30.00 EUR in its wallet. The driver tops up
with the keyboard only and then with a double tap (each tops up once), pays the open invoice
with the stored card after a confirm step (once), and reports a problem on a session: the case
is opened, and a second report on that session shows the API's refusal with its code. A driver
of a postpaid account sees no wallet.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, Route, async_playwright, expect

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import BillingMode, TokenType
from chargeledger.domain.identity import Role
from tests.conftest import TEST_PASSWORD, LoginAs
from tests.e2e.app_pay_world import api_get, driver_of, prepaid_driver_with_an_open_invoice
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from tests.integration.billing_api import configure_operator
from tests.integration.billing_world import SELLER
from tests.integration.ocpp_server import running_server
from tests.integration.payment_world import add_customer


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def log_in(page: Page, email: str) -> None:
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#view-locate")).to_be_visible()


async def test_a_prepaid_driver_tops_up_pays_an_invoice_and_reports_a_problem(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, tmp_path: Path
) -> None:
    configure_operator(runtime)
    runtime.payments.seller = SELLER
    runtime.payments.time_zone = runtime.settings.operator_time_zone
    finance = await login_as(Role.FINANCE)
    account, sessions, email = await prepaid_driver_with_an_open_invoice(runtime, client, finance)
    postpaid = await add_customer(
        runtime, "Invoice Driver", "04PAYAPP02", TokenType.RFID, BillingMode.POSTPAID
    )
    postpaid_email = await driver_of(runtime, postpaid)
    [invoice] = (
        await api_get(client, "/invoices", finance, account_id=str(account.id), kind="invoice")
    )["items"]
    assert (invoice["status"], invoice["outstanding"]) == ("open", "14.28")

    async def top_ups() -> list[Any]:
        found = await api_get(
            client, "/payments", finance, account_id=str(account.id), purpose="top_up"
        )
        return [p for p in found["items"] if p["status"] == "captured"]

    console: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(
                accept_downloads=True, viewport={"width": 390, "height": 844}
            )
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda message: console.append(message.text))
            keys: list[str] = []  # the Idempotency-Key of every top-up the page sent
            page.on(
                "request",
                lambda request: (
                    keys.append(request.headers.get("idempotency-key", ""))
                    if request.url.endswith("/wallet/top-ups")
                    else None
                ),
            )
            try:
                async with running_server(runtime) as url:
                    base = "http://" + url.removeprefix("ws://").removesuffix("/ocpp")
                    await page.goto(f"{base}/app/")
                    # every field has exactly one label
                    for field in await page.locator("input, select, textarea").all():
                        field_id = await field.get_attribute("id")
                        assert field_id
                        assert await page.locator(f'label[for="{field_id}"]').count() == 1
                    await log_in(page, email)
                    await page.get_by_role("button", name="Wallet & payment").click()
                    await expect(page.locator("#view-wallet")).to_be_visible()
                    await expect(page.locator("#cards li")).to_have_text(
                        ["Visa •••• 4242, expires 12/2030 (default)"]
                    )
                    await expect(page.locator("#wallet-balance")).to_have_text("30.00 EUR")
                    await expect(page.locator("#wallet-minimum")).to_have_text("5.00 EUR")
                    await expect(page.locator("#wallet-history li")).to_have_count(1)

                    # keyboard only: amount, Tab to the card, Tab to the button, Enter
                    amount = page.get_by_label("Top up by (amount)")
                    await amount.focus()
                    await page.keyboard.type("20")
                    await page.keyboard.press("Tab")
                    await expect(page.get_by_label("From card")).to_be_focused()
                    await page.keyboard.press("Tab")
                    await expect(page.get_by_role("button", name="Top up")).to_be_focused()
                    await page.keyboard.press("Enter")
                    await expect(page.locator("#wallet-balance")).to_have_text("50.00 EUR")
                    await expect(page.locator("#status")).to_have_text(
                        "Topped up 20.00 EUR. Your balance is 50.00 EUR."
                    )
                    assert len(await top_ups()) == 2

                    # a double tap tops up once
                    await amount.fill("5,50")
                    await page.get_by_role("button", name="Top up").dblclick()
                    await expect(page.locator("#wallet-balance")).to_have_text("55.50 EUR")
                    await expect(page.locator("#status")).to_have_text(
                        "Topped up 5.50 EUR. Your balance is 55.50 EUR."
                    )
                    await expect(page.locator("#wallet-history li")).to_have_count(3)
                    await expect(page.locator("#wallet-history li").first).to_contain_text(
                        "Top-up · +5.50 EUR"
                    )
                    assert sorted(Decimal(p["captured"]) for p in await top_ups()) == [
                        Decimal("5.50"),
                        Decimal("20.00"),
                        Decimal("30.00"),
                    ]
                    wallet = await api_get(client, f"/accounts/{account.id}/wallet", finance)
                    assert Decimal(wallet["balance"]) == Decimal("55.50")

                    # the answer of a top-up is lost on its way back: the retry sends the same
                    # Idempotency-Key, so the server answers again and tops up nothing more
                    async def lose_the_answer(route: Route) -> None:
                        await route.fetch()  # the server tops up ...
                        await route.abort()  # ... but its answer never arrives

                    await page.route("**/wallet/top-ups", lose_the_answer, times=1)
                    await amount.fill("10")
                    await page.get_by_role("button", name="Top up").click()
                    await expect(page.locator("#status")).to_have_text(
                        "No answer arrived. Try again: a retry never pays twice."
                    )
                    assert len(await top_ups()) == 4
                    await page.get_by_role("button", name="Top up").click()
                    await expect(page.locator("#status")).to_have_text(
                        "Topped up 10.00 EUR. Your balance is 65.50 EUR."
                    )
                    assert len(await top_ups()) == 4
                    # keyboard, double tap (one request), lost answer and its retry (one key)
                    assert len(keys) == 4
                    assert keys[2] == keys[3]
                    assert len(set(keys)) == 3
                    wallet = await api_get(client, f"/accounts/{account.id}/wallet", finance)
                    assert Decimal(wallet["balance"]) == Decimal("65.50")

                    # not a number: said in the status line, nothing sent
                    await amount.fill("lots")
                    await page.get_by_role("button", name="Top up").click()
                    await expect(page.locator("#status")).to_have_text(
                        "Type an amount such as 20 or 20.00."
                    )
                    assert len(await top_ups()) == 4

                    # the open invoice: its PDF, a confirm step, then paid once
                    async with page.expect_download() as download_info:
                        await page.get_by_role(
                            "button", name=f"Invoice {invoice['number']} (PDF)"
                        ).click()
                    saved = tmp_path / (await download_info.value).suggested_filename
                    await (await download_info.value).save_as(saved)
                    assert saved.read_bytes().startswith(b"%PDF")
                    pay = page.get_by_role("button", name=f"Pay invoice {invoice['number']}")
                    await expect(pay).to_have_text("Pay 14.28 EUR")
                    await pay.click()
                    await expect(page.locator("#pay-question")).to_have_text(
                        f"Pay invoice {invoice['number']}: 14.28 EUR with the card below?"
                    )
                    await page.locator("#pay-form").get_by_role("button", name="Cancel").click()
                    await expect(page.locator("#pay-form")).to_be_hidden()
                    await expect(pay).to_be_focused()
                    await page.keyboard.press("Enter")  # again, and Escape cancels too
                    await expect(page.get_by_role("button", name="Confirm payment")).to_be_focused()
                    await page.keyboard.press("Escape")
                    await expect(page.locator("#pay-form")).to_be_hidden()
                    await expect(page.locator("#status")).to_have_text("Payment cancelled.")
                    await pay.click()
                    confirm = page.get_by_role("button", name="Confirm payment")
                    await expect(confirm).to_be_focused()
                    await confirm.dblclick()
                    await expect(page.locator("#status")).to_have_text(
                        f"Invoice {invoice['number']} paid: 14.28 EUR."
                    )
                    await expect(page.locator("#open-invoices li")).to_have_text(
                        ["No open invoices."]
                    )
                    paid = await api_get(client, f"/invoices/{invoice['id']}", finance)
                    assert (paid["status"], paid["outstanding"]) == ("paid", "0.00")
                    payments = await api_get(
                        client, "/payments", finance, account_id=str(account.id), purpose="invoice"
                    )
                    assert [Decimal(p["captured"]) for p in payments["items"]] == [Decimal("14.28")]
                    await page.screenshot(path=str(tmp_path / "driver-app-wallet.png"))

                    # report a problem on the 10 kWh session
                    await page.get_by_role("button", name="My sessions").click()
                    ten = page.locator(f'#sessions li[data-session-id="{sessions[0].id}"]')
                    await ten.get_by_role("button", name="Report a problem").click()
                    await expect(page.locator("#view-problem")).to_be_visible()
                    await expect(page.get_by_label("What is wrong")).to_be_focused()
                    await page.get_by_label("What is wrong").select_option("energy")
                    await page.get_by_label("Tell us more").fill("The car got 6 kWh, not 10.")
                    await page.get_by_role("button", name="Send report").click()
                    number = page.locator("#problem-number")
                    await expect(number).to_contain_text("Case DSP-")
                    await expect(page.locator("#problem-state")).to_contain_text("State: open.")
                    [case] = (
                        await api_get(client, "/disputes", finance, session_id=str(sessions[0].id))
                    )["items"]
                    assert (case["reason"], case["state"], case["origin"]) == (
                        "energy",
                        "open",
                        "driver",
                    )
                    assert case["description"] == "The car got 6 kWh, not 10."
                    await expect(number).to_have_text(f"Case {case['number']}")
                    await expect(page.locator("#status")).to_have_text(
                        f"Your report is case {case['number']}."
                    )

                    # a second report on the same session: the API's refusal, with its code
                    await page.get_by_role("button", name="Back to My sessions").click()
                    await ten.get_by_role("button", name="Report a problem").click()
                    await page.get_by_label("Tell us more").fill("Still wrong.")
                    await page.get_by_role("button", name="Send report").click()
                    await expect(page.locator("#status")).to_have_text(
                        f"dispute {case['number']} about this is still open (dispute_already_open)"
                    )
                    await expect(page.locator("#status")).to_have_class("error")
                    await expect(page.locator("#problem-case")).to_be_hidden()
                    cases = await api_get(
                        client, "/disputes", finance, session_id=str(sessions[0].id)
                    )
                    assert len(cases["items"]) == 1

                    # another driver, of a postpaid account without a card: no wallet, and
                    # nothing of the first driver is left in the page
                    await page.get_by_role("button", name="Log out").click()
                    await log_in(page, postpaid_email)
                    await page.get_by_role("button", name="Wallet & payment").click()
                    await expect(page.locator("#no-wallet")).to_be_visible()
                    await expect(page.locator("#wallet")).to_be_hidden()
                    await expect(page.locator("#cards li")).to_have_text(["No card stored."])
                    await expect(page.locator("#open-invoices li")).to_have_text(
                        ["No open invoices."]
                    )
            finally:
                await page.screenshot(path=str(tmp_path / "driver-app-pay.png"), full_page=True)
        finally:
            await browser.close()
    assert [m for m in console if "Content Security Policy" in m] == []
