"""Who sets a wallet's minimum (issue 11 item 5), through the REST API on both back ends.

The operator's floor is credit policy: finance (and admins) set it per account, or the account
follows the operator-wide default (``CHARGELEDGER_WALLET_FLOOR``). A driver or fleet manager
may set a minimum of their own, but only at or above the floor and within sane bounds; the
wallet is held to the higher of the two, at Authorize (over real OCPP here) and while a
session runs (``test_wallet_credit_control.py``). Before, the one ``minimum_balance`` was the
driver's to set: 0 let a wallet charge with nothing in it, and 1e20 was a 500 on PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargeledger.bootstrap import Runtime
from chargeledger.config import Settings
from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.identity import Role
from chargeledger.errors import ConfigurationError
from tests.conftest import LoginAs
from tests.integration.ocpp_support import Station16, Station201, connected
from tests.integration.payment_world import (
    WALLET_TAG,
    PaymentWorld,
    add_customer,
)

API = "/api/v1"
D = Decimal
Headers = dict[str, str]
# Not amounts a wallet can have: refused by the schema's bounds (422), never a 500.
# Above the wallet's bounds: refused under the domain's own code (as the domain refuses them);
# not an amount at all: refused by the schema.
TOO_LARGE: tuple[Any, ...] = ("1e20", 1e20, "1e308", 1e308, "10000.01")
NOT_AN_AMOUNT: tuple[Any, ...] = ("NaN", "Infinity", "-1")
ABSURD = tuple((value, "invalid_wallet_settings") for value in TOO_LARGE) + tuple(
    (value, "invalid_request") for value in NOT_AN_AMOUNT
)


@pytest.fixture
async def prepaid(runtime: Runtime) -> Account:
    return await add_customer(runtime, "Prepaid", "04PREPAID1", TokenType.RFID, BillingMode.PREPAID)


class Wallets:
    def __init__(self, client: httpx.AsyncClient, account: Account) -> None:
        self.client = client
        self.path = f"{API}/accounts/{account.id}/wallet"

    async def get(self, headers: Headers) -> dict[str, Any]:
        response = await self.client.get(self.path, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def own(self, headers: Headers, minimum: Any, **rules: Any) -> httpx.Response:
        return await self.client.put(
            self.path, json={"minimum_balance": minimum, **rules}, headers=headers
        )

    async def floor(self, headers: Headers, floor: Any) -> httpx.Response:
        return await self.client.put(f"{self.path}/floor", json={"floor": floor}, headers=headers)


def minimums(body: dict[str, Any]) -> tuple[D | None, D, D | None, D]:
    """(own minimum, floor that applies, account's floor, effective minimum)."""

    def amount(value: Any) -> D | None:
        return None if value is None else D(value)

    return (
        amount(body["minimum_balance"]),
        D(body["floor"]),
        amount(body["account_floor"]),
        D(body["effective_minimum"]),
    )


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


@pytest.mark.parametrize("role", [Role.DRIVER, Role.FLEET_MANAGER], ids=str)
async def test_a_driver_or_fleet_manager_may_only_raise_the_floor(
    client: httpx.AsyncClient, login_as: LoginAs, prepaid: Account, role: Role
) -> None:
    me = await login_as(role, prepaid.id)
    wallets = Wallets(client, prepaid)
    before = await wallets.get(me)
    assert minimums(before) == (None, D("5.00"), None, D("5.00"))

    for below in ("0", "0.00", "4.99", 0):
        error = refused(await wallets.own(me, below), 422, "minimum_below_floor")
        assert (error["field"], error["details"]) == ("minimum_balance", {"floor": "5.00"})
    for absurd, code in ABSURD:
        refused(await wallets.own(me, absurd), 422, code)
    refused(await wallets.own(me, "5.00", top_up_amount="1e20"), 422, "invalid_wallet_settings")
    for floor in ("0", None, "100.00"):
        refused(await wallets.floor(me, floor), 403, "permission_denied")
    assert await wallets.get(me) == before  # nothing refused changed anything

    raised = await wallets.own(me, "12.50")
    assert raised.status_code == 200, raised.text
    assert minimums(raised.json()) == (D("12.50"), D("5.00"), None, D("12.50"))
    at_floor = await wallets.own(me, "5.00", auto_top_up=True)
    assert minimums(at_floor.json()) == (D("5.00"), D("5.00"), None, D("5.00"))
    none = await wallets.own(me, None)
    assert minimums(none.json()) == (None, D("5.00"), None, D("5.00"))
    assert await wallets.get(me) == none.json()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ADMIN], ids=str)
async def test_finance_sets_the_floor_of_an_account(
    client: httpx.AsyncClient, login_as: LoginAs, prepaid: Account, role: Role
) -> None:
    clerk = await login_as(role)
    driver = await login_as(Role.DRIVER, prepaid.id)
    wallets = Wallets(client, prepaid)

    set_floor = await wallets.floor(clerk, "12.00")
    assert set_floor.status_code == 200, set_floor.text
    assert minimums(set_floor.json()) == (None, D("12.00"), D("12.00"), D("12.00"))
    assert minimums(await wallets.get(driver)) == (None, D("12.00"), D("12.00"), D("12.00"))
    error = refused(await wallets.own(driver, "10.00"), 422, "minimum_below_floor")
    assert error["details"] == {"floor": "12.00"}
    # whoever sets the own minimum, it is never under the floor: finance lowers the floor
    refused(await wallets.own(clerk, "10.00"), 422, "minimum_below_floor")

    assert (await wallets.own(driver, "15.00")).status_code == 200
    lowered = await wallets.floor(clerk, "3.00")
    assert minimums(lowered.json()) == (D("15.00"), D("3.00"), D("3.00"), D("15.00"))
    assert (await wallets.own(driver, "3.00")).status_code == 200
    assert minimums(await wallets.get(clerk)) == (D("3.00"), D("3.00"), D("3.00"), D("3.00"))
    # back to the operator-wide default: the driver's 3.00 is now under it, the floor applies
    default = await wallets.floor(clerk, None)
    assert minimums(default.json()) == (D("3.00"), D("5.00"), None, D("5.00"))

    for bad, code in ABSURD:
        refused(await wallets.floor(clerk, bad), 422, code)
    error = refused(await wallets.floor(clerk, "5.001"), 422, "invalid_wallet_settings")
    assert error["field"] == "floor"
    refused(await _no_floor_field(wallets, clerk), 422, "invalid_request")
    assert minimums(await wallets.get(clerk)) == (D("3.00"), D("5.00"), None, D("5.00"))


async def _no_floor_field(wallets: Wallets, headers: Headers) -> httpx.Response:
    """``floor`` must be said, even as null: a PUT replaces the floor."""
    return await wallets.client.put(f"{wallets.path}/floor", json={}, headers=headers)


async def test_operators_change_neither_minimum(
    client: httpx.AsyncClient, login_as: LoginAs, prepaid: Account
) -> None:
    """Operators run stations, not customers' money (DESIGN §6)."""
    operator = await login_as(Role.OPERATOR)
    wallets = Wallets(client, prepaid)
    refused(await wallets.own(operator, "0"), 403, "permission_denied")
    refused(await wallets.floor(operator, "0"), 403, "permission_denied")


async def test_the_operator_wide_floor_is_a_setting(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, prepaid: Account
) -> None:
    runtime.payments.wallet_floor = D("8.00")
    driver = await login_as(Role.DRIVER, prepaid.id)
    finance = await login_as(Role.FINANCE)
    wallets = Wallets(client, prepaid)
    assert minimums(await wallets.get(driver)) == (None, D("8.00"), None, D("8.00"))
    refused(await wallets.own(driver, "7.99"), 422, "minimum_below_floor")
    assert (await wallets.floor(finance, "2.00")).status_code == 200  # a trusted customer
    allowed = await wallets.own(driver, "2.00")
    assert minimums(allowed.json()) == (D("2.00"), D("2.00"), D("2.00"), D("2.00"))


def test_the_wallet_floor_setting_is_read_and_checked(tmp_path: Any) -> None:
    base = {"CHARGELEDGER_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).payments.wallet_floor == D("5.00")
    configured = Settings.from_env({**base, "CHARGELEDGER_WALLET_FLOOR": " 7.50 "})
    assert configured.payments.wallet_floor == D("7.50")
    assert Settings.from_env({**base, "CHARGELEDGER_WALLET_FLOOR": "0"}).payments.wallet_floor == 0
    for bad in ("abc", "-1", "1e20", "NaN", "5.001", "10000.01"):
        with pytest.raises(ConfigurationError) as caught:
            Settings.from_env({**base, "CHARGELEDGER_WALLET_FLOOR": bad})
        assert caught.value.code == "invalid_setting"


# --- Authorize over real OCPP ------------------------------------------------------------


async def authorize(pw: PaymentWorld) -> tuple[str, str]:
    """What a 1.6 and a 2.0.1 station are told for the wallet's card (1.6 has no NoCredit)."""
    async with connected(pw.world.url, Station16) as cp:
        old = (await cp.request(call16.Authorize(WALLET_TAG))).id_tag_info["status"]
    async with connected(pw.world.url, Station201) as cs:
        token = {"idToken": WALLET_TAG, "type": "ISO14443"}
        new = (await cs.request(call201.Authorize(id_token=token))).id_token_info["status"]
    return str(old), str(new)


async def test_authorize_holds_the_wallet_to_the_operators_floor(
    pw: PaymentWorld, login_as: LoginAs
) -> None:
    """The wallet holds 30.00. Finance raises its floor to 40.00: refused. The driver's own
    minimum of 0 — what used to let them charge on nothing — is refused and changes nothing."""
    driver = await login_as(Role.DRIVER, pw.wallet_account.id)
    finance = await login_as(Role.FINANCE)
    wallets = Wallets(pw.world.http, pw.wallet_account)
    assert await pw.wallet() == D("30.00")
    assert await authorize(pw) == ("Accepted", "Accepted")

    assert (await wallets.floor(finance, "40.00")).status_code == 200
    assert await authorize(pw) == ("Blocked", "NoCredit")
    refused(await wallets.own(driver, "0"), 422, "minimum_below_floor")
    assert await authorize(pw) == ("Blocked", "NoCredit")

    assert (await wallets.floor(finance, None)).status_code == 200
    assert await authorize(pw) == ("Accepted", "Accepted")
    assert (await wallets.own(driver, "35.00")).status_code == 200  # a driver may raise it
    assert await authorize(pw) == ("Blocked", "NoCredit")
