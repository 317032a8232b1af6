"""The back office in a real browser (Chromium driven by Playwright) against the real server
(uvicorn) on SQLite (issue 16): a finance user logs in with the keyboard only, sees the
overview and its charts; the chart's ``data-series`` holds the world's figures. An operator
releases a quarantined session with a corrected reading and downloads the sessions CSV.
Finance starts an invoice run and watches its progress, issues a credit note and downloads an
invoice's PDF.

The world: two charges of the billing world's builders, 5 and 2 days ago (operator time zone
UTC, the default): 10.00 and 5.50 EUR net, 12.5 kWh each.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.services.billing.invoice_runs import INVOICE_RUNS
from tests.conftest import TEST_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WAIT_MS
from tests.integration.billing_api import configure_operator, embedded_xml
from tests.integration.billing_world import ChargeSpec, book_charges, create_customer, new_world
from tests.integration.ocpp_server import running_server
from tests.integration.ocpp_support import CP16, LoginAs, Station16, connected, open_world
from tests.integration.test_meter_quarantine import priced_network, session16
from tests.integration.test_office_http import add_user


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_office_in_a_real_browser(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    at_ten = datetime.combine(today, time(10), UTC)
    world = await new_world(runtime, datetime.now(UTC))
    anna = await create_customer(runtime, world.clock, "Anna Becker")
    await book_charges(
        runtime,
        world.clock,
        {
            "five": ChargeSpec(world.de, anna, at_ten - timedelta(days=5), {"Energy": "10.00"}),
            "two": ChargeSpec(world.de, anna, at_ten - timedelta(days=2), {"Energy": "5.50"}),
        },
    )
    email = await add_user(runtime, Role.FINANCE)
    expected = {
        (today - timedelta(days=5)).isoformat(): "10.00",
        (today - timedelta(days=2)).isoformat(): "5.50",
    }

    async with running_server(runtime) as url, async_playwright() as playwright:
        base = "http://" + url.removeprefix("ws://").removesuffix("/ocpp")
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        console: list[str] = []
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda message: console.append(message.text))
            try:
                # not logged in: the login page
                await page.goto(f"{base}/office")
                await expect(page).to_have_url(f"{base}/office/login")
                # every input the user sees has a label
                for field in await page.locator("input:not([type=hidden])").all():
                    field_id = await field.get_attribute("id")
                    assert field_id
                    assert await page.locator(f'label[for="{field_id}"]').count() == 1
                await expect(page.get_by_label("User name (e-mail)")).to_be_focused()
                # keyboard only: type, Tab, type, Enter
                await page.keyboard.type(email)
                await page.keyboard.press("Tab")
                await expect(page.get_by_label("Password")).to_be_focused()
                await page.keyboard.type(TEST_PASSWORD)
                await page.keyboard.press("Enter")
                await expect(page).to_have_url(f"{base}/office")
                await expect(page.locator("h1")).to_have_text("Overview")
                await expect(page.locator(".who")).to_have_text("finance")

                chart = page.locator("#chart-revenue-by-day")
                await expect(chart.locator("figcaption")).to_contain_text("Net revenue by day")
                series = json.loads(await chart.get_attribute("data-series") or "{}")
                assert series["unit"] == "EUR"
                assert len(series["points"]) == 30
                assert {day: net for day, net in series["points"] if net != "0.00"} == expected
                kwh = json.loads(
                    await page.locator("#chart-kwh-by-day").get_attribute("data-series") or "{}"
                )
                assert sum(float(v) for _, v in kwh["points"]) == 25.0
                titles = chart.locator("svg rect title")
                await expect(titles).to_have_count(30)
                await expect(chart.locator("table.visually-hidden tr")).to_have_count(31)
                await page.screenshot(path=SCREENSHOTS / "office-overview.png", full_page=True)

                # log out (a form post with its CSRF token): back to the login page
                await page.get_by_role("button", name="Log out").click()
                await expect(page).to_have_url(f"{base}/office/login")
                await page.goto(f"{base}/office")
                await expect(page).to_have_url(f"{base}/office/login")
            finally:
                await page.screenshot(path=str(tmp_path / "office.png"), full_page=True)
        finally:
            await browser.close()
    assert [m for m in console if "Content Security Policy" in m] == []


async def log_in(page: Page, base: str, email: str) -> None:
    """The login form filled and sent with the mouse; the overview is where it lands."""
    await page.goto(f"{base}/office/login")
    await page.get_by_label("User name (e-mail)").fill(email)
    await page.get_by_label("Password").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{base}/office")


async def test_a_quarantine_release_and_the_sessions_csv_in_a_real_browser(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, tmp_path: Path
) -> None:
    """Two sessions over real OCPP 1.6 (tests/integration/test_office_quarantine.py): a zero
    start with a lifetime stop (quarantined) and an ordinary 4 kWh one. The operator releases
    the first with its start corrected to 48,202,000 Wh (11 kWh), sees it leave the queue,
    then downloads the CSV of the completed sessions: both, 11 and 4 kWh."""
    email = await add_user(runtime, Role.OPERATOR)
    async with open_world(runtime, client, login_as) as world, async_playwright() as playwright:
        await priced_network(runtime)
        async with connected(world.url, Station16) as cp:
            huge = await session16(cp, 0, 48_213_000, (900, 48_206_000))
            fine = await session16(cp, 3_000_000, 3_004_000, window=1)
        ids = {s["transaction_ref"]: s["id"] for s in await world.sessions_of(CP16)}
        base = "http://" + world.url.removeprefix("ws://").removesuffix("/ocpp")
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        console: list[str] = []
        try:
            page = await browser.new_page(accept_downloads=True)
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda message: console.append(message.text))
            try:
                await log_in(page, base, email)
                await page.get_by_role("link", name="Quarantine queue").click()
                await expect(page).to_have_url(f"{base}/office/quarantine")
                await expect(page.locator("article[data-session]")).to_have_count(1)
                card = page.locator(f"#s-{ids[huge]}")
                await expect(card.locator(".reasons")).to_contain_text("zero_start_lifetime_stop")
                # every input the user sees has a label
                for field in await page.locator("main input:not([type=hidden])").all():
                    field_id = await field.get_attribute("id")
                    if field_id is None:  # the checkbox: labelled by its wrapping label
                        continue
                    assert await page.locator(f'label[for="{field_id}"]').count() == 1
                await card.get_by_label("Why it is released").fill("start from the OCMF record")
                await card.get_by_label("Corrected start reading").fill("48202000")
                await card.get_by_label("I confirm").check()
                await page.screenshot(
                    path=str(SCREENSHOTS / "office-quarantine.png"), full_page=True
                )
                await card.get_by_role("button", name="Release").click()
                await expect(page.locator("#released")).to_contain_text(ids[huge])
                await expect(page.locator("article[data-session]")).to_have_count(0)
                await expect(page.locator("#queue-empty")).to_be_visible()

                await page.get_by_role("link", name="Sessions", exact=True).click()
                await page.get_by_label("Status").select_option("completed")
                await page.get_by_role("button", name="Filter").click()
                await expect(page.locator("#sessions tbody tr[data-session]")).to_have_count(2)
                async with page.expect_download() as downloading:
                    await page.locator("#csv-download").click()
                download = await downloading.value
                assert download.suggested_filename.startswith("sessions-")
                saved = tmp_path / download.suggested_filename
                await download.save_as(saved)
                with saved.open(newline="", encoding="utf-8") as handle:
                    table = list(csv.reader(handle))
                assert table[0][0] == "Session"
                energy = {line[0]: (line[1], line[6], line[9]) for line in table[1:]}
                assert energy == {
                    ids[huge]: (huge, "completed", "11"),
                    ids[fine]: (fine, "completed", "4"),
                }
            finally:
                await page.screenshot(path=str(tmp_path / "office-quarantine.png"), full_page=True)
        finally:
            await browser.close()
    assert [m for m in console if "Content Security Policy" in m] == []


async def test_an_invoice_run_a_credit_note_and_a_pdf_in_a_real_browser(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Finance starts last month's invoice run from the office while another run holds the
    ``invoice-runs`` lock (as a CLI run would): the run page shows its progress and refreshes
    itself; once the lock is let go it shows the outcome (Anna's invoice, 10.00 EUR net +
    19 % VAT). Then a credit note of 2.50 EUR net with its confirmation step, and the invoice's
    PDF downloaded under the cookie (a real Factur-X file)."""
    configure_operator(runtime)
    now = datetime.now(UTC)
    first = now.date().replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=10)
    world = await new_world(runtime, now)
    anna = await create_customer(runtime, world.clock, "Anna Becker")
    at = datetime.combine(last_month, time(10), UTC)
    await book_charges(
        runtime, world.clock, {"one": ChargeSpec(world.de, anna, at, {"Energy": "10.00"})}
    )
    email = await add_user(runtime, Role.FINANCE)
    period = last_month.strftime("%Y-%m")

    async with running_server(runtime) as url, async_playwright() as playwright:
        base = "http://" + url.removeprefix("ws://").removesuffix("/ocpp")
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        console: list[str] = []
        try:
            page = await browser.new_page(accept_downloads=True)
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda message: console.append(message.text))
            try:
                await log_in(page, base, email)
                await page.get_by_role("link", name="Invoice run").click()
                await expect(page.get_by_label("Month (YYYY-MM)")).to_have_value(period)
                for field in await page.locator("main input:not([type=hidden])").all():
                    field_id = await field.get_attribute("id")
                    if field_id is None:  # the checkboxes: labelled by their wrapping label
                        continue
                    assert await page.locator(f'label[for="{field_id}"]').count() == 1
                await page.get_by_label("I confirm").check()
                async with runtime.locks.hold(INVOICE_RUNS, 5):  # another run under way
                    await page.get_by_role("button", name="Start the run").click()
                    await expect(page.locator("#run-progress")).to_contain_text("Running")
                    await expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(1)
                # the page refreshes itself until the run has ended
                await expect(page.locator("#run-done")).to_be_visible()
                await expect(page.locator("#issued-count")).to_have_text("1")
                await expect(page.locator("#invoiced-totals")).to_have_text("11.90 EUR")
                await expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)

                await page.get_by_role("link", name="Invoices", exact=True).click()
                await page.get_by_label("Kind").select_option("invoice")
                await page.get_by_role("button", name="Filter").click()
                rows = page.locator("#invoices tbody tr[data-invoice]")
                await expect(rows).to_have_count(1)
                await rows.first.locator("a").click()
                await expect(page.locator("#payment-status")).to_have_text("open")
                invoice_url = page.url
                await page.get_by_label("Reason").fill("meter fault on EVSE 2")
                await page.get_by_label("Net amount to credit").fill("2.50")
                await page.get_by_role("button", name="Review the credit note").click()
                await expect(page.locator("#credit-summary")).to_contain_text("2.50 EUR net")
                await page.get_by_role("button", name="Issue the credit note").click()
                await expect(page.locator("#credited")).to_be_visible()
                await expect(page.locator("h1")).to_contain_text("Credit note")
                await expect(page.locator("#net-total")).to_have_text("2.50 EUR")
                await page.screenshot(
                    path=str(SCREENSHOTS / "office-credit-note.png"), full_page=True
                )

                await page.goto(invoice_url)
                async with page.expect_download() as downloading:
                    await page.locator("#pdf-download").click()
                download = await downloading.value
                assert download.suggested_filename.endswith(".pdf")
                saved = tmp_path / download.suggested_filename
                await download.save_as(saved)
                xml = embedded_xml(saved.read_bytes())  # Factur-X, checked by its XSD
                assert b"CrossIndustryInvoice" in xml
            finally:
                await page.screenshot(path=str(tmp_path / "office-invoices.png"), full_page=True)
        finally:
            await browser.close()
    assert [m for m in console if "Content Security Policy" in m] == []
