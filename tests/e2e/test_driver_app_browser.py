"""The driver app in a real browser (Chromium driven by Playwright) against the real server
(uvicorn) on SQLite (issue 16): a driver logs in with the keyboard only, types a position,
sees the nearest sites in order with their distance and AFIR price text, finds each site's
marker on the SVG map where the equirectangular projection puts it, opens My sessions and
sees their own sessions only, with cost and the invoice PDF; a refused token sends back to the
login; with the server gone the service worker still opens the app.

The world: the seeded "Test depot" (52.5, 13.4), "Three" 3 km north, "East five" 5 km east,
"Far" 60 km north (outside the 10 km radius); an operator-wide tariff (OCPI example
simple_025kwh, 19 % VAT); last month two sessions of the driver's account (10 and 20 kWh under
0.40 EUR/kWh + 19 % VAT: 4.76 and 9.52 EUR) and one of another account, invoiced by a run.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect
from websockets.asyncio.client import ClientConnection

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account
from chargeledger.domain.identity import Role
from chargeledger.domain.reservations import ReservationStatus
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import identity
from tests.conftest import TEST_PASSWORD, LoginAs, make_account
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WAIT_MS
from tests.e2e.driver_world import (
    WALLET_TAG,
    configure_receipts,
    sessions_last_month,
    wallet_driver,
)
from tests.integration.billing_api import configure_operator
from tests.integration.ocpp_server import running_server, seed_network
from tests.integration.ocpp_support import (
    CP16,
    Json,
    Station16,
    bounded,
    connected,
    open_world,
)
from tests.integration.test_locations import KM_PER_DEGREE, add_site, north_of_depot
from tests.integration.test_quotes import assign

DEPOT = (52.5, 13.4)
MIDDLE, REACH = 160, 140  # map.js: the SVG's middle and the pixels of the search radius


@pytest.fixture
def backend() -> str:
    return "sqlite"


@dataclass
class Sessions:
    own: dict[uuid.UUID, str]  # id -> the cost text the app shows
    others: list[uuid.UUID]


def east_of_depot(km: float) -> Decimal:
    per_degree = KM_PER_DEGREE * math.cos(math.radians(DEPOT[0]))
    return (Decimal("13.4") + Decimal(repr(km / per_degree))).quantize(Decimal("0.000001"))


def on_map(latitude: float, longitude: float, radius_km: float) -> tuple[float, float]:
    """Where map.js draws a site: the same projection, written again here."""
    px_per_km = REACH / radius_km
    east = (longitude - DEPOT[1]) * math.cos(math.radians(DEPOT[0])) * KM_PER_DEGREE
    north = (latitude - DEPOT[0]) * KM_PER_DEGREE
    return MIDDLE + east * px_per_km, MIDDLE - north * px_per_km


async def charged_last_month(
    runtime: Runtime, station_id: uuid.UUID, mine: Account, other: Account
) -> Sessions:
    made = await sessions_last_month(runtime, station_id, [(mine, 10), (mine, 20), (other, 30)])
    costs = {10: "4.76 EUR incl. VAT", 20: "9.52 EUR incl. VAT"}
    return Sessions(
        own={
            s.id: costs[int(s.meter_stop_wh or 0) // 1000] for s in made if s.account_id == mine.id
        },
        others=[s.id for s in made[2:]],
    )


async def log_in_with_the_keyboard(page: Page, email: str) -> None:
    await expect(page.get_by_label("E-mail")).to_be_focused()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(TEST_PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("#view-locate")).to_be_visible()


async def test_a_driver_locates_chargers_and_reads_their_sessions(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, tmp_path: Path
) -> None:
    configure_operator(runtime)
    network = await seed_network(runtime)
    three = await add_site(runtime, "Three", north_of_depot(3.0), Decimal("13.4"))
    east = await add_site(runtime, "East five", Decimal("52.5"), east_of_depot(5.0))
    await add_site(runtime, "Far", north_of_depot(60.0), Decimal("13.4"))
    await assign(runtime, "simple_025kwh", TariffScope.OPERATOR, None)
    other = await make_account(runtime, "Other Driver")
    sessions = await charged_last_month(
        runtime, network.stations["CP16-AC"].id, network.account, other
    )
    finance = await login_as(Role.FINANCE)
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    run = await client.post("/api/v1/invoice-runs", json={"period": last_month}, headers=finance)
    assert run.status_code == 200, run.text
    email = f"driver.{uuid.uuid4().hex[:8]}@example.org"
    async with runtime.uow() as uow:
        await identity.create_user(
            uow,
            runtime.clock,
            runtime.hasher,
            email=email,
            password=TEST_PASSWORD,
            role=Role.DRIVER,
            account_id=network.account.id,
        )
        await uow.commit()
    driver = await login_as(Role.DRIVER, network.account.id)
    expected = (
        await client.get("/api/v1/locations", params={"near": "52.5,13.4"}, headers=driver)
    ).json()["items"]
    assert [site["name"] for site in expected] == ["Test depot", "Three", "East five"]

    console: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(  # a phone's screen: the app is mobile first
                accept_downloads=True,
                viewport={"width": 390, "height": 844},
                geolocation={"latitude": 52.5, "longitude": 13.4},
                permissions=["geolocation"],
            )
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda message: console.append(message.text))
            try:
                async with running_server(runtime) as url:
                    base = "http://" + url.removeprefix("ws://").removesuffix("/ocpp")
                    await page.goto(f"{base}/app")
                    await expect(page).to_have_url(f"{base}/app/")
                    # every visible input has exactly one label
                    for field in await page.locator("input, select").all():
                        field_id = await field.get_attribute("id")
                        assert field_id
                        assert await page.locator(f'label[for="{field_id}"]').count() == 1
                    await log_in_with_the_keyboard(page, email)
                    await expect(
                        page.get_by_label("Position (latitude, longitude)")
                    ).to_be_focused()
                    await page.keyboard.type("52.5, 13.4")
                    await page.keyboard.press("Enter")

                    # the list: nearest first, distance and price text as the API gives them
                    await expect(page.locator("#status")).to_have_text("3 sites within 10 km.")
                    sites = page.locator("#sites > li.site")
                    await expect(sites.locator("h3")).to_have_text(
                        ["Test depot", "Three", "East five"]
                    )
                    await expect(sites.locator(".distance")).to_have_text(
                        ["0.00 km", "3.00 km", "5.00 km"]
                    )
                    for index, site in enumerate(expected):
                        shown = sites.nth(index)
                        connectors = [
                            c
                            for st in site["stations"]
                            for e in st["evses"]
                            for c in e["connectors"]
                        ]
                        plugs = shown.locator(".plug")
                        await expect(plugs).to_have_count(len(connectors))
                        for n, connector in enumerate(connectors):
                            assert connector["price"] is not None
                            await expect(plugs.nth(n).locator(".price p")).to_have_text(
                                connector["price"]["lines"]
                            )
                    depot_plug = sites.nth(0).locator(".plug").first
                    await expect(depot_plug.locator(".kind")).to_have_text("CCS · 22 kW AC")
                    await expect(depot_plug.locator(".availability")).to_have_text("Status unknown")
                    assert any("19% VAT" in line for line in connectors[0]["price"]["lines"])

                    # the map: the position in the middle, each site where the projection puts it
                    await page.get_by_role("button", name="Map").click()
                    svg = page.locator("#map svg")
                    await expect(svg).to_be_visible()
                    await expect(svg.locator("#map-me circle")).to_have_attribute("cx", "160")
                    markers = svg.locator("a.marker")
                    await expect(markers).to_have_count(3)
                    for site in expected:
                        marker = svg.locator(f'a.marker[data-site-id="{site["id"]}"]')
                        x, y = on_map(float(site["latitude"]), float(site["longitude"]), 10)
                        assert abs(float(await marker.get_attribute("data-x") or "nan") - x) <= 0.1
                        assert abs(float(await marker.get_attribute("data-y") or "nan") - y) <= 0.1
                        circle = marker.locator("circle")
                        assert abs(float(await circle.get_attribute("cx") or "nan") - x) <= 0.1
                        label = await marker.get_attribute("aria-label")
                        assert label is not None
                        assert label.endswith(f"{site['name']}, {site['distance_km']} km")
                    three_marker = svg.locator(f'a.marker[data-site-id="{three.id}"]')
                    assert await three_marker.get_attribute("data-x") == "160"
                    assert await three_marker.get_attribute("data-y") == "118"  # 160 - 3 × 14
                    east_x = float(
                        await svg.locator(f'a.marker[data-site-id="{east.id}"]').get_attribute(
                            "data-x"
                        )
                        or "nan"
                    )
                    assert abs(east_x - 230) <= 0.1  # 160 + 5 × 14
                    await expect(svg.locator("#map-scale")).to_have_attribute("data-km", "5")
                    await expect(svg.locator("#map-scale text")).to_have_text("5 km")
                    await page.screenshot(path=str(SCREENSHOTS / "driver-app-map.png"))
                    # keyboard: a marker is a link; Enter opens that site in the list
                    await three_marker.focus()
                    await page.keyboard.press("Enter")
                    await expect(page.locator(f"#site-{three.id}")).to_be_focused()

                    # my sessions: mine only, with cost and the invoice's PDF
                    await page.get_by_role("button", name="My sessions").click()
                    shown_sessions = page.locator("#sessions > li.session")
                    await expect(shown_sessions).to_have_count(len(sessions.own))
                    for session_id, cost in sessions.own.items():
                        item = page.locator(f'#sessions li[data-session-id="{session_id}"]')
                        await expect(item.locator(".cost")).to_have_text(cost)
                    for session_id in sessions.others:
                        await expect(
                            page.locator(f'[data-session-id="{session_id}"]')
                        ).to_have_count(0)
                    invoice = shown_sessions.first.locator("button.document")
                    await expect(invoice).to_have_count(1)
                    await expect(invoice).to_contain_text("Invoice")
                    async with page.expect_download() as download_info:
                        await invoice.click()
                    download = await download_info.value
                    saved = tmp_path / download.suggested_filename
                    await download.save_as(saved)
                    assert saved.read_bytes().startswith(b"%PDF")

                    # a refused token: back to the login with a message
                    await page.evaluate(
                        """() => {
                          const kept = JSON.parse(sessionStorage.getItem("chargeledger.app.token"));
                          kept.value = "not-a-token";
                          sessionStorage.setItem("chargeledger.app.token", JSON.stringify(kept));
                        }"""
                    )
                    await page.reload()
                    await expect(page.locator("#view-locate")).to_be_visible()
                    await page.get_by_role("button", name="My sessions").click()
                    await expect(page.locator("#view-login")).to_be_visible()
                    await expect(page.locator("#status")).to_have_text(
                        "Your session has expired. Please log in again."
                    )
                    await log_in_with_the_keyboard(page, email)
                    # the browser's position, then a filter: Type 2 is not at the depot
                    await page.get_by_role("button", name="Use my location").click()
                    await expect(page.get_by_label("Position (latitude, longitude)")).to_have_value(
                        "52.50000, 13.40000"
                    )
                    await expect(sites.locator("h3")).to_have_text(
                        ["Test depot", "Three", "East five"]
                    )
                    await page.get_by_label("Plug").select_option("IEC_62196_T2")
                    await page.get_by_role("button", name="Search").click()
                    await expect(sites.locator("h3")).to_have_text(["Three", "East five"])
                    await expect(sites.locator(".kind")).to_have_text(
                        ["Type 2 · 11 kW AC", "Type 2 · 11 kW AC"]
                    )
                    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
                    assert scope == f"{base}/app/"
                    # the worker keeps the shell and "locate" answers, no personal data
                    kept = await page.evaluate(
                        """async () => {
                          const [name] = await caches.keys();  // the shell's one
                          const cache = await caches.open(name);
                          return (await cache.keys()).map((r) => new URL(r.url).pathname);
                        }"""
                    )
                    assert {"/app/", "/app/app.js", "/app/map.js"} <= set(kept)
                    assert {path for path in kept if path.startswith("/api/")} == {
                        "/api/v1/locations"
                    }
                    await page.get_by_role("button", name="Log out").click()
                    await expect(page.locator("#view-login")).to_be_visible()
                    assert (
                        await page.evaluate("sessionStorage.getItem('chargeledger.app.token')")
                        is None
                    )
                # the server is gone: the service worker opens the app from its cache
                await page.reload()
                await expect(page.locator("#view-login h2")).to_have_text("Log in")
                await expect(page.locator("#login-form")).to_be_visible()
            finally:
                await page.screenshot(path=str(tmp_path / "driver-app.png"), full_page=True)
        finally:
            await browser.close()
    assert [m for m in console if "Content Security Policy" in m] == []


class Watched(Station16):
    """The test's charge point, telling when the server sent it a request."""

    def __init__(self, charge_point_id: str, connection: ClientConnection) -> None:
        super().__init__(charge_point_id, connection)
        self.changed = asyncio.Event()

    def _answer(self, action: str, payload: Json) -> str:
        answer = super()._answer(action, payload)
        self.changed.set()
        return answer

    async def last_received(self, action: str) -> None:
        """Wait (bounded) until the last request the server sent is ``action``."""
        while not (self.received and self.received[-1][0] == action):
            self.changed.clear()
            await bounded(self.changed.wait())


async def test_a_driver_starts_watches_and_stops_a_charge(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, tmp_path: Path
) -> None:
    """Locate, open the depot's CP16-AC EVSE 1, "Reserve" it for 15 minutes with the driver's
    own token (a double tap: the real 1.6 charge point receives one ReserveNow with that idTag
    and the reservation's number), then "Start charging": it receives RemoteStartTransaction
    and starts, and the session uses the reservation; the live cost rises in the page as its
    MeterValues arrive (0.40 EUR/kWh + 19 % VAT: 2 kWh 0.95 EUR, 5 kWh 2.38 EUR; this tariff
    has no reservation price); "Stop" sends RemoteStopTransaction; the final cost shows, the
    prepaid wallet pays it and the receipt downloads as a PDF from the charging view, and the
    session is in My sessions with that cost."""
    configure_receipts(runtime)
    console: list[str] = []
    async with open_world(runtime, client, login_as) as world:
        driver = await wallet_driver(runtime, world)
        prepaid, email = driver.account, driver.email
        base = "http://" + world.url.removeprefix("ws://").removesuffix("/ocpp")
        async with async_playwright() as playwright, connected(world.url, Watched) as cp:
            await world.wait_link_state(CP16, connected=True)
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                page.set_default_timeout(WAIT_MS)
                page.on("console", lambda message: console.append(message.text))
                try:
                    await page.goto(f"{base}/app/")
                    await log_in_with_the_keyboard(page, email)
                    await page.keyboard.type("52.5, 13.4")
                    await page.keyboard.press("Enter")
                    await page.get_by_role(
                        "button", name="Start charging at Test depot, CP16-AC, EVSE 1"
                    ).click()
                    await expect(page.locator("#view-charge")).to_be_visible()
                    token = page.get_by_label("Charge with")
                    await expect(token).to_be_focused()
                    await expect(token.locator("option")).to_have_text([WALLET_TAG])
                    await expect(page.locator("#reserve-price")).to_have_text(
                        "Reserving is free here."
                    )
                    await page.get_by_label("Or hold it for me").select_option("15")
                    await page.get_by_role("button", name="Reserve", exact=True).dblclick()
                    await expect(page.locator("#reserved-text")).to_contain_text(
                        "Reserved for you until"
                    )
                    await cp.last_received("ReserveNow")
                    start = page.get_by_role("button", name="Start charging", exact=True)
                    await expect(start).to_be_focused()
                    await page.screenshot(path=str(SCREENSHOTS / "driver-app-reserved.png"))
                    await start.dblclick()  # a double tap starts once
                    await cp.last_received("RemoteStartTransaction")
                    tx = await cp.start_tx(WALLET_TAG, meter_start=1000)
                    await expect(page.locator("#live-energy")).to_have_text("0.000 kWh")
                    await expect(page.locator("#live-cost")).to_have_text("—")
                    (_, reserve_now), started = cp.received
                    assert started == (
                        "RemoteStartTransaction",
                        {"connector_id": 1, "id_tag": WALLET_TAG},
                    )
                    assert (reserve_now["connector_id"], reserve_now["id_tag"]) == (1, WALLET_TAG)
                    async with runtime.uow() as uow:
                        (used,) = await uow.reservations.of_account(prepaid.id, 10)
                    assert used.number == reserve_now["reservation_id"]
                    assert used.status is ReservationStatus.USED
                    for seconds, wh, cost in ((600, 3000, "0.95"), (1200, 6000, "2.38")):
                        await cp.registers(tx, 1, (seconds, wh))
                        await expect(page.locator("#live-cost")).to_have_text(
                            f"{cost} EUR incl. VAT"
                        )
                        await expect(page.locator("#live-energy")).to_have_text(
                            f"{(wh - 1000) / 1000:.3f} kWh"
                        )
                    await expect(page.locator("#live-duration")).to_have_text("20 min 00 s")
                    await page.screenshot(path=str(SCREENSHOTS / "driver-app-charging.png"))
                    await page.get_by_role("button", name="Stop").click()
                    await cp.last_received("RemoteStopTransaction")
                    await cp.stop_tx(tx, 6000, 1200)
                    await expect(page.locator("#charge-final")).to_have_text(
                        "Charging ended: 2.38 EUR incl. VAT for 5.000 kWh."
                    )
                    receipt = page.locator("#charge-documents").get_by_role(
                        "button", name=re.compile(r"^Receipt \S+ \(PDF\)$")
                    )
                    async with page.expect_download() as downloading:
                        await receipt.click()
                    pdf = Path(await (await downloading.value).path())
                    assert (await asyncio.to_thread(pdf.read_bytes)).startswith(b"%PDF")
                    await page.get_by_role("button", name="See it in My sessions").click()
                    shown = page.locator("#sessions > li.session")
                    await expect(shown).to_have_count(1)
                    await expect(shown.locator(".cost")).to_have_text("2.38 EUR incl. VAT")
                    await expect(shown.locator(".energy")).to_have_text("5.000 kWh · completed")
                finally:
                    await page.screenshot(path=str(tmp_path / "driver-app.png"), full_page=True)
            finally:
                await browser.close()
    (session,) = await world.sessions_of(CP16)
    assert session["account_id"] == str(prepaid.id)
    assert used.session_id == uuid.UUID(session["id"])
    assert [m for m in console if "Content Security Policy" in m] == []
