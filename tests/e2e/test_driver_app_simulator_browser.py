"""The driver's whole charge in a real browser against the real server with the project's own
station simulator (``chargeledger.sim``, OCPP 1.6J, as ``chargeledger demo`` runs it) on the
other end of the websocket (issue 16, Done-when): locate the depot, reserve CP16-AC EVSE 1,
start charging there, watch the live cost rise as the simulated car draws power, stop, and
download the receipt of the wallet-paid session.

The simulator runs a day in 48 minutes (30×) with a MeterValues every simulated minute (two
real seconds). Nothing here waits on its schedule: each step waits (bounded) for what the page
shows next; the simulated car charges for hours of simulated time, far longer than the test.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from chargeledger.bootstrap import Runtime
from chargeledger.domain.reservations import ReservationStatus
from chargeledger.sim import SimulationOptions, open_station
from tests.conftest import LoginAs
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WAIT_MS
from tests.e2e.driver_world import WALLET_TAG, configure_receipts, wallet_driver
from tests.e2e.test_driver_app_browser import log_in_with_the_keyboard
from tests.integration.ocpp_support import CP16, open_world
from tests.integration.test_boot_meter_keys import spec

LIVE = re.compile(r"^(\d+\.\d\d) EUR incl\. VAT$")
FINAL = re.compile(r"^Charging ended: (\d+\.\d\d) EUR incl\. VAT for (\d+\.\d{3}) kWh\.$")
DAY_IN_48_MINUTES = SimulationOptions(
    seed=16, hours=24.0, duration_s=2880.0, meter_interval_s=60, sessions_per_evse=(0, 0)
)


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_a_driver_charges_at_the_simulated_station(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    configure_receipts(runtime)
    console: list[str] = []
    async with open_world(runtime, client, login_as) as world:
        driver = await wallet_driver(runtime, world)
        base = "http://" + world.url.removeprefix("ws://").removesuffix("/ocpp")
        async with (
            async_playwright() as playwright,
            open_station(world.url, spec(CP16), DAY_IN_48_MINUTES) as station,
        ):
            await world.wait_link_state(CP16, connected=True)
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                page.set_default_timeout(WAIT_MS)
                page.on("console", lambda message: console.append(message.text))
                await page.goto(f"{base}/app/")
                await log_in_with_the_keyboard(page, driver.email)
                await page.keyboard.type("52.5, 13.4")
                await page.keyboard.press("Enter")
                await page.get_by_role(
                    "button", name="Start charging at Test depot, CP16-AC, EVSE 1"
                ).click()
                await expect(page.get_by_label("Charge with").locator("option")).to_have_text(
                    [WALLET_TAG]
                )
                await page.get_by_role("button", name="Reserve", exact=True).click()
                await expect(page.locator("#reserved-text")).to_contain_text(
                    "Reserved for you until"
                )
                assert len(station.reservations) == 1  # the simulator keeps what it accepted

                await page.get_by_role("button", name="Start charging", exact=True).click()
                cost = page.locator("#live-cost")
                await expect(cost).to_have_text(LIVE)
                first = Decimal(LIVE.match(await cost.inner_text()).group(1))  # type: ignore[union-attr]
                await expect(cost).not_to_have_text(f"{first:.2f} EUR incl. VAT")
                later = Decimal(LIVE.match(await cost.inner_text()).group(1))  # type: ignore[union-attr]
                assert later > first  # the live cost rose as the car charged
                await page.screenshot(path=SCREENSHOTS / "driver-app-simulator.png")

                await page.get_by_role("button", name="Stop").click()
                final = page.locator("#charge-final")
                await expect(final).to_have_text(FINAL)
                paid = Decimal(FINAL.match(await final.inner_text()).group(1))  # type: ignore[union-attr]
                assert paid >= later
                receipt = page.locator("#charge-documents").get_by_role(
                    "button", name=re.compile(r"^Receipt \S+ \(PDF\)$")
                )
                async with page.expect_download() as downloading:
                    await receipt.click()
                pdf = Path(await (await downloading.value).path())
                assert (await asyncio.to_thread(pdf.read_bytes)).startswith(b"%PDF")
            finally:
                await browser.close()
    (session,) = await world.sessions_of(CP16)
    assert session["status"] == "completed"
    assert session["account_id"] == str(driver.account.id)
    async with runtime.uow() as uow:
        (used,) = await uow.reservations.of_account(driver.account.id, 10)
    assert used.status is ReservationStatus.USED
    assert str(used.session_id) == session["id"]
    assert [m for m in console if "Content Security Policy" in m] == []
