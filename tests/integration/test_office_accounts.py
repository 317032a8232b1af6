"""The office's accounts pages (issue 16) on SQLite and PostgreSQL: the list (search by name,
e-mail or id, kind, paging, CSV), the detail (tokens, cards by brand and last four only,
wallet, statement), blocking and unblocking a token in two steps, and who may do what.

The network (``seed_network``): the driver account "Driver One" (tokens 04AABBCCDD active,
04BLOCKED1 blocked) and a business account "Fleet Co". Driver One stores a sandbox Visa
(4242 4242 4242 4242) and tops up 20.00; 5.00 of it pays a receivable, and a charge of 11.90
is accrued unbilled.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, TokenStatus
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting, receivable, unbilled
from chargeledger.domain.ledger import wallet as wallet_account
from chargeledger.domain.payments import StoredCard
from chargeledger.money import Currency, Money
from chargeledger.office import accounts_pages
from chargeledger.services import customers
from chargeledger.services.payments import views as payment_views
from tests.integration.access_world import pay
from tests.integration.ocpp_server import Network, seed_network
from tests.integration.office_world import OPERATOR_TZ, office_login
from tests.integration.test_office_http import csrf_of
from tests.integration.test_office_tariffs import unlabelled

ROW = re.compile(r'data-account="([0-9a-f-]{36})"')
VISA = "4242424242424242"


@dataclasses.dataclass
class Accounts:
    driver: Account
    fleet: Account
    network: Network


def entry(kind: EntryKind, source: str, debit: str, credit: str, amount: str) -> JournalEntry:
    return JournalEntry(
        kind=kind,
        booked_on=date(2026, 3, 2),
        description=f"test {source}",
        postings=(
            Posting(debit, Money.of(Decimal(amount), "EUR")),
            Posting(credit, Money.of(-Decimal(amount), "EUR")),
        ),
        source_type="test",
        source_id=source,
    )


@pytest.fixture
async def world(runtime: Runtime) -> Accounts:
    runtime.settings = dataclasses.replace(runtime.settings, operator_time_zone=OPERATOR_TZ)
    network = await seed_network(runtime)
    assert network.account is not None
    driver = network.account
    async with runtime.uow() as uow:
        fleet = await customers.create_account(
            uow,
            runtime.clock,
            runtime.vat_ids,
            Account(
                kind=AccountKind.BUSINESS,
                name="Fleet Co",
                email="billing@fleet.example.org",
                billing_address=Address("Ring 3", "10115", "Berlin", "DE"),
                currency=Currency.of("EUR"),
                reference="FLEET-7",
            ),
        )
        await uow.commit()
    await pay(runtime, driver)
    async with runtime.uow() as uow:
        await uow.ledger.add(
            [
                entry(
                    EntryKind.WALLET_DEBIT,
                    "spent",
                    wallet_account(driver.id),
                    receivable(driver.id),
                    "5.00",
                ),
                entry(
                    EntryKind.CHARGE_ACCRUED,
                    "accrued",
                    unbilled(driver.id),
                    "Income:Charging:Energy",
                    "11.90",
                ),
            ],
            runtime.clock.now(),
        )
        await uow.commit()
    return Accounts(driver, fleet, network)


async def test_list_search_kind_paging_and_csv(
    runtime: Runtime,
    client: httpx.AsyncClient,
    world: Accounts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    driver, fleet = str(world.driver.id), str(world.fleet.id)
    every = await client.get("/office/accounts")
    assert every.status_code == 200
    assert unlabelled(every) == []
    assert ROW.findall(every.text) == [driver, fleet]  # by name
    cases = {
        "kind=business": [fleet],
        "kind=individual": [driver],
        "q=driver.one%40example": [driver],
        "q=fleet-7": [fleet],
        f"q={fleet}": [fleet],
        f"q={fleet}&kind=individual": [],
        f"q={uuid.uuid4()}": [],
        "q=Fleet&kind=individual": [],
    }
    for query, expected in cases.items():
        page = await client.get(f"/office/accounts?{query}")
        assert page.status_code == 200, query
        assert ROW.findall(page.text) == expected, query
    bad = await client.get("/office/accounts", params={"kind": "robot"})
    assert bad.status_code == 422
    assert "<code>invalid_filter</code>" in bad.text

    monkeypatch.setattr(accounts_pages, "PAGE_SIZE", 1)
    first = await client.get("/office/accounts")
    assert ROW.findall(first.text) == [driver]
    found = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert found is not None
    assert ROW.findall((await client.get(found.group(1).replace("&amp;", "&"))).text) == [fleet]

    download = await client.get("/office/accounts", params={"kind": "business", "format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    header, *lines = list(csv.reader(io.StringIO(download.text)))
    assert header == list(accounts_pages.COLUMNS)
    assert [line[:6] for line in lines] == [
        [fleet, "Fleet Co", "business", "billing@fleet.example.org", "FLEET-7", "EUR"]
    ]


async def test_detail_for_finance_shows_tokens_cards_wallet_and_statement(
    runtime: Runtime, client: httpx.AsyncClient, world: Accounts
) -> None:
    driver = world.driver
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(f"/office/accounts/{driver.id}")
    assert page.status_code == 200, page.text
    text = page.text
    for uid, status in (("04AABBCCDD", "active"), ("04BLOCKED1", "blocked")):
        token = world.network.tokens[uid]
        found = re.search(rf'data-token="{token.id}">.*?data-field="status">(\w+)<', text, re.S)
        assert found is not None
        assert found.group(1) == status
    [card] = await payment_views_cards(runtime, driver.id)
    assert f"<td>{card.brand}</td><td>•••• 4242</td>" in text
    # never more of the card than its last four: no longer run of its digits, no PSP token
    assert re.search(r"4242\W*4242", text) is None
    assert VISA not in text
    assert card.token not in text
    balance = re.search(r'id="wallet-balance">([^<]+)<', text)
    assert balance is not None
    assert balance.group(1) == "15.00"
    tables = dict(
        re.findall(r'data-ledger-account="([^"]+)">.*?<tfoot>.*?"num">([^<]+)<', text, re.S)
    )
    assert tables[unbilled(driver.id)] == "11.90"
    assert tables[receivable(driver.id)] == "-5.00"
    assert f'href="/office/sessions?q={driver.id}"' in text
    assert f'href="/office/invoices?q={driver.id}"' in text
    missing = await client.get(f"/office/accounts/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "account_not_found"


async def payment_views_cards(runtime: Runtime, account_id: uuid.UUID) -> list[StoredCard]:
    async with runtime.uow() as uow:
        return list(await payment_views.account_cards(uow, account_id))


async def test_an_operator_sees_no_cards_or_wallet(
    runtime: Runtime, client: httpx.AsyncClient, world: Accounts
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"/office/accounts/{world.driver.id}")
    assert page.status_code == 200
    assert 'id="payments-hidden"' in page.text
    assert 'id="cards"' not in page.text
    assert "4242" not in page.text
    assert 'data-ledger-account="' in page.text  # the statement is every reader's (ReadBilling)


async def token_status(runtime: Runtime, token_id: uuid.UUID) -> TokenStatus:
    async with runtime.uow() as uow:
        token = await uow.tokens.get(token_id)
    assert token is not None
    return token.status


async def test_block_and_unblock_a_token_in_two_steps(
    runtime: Runtime, client: httpx.AsyncClient, world: Accounts
) -> None:
    driver, token = world.driver, world.network.tokens["04AABBCCDD"]
    target = f"/office/accounts/{driver.id}/tokens/{token.id}/status"
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"/office/accounts/{driver.id}")
    csrf = csrf_of(page)
    asked = await client.post(target, data={"csrf": csrf, "status": "blocked"})
    assert asked.status_code == 200
    assert 'id="token-confirm"' in asked.text
    assert unlabelled(asked) == []
    assert await token_status(runtime, token.id) is TokenStatus.ACTIVE  # only asked so far
    for _ in range(2):  # a double submit blocks once, harmlessly
        done = await client.post(target, data={"csrf": csrf, "status": "blocked", "confirm": "yes"})
        assert done.status_code == 303
        assert await token_status(runtime, token.id) is TokenStatus.BLOCKED
    shown = await client.get(done.headers["location"])
    assert 'id="done"' in shown.text
    unblock = await client.post(target, data={"csrf": csrf, "status": "active", "confirm": "yes"})
    assert unblock.status_code == 303
    assert await token_status(runtime, token.id) is TokenStatus.ACTIVE

    bad = await client.post(target, data={"csrf": csrf, "status": "expired", "confirm": "yes"})
    assert bad.status_code == 422
    assert '<code class="error-code">invalid_token_status</code>' in bad.text
    elsewhere = f"/office/accounts/{world.fleet.id}/tokens/{token.id}/status"
    wrong = await client.post(elsewhere, data={"csrf": csrf, "status": "blocked", "confirm": "yes"})
    assert wrong.status_code == 404
    assert '<code class="error-code">token_not_found</code>' in wrong.text
    assert await token_status(runtime, token.id) is TokenStatus.ACTIVE


async def test_csrf_and_roles(runtime: Runtime, client: httpx.AsyncClient, world: Accounts) -> None:
    driver, token = world.driver, world.network.tokens["04AABBCCDD"]
    target = f"/office/accounts/{driver.id}/tokens/{token.id}/status"
    form = {"status": "blocked", "confirm": "yes"}
    await office_login(runtime, client, Role.FINANCE)
    for csrf in (None, "0" * 64):
        forged = form if csrf is None else {**form, "csrf": csrf}
        refused = await client.post(target, data=forged)
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "csrf_failed"
    for role in (Role.DRIVER, Role.FLEET_MANAGER):
        await office_login(runtime, client, role)
        for path in ("/office/accounts", f"/office/accounts/{driver.id}"):
            theirs = await client.get(path)
            assert theirs.status_code == 403
            assert theirs.headers["x-error-code"] == "permission_denied"
        refused = await client.post(target, data={**form, "csrf": csrf_of(theirs)})
        assert refused.status_code == 403
    client.cookies.clear()
    anonymous = await client.get(f"/office/accounts/{driver.id}")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/office/login"
    assert await token_status(runtime, token.id) is TokenStatus.ACTIVE
