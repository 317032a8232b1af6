"""The ad hoc QR checkout page in a real browser (Chromium driven by Playwright) against the
real server (uvicorn, real websockets) and a real OCPP 1.6 charge point.

The driver opens ``/pay/CP16-AC/1``, reads the price and the hold, types a test card and
starts; the station is remote-started, charges 10 kWh and stops; the page, polling, shows
the captured amount and the receipt. Every request the browser sends is recorded: the card
number goes to the PSP's card field (``/sandbox-psp/v1/tokens``) and nowhere else, and no
table holds it. A declined card then starts nothing.

Prices: the flat tariff of ``payment_world`` (0.49/kWh + 0.35 per session, VAT 19 %): the
hold is 23.74 EUR, 10 kWh cost 6.25 EUR.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from urllib.parse import urljoin

import pytest
from ocpp.v16 import call
from playwright.async_api import Request, async_playwright, expect
from sqlalchemy import MetaData, select

from chargeledger.bootstrap import Runtime
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from tests.integration.ocpp_support import CP16, Station16, connected
from tests.integration.payment_world import VISA, PaymentWorld

DECLINED_CARD = "4000000000000002"
TOKENS_PATH = "/sandbox-psp/v1/tokens"
PAY_PATH = f"/pay/{CP16}/1"
CARD_TABLES = {"payments", "payment_events", "stored_cards"}


@pytest.fixture
def backend() -> str:
    """SQLite is enough for the browser: the storage paths are covered by the integration
    tests on both backends. Overrides the parametrised fixture of tests/conftest.py."""
    return "sqlite"


def remote_starts(cp: Station16) -> list[dict[str, object]]:
    return [payload for action, payload in cp.received if action == "RemoteStartTransaction"]


def carried(request: Request) -> str:
    """Everything a request carries that could hold a card number: URL, headers, body."""
    return "\n".join((request.url, json.dumps(request.headers), request.post_data or ""))


async def rows_holding(runtime: Runtime, needle: str) -> tuple[set[str], list[str]]:
    """Every table of the database (names) and those with a row that contains ``needle``."""
    metadata = MetaData()
    async with runtime._factory.engine.connect() as connection:
        with warnings.catch_warnings():  # SQLite cannot reflect an index on expressions
            warnings.filterwarnings("ignore", message=".*expression-based index")
            await connection.run_sync(metadata.reflect)
        hits = [
            f"{table.name}: {row}"
            for table in metadata.sorted_tables
            for row in (await connection.execute(select(table))).all()
            if needle in repr(tuple(row))
        ]
    return set(metadata.tables), hits


async def test_qr_checkout_in_a_real_browser(pw: PaymentWorld, tmp_path: Path) -> None:
    base = pw.world.url.removeprefix("ws://").removesuffix("/ocpp")
    page_url = f"http://{base}{PAY_PATH}"
    sent: list[Request] = []
    console: list[str] = []  # a blocked script or style shows here as a CSP violation

    async with (
        connected(pw.world.url, Station16) as cp,
        async_playwright() as playwright,
    ):
        await cp.request(call.BootNotification("T1", "Test"))
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on("request", lambda request: sent.append(request))
            page.on("console", lambda message: console.append(message.text))
            try:
                # 1. the price before the start (AFIR art. 5): site, per kWh incl. VAT, hold
                response = await page.goto(page_url)
                assert response is not None
                assert response.status == 200
                await expect(page.locator("h1")).to_contain_text("Test depot")
                await expect(page.locator("#prices li").filter(has_text="kWh")).to_have_count(1)
                await expect(page.locator("#hold")).to_have_text("23.74 EUR")

                # 2. the card through the PSP's field, then the start
                await page.locator("#number").fill(VISA)
                await page.locator("#exp_month").fill("12")
                await page.locator("#exp_year").fill("2031")
                await page.locator("#cvc").fill("123")
                await page.get_by_role("button", name="Pay and start charging").click()
                status = page.locator("#status")
                await expect(status).to_contain_text("Started", timeout=WAIT_MS)
                await expect(status).not_to_have_class("error")
                [remote] = remote_starts(cp)
                id_tag = remote["id_tag"]
                assert isinstance(id_tag, str)
                assert id_tag.startswith("QR")
                assert remote["connector_id"] == 1

                # 3. the station charges 10 kWh in an hour (10 kW) on the checkout's idTag
                tx = await cp.start_tx(id_tag, 10_000)  # asserts Accepted
                await cp.registers(tx, 1, (1800, 15_000))
                await cp.stop_tx(tx, 20_000, 3600)
                await pw.runtime.quiesce()

                # 4. the page, polling, shows the captured price and the receipt
                await expect(status).to_contain_text(
                    re.compile(r"Charged 6\.25 EUR for 10(\.0+)? kWh"), timeout=WAIT_MS
                )
                link = page.locator("#receipt-link")
                await expect(link).to_have_text("Download your receipt", timeout=WAIT_MS)
                href = await link.get_attribute("href")
                assert href is not None
                assert href.endswith("/receipt.pdf")
                pdf = await page.request.get(urljoin(page.url, href))
                assert pdf.status == 200
                assert pdf.headers["content-type"] == "application/pdf"
                assert (await pdf.body()).startswith(b"%PDF")

                # 6. a declined card: the page says so and the station is not started again
                await page.reload()
                await page.locator("#number").fill(DECLINED_CARD)
                await page.locator("#exp_month").fill("12")
                await page.locator("#exp_year").fill("2031")
                await page.locator("#cvc").fill("123")
                await page.get_by_role("button", name="Pay and start charging").click()
                await expect(status).to_have_class("error", timeout=WAIT_MS)
                await expect(status).to_contain_text("declined")
                await expect(
                    page.get_by_role("button", name="Pay and start charging")
                ).to_be_enabled()
                await pw.runtime.quiesce()
                assert len(remote_starts(cp)) == 1
            finally:
                await page.screenshot(path=str(tmp_path / "checkout.png"), full_page=True)
        finally:
            await browser.close()

    # 5. the card numbers went to the PSP's card field and to nothing else
    tokens = [r for r in sent if r.url.endswith(TOKENS_PATH)]
    starts = [r for r in sent if r.method == "POST" and r.url.endswith(PAY_PATH)]
    assert [r.method for r in tokens] == ["POST", "POST"]
    assert len(starts) == 2
    for card, tokenised, started in zip((VISA, DECLINED_CARD), tokens, starts, strict=True):
        assert card in (tokenised.post_data or "")
        body = json.loads(started.post_data or "{}")
        assert list(body) == ["token"]
        assert body["token"].startswith("tok_")
        assert started.headers.get("idempotency-key")
    for request in sent:
        if request in tokens:
            continue
        for card in (VISA, DECLINED_CARD):
            assert card not in carried(request), (request.method, request.url)
    assert any(r.url.startswith(f"http://{base}/pay/checkouts/") for r in sent)  # the polls
    # The page ran under its strict policy (issue 11): its own script and style files, no
    # inline code, nothing the policy had to block.
    assert [m for m in console if "Content Security Policy" in m] == []
    assert any(r.url.endswith("/static/checkout/checkout.js") for r in sent)
    assert any(r.url.endswith("/static/checkout/checkout.css") for r in sent)

    tables, hits = await rows_holding(pw.runtime, VISA)
    assert tables >= CARD_TABLES
    assert hits == []
    assert (await rows_holding(pw.runtime, DECLINED_CARD))[1] == []
