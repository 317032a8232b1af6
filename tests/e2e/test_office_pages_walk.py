"""A walk over every back-office page in a real browser (Chromium driven by Playwright) against
the real server (uvicorn) on SQLite (issue 16, done when "accessibility basics checked in the
tests (labels, keyboard navigation, contrast of the theme)").

An admin follows every nav link and one detail link from each list; every page (and the
login page, with and without its error) gets the checks of ``tests/e2e/office_walk_checks.py``
(one ``<h1>``, labels and accessible names, the skip link and visible focus, no console errors
nor CSP violations, contrast 4.5:1) and, where it has one, its CSV download is read back. An
operator and finance each see exactly the nav links of the pages their roles may open (the
roles of the pages' API routes, ``guard.admit``) and get the ``permission_denied`` page, which
passes the same checks, on the others.

The world has data on every page: the disputed app-card session of ``refund_world`` (a DC
station with the flat tariff, an account with an app token and a stored card, a captured
payment and its receipt, a dispute with an attachment), the bank world's invoices with their
first statement imported (two entries left unmatched), and a fleet contract.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.identity import Role
from chargeledger.office import (
    bank_pages,
    contract_pages,
    export_pages,
    invoice_run_pages,
    ledger_pages,
    quarantine_pages,
    reports_pages,
)
from chargeledger.office.guard import OFFICE_ROLES
from tests.conftest import LoginAs, make_account
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from tests.e2e.office_walk_checks import MIN_CONTRAST, Console, check_csv, check_page, contrast
from tests.e2e.test_office_browser import log_in
from tests.integration.ocpp_server import running_server
from tests.integration.ocpp_support import Station16, connected, open_world
from tests.integration.test_bank_reconciliation import (
    first_statement,
    run_import,
    world_with_invoices,
)
from tests.integration.test_contracts_api import fleet_contract
from tests.integration.test_meter_quarantine import priced_network, session16
from tests.integration.test_office_disputes import opened
from tests.integration.test_office_http import add_user

# Each nav link of ``base.html`` and the roles that may open its page (admin: all of them).
NAV = {
    "/office": OFFICE_ROLES,
    "/office/sessions": OFFICE_ROLES,
    "/office/quarantine": quarantine_pages.RELEASE_ROLES,
    "/office/invoices": OFFICE_ROLES,
    "/office/invoice-runs": invoice_run_pages.RUN_ROLES,
    "/office/exports": export_pages.EXPORT_ROLES,
    "/office/payments": OFFICE_ROLES,
    "/office/ledger": ledger_pages.LEDGER_ROLES,
    "/office/reports": reports_pages.REPORT_ROLES,
    "/office/disputes": OFFICE_ROLES,
    "/office/bank": bank_pages.READ_ROLES,
    "/office/dunning": OFFICE_ROLES,
    "/office/contracts": contract_pages.READ_ROLES,
    "/office/stations": OFFICE_ROLES,
    "/office/tariffs": OFFICE_ROLES,
    "/office/accounts": OFFICE_ROLES,
}
NOT_DETAILS = (".csv", ".pdf", ".zip", ".xml")
# The pages without a CSV download: the overview, forms and a queue of cards, the bank's
# statements (its entries have one), the reports (downloaded as spreadsheets).
NOT_LISTS = {
    "/office",
    "/office/quarantine",
    "/office/invoice-runs",
    "/office/exports",
    "/office/reports",
    "/office/bank",
}
# What each list shows of the world: a row (or a card) per item.
ROWS = {
    "/office/sessions": "tr[data-session]",
    "/office/quarantine": "article[data-session]",
    "/office/invoices": "tr[data-invoice]",
    "/office/payments": "tr[data-payment]",
    "/office/ledger": "tr[data-account]",
    "/office/disputes": "tr[data-dispute]",
    "/office/bank": "tr[data-statement]",
    "/office/bank/entries?state=unmatched": "tr[data-entry]",
    "/office/dunning": "tr[data-invoice]",
    "/office/contracts": "tr[data-contract]",
    "/office/stations": "tr[data-station]",
    "/office/tariffs": "tr[data-tariff]",
    "/office/accounts": "tr[data-account]",
}
# A list whose detail link leaves its path: the bank's unmatched entries.
QUEUES = {"/office/bank": "/office/bank/entries?state=unmatched"}


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def world_on_every_page(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await opened(runtime, client, login_as)  # station, tariff, card, payment, dispute
    world, invoices = await world_with_invoices(runtime)
    report = await run_import(runtime, world, first_statement(invoices))
    assert report.unmatched == 2
    fleet = await make_account(runtime, "Fleet GmbH", AccountKind.BUSINESS)
    created = await client.post(
        "/api/v1/contracts", json=fleet_contract(fleet.id), headers=await login_as(Role.FINANCE)
    )
    assert created.status_code == 201, created.text


async def nav_links(page: Page) -> list[str]:
    nav = page.locator('nav[aria-label="Main"] a')
    return [str(await a.get_attribute("href")) for a in await nav.all()]


async def detail_link(page: Page, list_path: str) -> str | None:
    """The first link of the list's table (or the list's main part) to a page below it."""
    if list_path == "/office":
        return None
    for link in await page.locator("main a").all():
        href = await link.get_attribute("href") or ""
        if href.startswith(list_path + "/") and "?" not in href and not href.endswith(NOT_DETAILS):
            return href
    return None


async def test_every_page_passes_the_accessibility_basics(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, tmp_path: Path
) -> None:
    admin = await add_user(runtime, Role.ADMIN)
    visited: list[str] = []
    downloaded: dict[str, list[str]] = {}
    async with open_world(runtime, client, login_as) as served, async_playwright() as playwright:
        await priced_network(runtime)  # first: its German VAT is stated before a PT station
        async with connected(served.url, Station16) as cp:  # a zero start, a lifetime stop
            await session16(cp, 0, 48_213_000, (900, 48_206_000))
        await world_on_every_page(runtime, client, login_as)
        base = "http://" + served.url.removeprefix("ws://").removesuffix("/ocpp")
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        console = Console([])
        try:
            page = await browser.new_page(accept_downloads=True)
            page.set_default_timeout(WAIT_MS)
            console.listen(page)
            await page.goto(f"{base}/office/login")
            await check_page(page, console, keyboard=False)
            await page.get_by_label("User name (e-mail)").fill(admin)
            await page.get_by_label("Password").fill("not the password")
            await page.get_by_role("button", name="Log in").click()
            await expect(page.locator("#login-error")).to_be_visible()
            await check_page(page, console, keyboard=False, status=401)
            await log_in(page, base, admin)
            await check_page(page, console)
            assert await nav_links(page) == list(NAV)
            for href in NAV:
                await page.locator(f'nav[aria-label="Main"] a[href="{href}"]').click()
                await expect(page).to_have_url(base + href)
                await check_page(page, console)
                if href in ROWS:
                    await expect(page.locator(f"main {ROWS[href]}").first).to_be_visible()
                visited.append(href)
                if (header := await check_csv(page, tmp_path)) is not None:
                    downloaded[href] = header
                detail = QUEUES.get(href) or await detail_link(page, href)
                if detail is None:
                    continue
                await page.locator(f'main a[href="{detail}"]').first.click()
                await expect(page).to_have_url(base + detail)
                await check_page(page, console)
                if detail in ROWS:
                    await expect(page.locator(f"main {ROWS[detail]}")).to_have_count(2)
                visited.append(detail)
                if (header := await check_csv(page, tmp_path)) is not None:
                    downloaded[detail] = header
        finally:
            await browser.close()
    opened_from = {href for href, detail in pairwise(visited) if detail not in NAV}
    assert opened_from == set(NAV) - {
        "/office",
        "/office/invoice-runs",
        "/office/exports",
        "/office/reports",
        "/office/dunning",
        "/office/quarantine",
    }, visited
    assert set(downloaded) >= {href for href in NAV if href not in NOT_LISTS}, downloaded
    assert "/office/bank/entries?state=unmatched" in downloaded, downloaded


async def test_the_confirm_steps_and_a_form_error_pass_the_same_checks(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """The pages a form leads to: a refund refused for a bad amount (422, its error shown by
    the field), and the confirm step of each destructive action: a refund, a credit note, a
    token block, a station reset, a dispute's resolution. Nothing is confirmed."""
    captured, dispute = await opened(runtime, client, login_as)
    admin = await add_user(runtime, Role.ADMIN)
    async with running_server(runtime) as url, async_playwright() as playwright:
        base = "http://" + url.removeprefix("ws://").removesuffix("/ocpp")
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        console = Console([])
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            console.listen(page)
            await log_in(page, base, admin)

            await page.goto(f"{base}/office/payments/{captured.payment.id}")
            await page.get_by_label("Reason").fill("walk")
            await page.get_by_label("Amount").fill("a lot")
            await page.get_by_role("button", name="Review the refund").click()
            await expect(page.locator("#refund-error")).to_be_visible()
            await expect(page.locator('[aria-invalid="true"]')).to_have_count(1)
            await check_page(page, console, status=422)
            await page.get_by_label("Amount").fill("1.00")
            await page.get_by_role("button", name="Review the refund").click()
            await expect(page.locator("h1")).to_have_text("Confirm the refund")
            await check_page(page, console)

            await page.goto(f"{base}/office/invoices/{captured.receipt.id}")
            await page.get_by_label("Reason").fill("meter fault")
            await page.get_by_label("Net amount to credit").fill("1.00")
            await page.get_by_role("button", name="Review the credit note").click()
            await expect(page.locator("#credit-summary")).to_contain_text("1.00")
            await check_page(page, console)

            await page.goto(f"{base}/office/accounts/{captured.payment.account_id}")
            await page.get_by_role("button", name="Block…").first.click()
            await expect(page.locator("h1")).to_have_text("Confirm the token change")
            await check_page(page, console)

            await page.goto(f"{base}/office/stations")
            await page.locator("#stations tbody a").first.click()
            await page.get_by_role("button", name="Reset…").click()
            await expect(page.locator("h1")).to_have_text("Confirm the reset")
            await check_page(page, console)

            await page.goto(f"{base}/office/disputes/{dispute['id']}")
            await page.get_by_role("button", name="Start the review").click()
            await page.get_by_label("Resolution").select_option(index=0)
            await page.get_by_label("Why (the customer reads it").fill("checked the meter")
            await page.get_by_role("button", name="Review the resolution").click()
            await expect(page.locator("h1")).to_have_text("Confirm the resolution")
            await check_page(page, console)
        finally:
            await browser.close()


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE])
async def test_each_role_sees_its_pages_and_is_refused_the_others(
    runtime: Runtime, role: Role
) -> None:
    email = await add_user(runtime, role)
    allowed = [href for href, roles in NAV.items() if role in roles]
    refused = [href for href in NAV if href not in allowed]
    async with running_server(runtime) as url, async_playwright() as playwright:
        base = "http://" + url.removeprefix("ws://").removesuffix("/ocpp")
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        console = Console([])
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            console.listen(page)
            await log_in(page, base, email)
            assert await nav_links(page) == allowed
            for href in allowed:
                response = await page.goto(base + href)
                assert response is not None
                assert response.status == 200, href
                assert await nav_links(page) == allowed
            for href in refused:
                response = await page.goto(base + href)
                assert response is not None
                assert response.status == 403, href
                await expect(page.locator("#error-code")).to_have_text("permission_denied")
                assert await nav_links(page) == allowed
                await check_page(page, console, status=403)
        finally:
            await browser.close()
    operator_refused = ["/office/invoice-runs", "/office/exports", "/office/ledger"]
    assert refused == (operator_refused if role is Role.OPERATOR else [])


def test_the_contrast_ratio_is_wcags() -> None:
    """The ratio the walk computes, on WCAG's own reference points: black on white is 21:1,
    #767676 on white the lightest grey that passes 4.5:1, #777777 fails."""
    white, black = [255.0] * 3, [0.0] * 3
    assert round(contrast(black, white), 2) == 21.0
    assert round(contrast(white, white), 2) == 1.0
    assert contrast([118.0] * 3, white) >= MIN_CONTRAST > contrast([119.0] * 3, white)
