"""The world of the driver app's pay browser test (``test_driver_app_pay_browser.py``, issue
16): a driver of a prepaid account with a stored sandbox Visa, 30.00 EUR in the wallet and one
open invoice (of last month, from a run while the account was still postpaid), built through
the services and the REST API as the payment tests build theirs (``payment_world``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.charging import Session
from chargeledger.domain.identity import Role
from chargeledger.services import identity
from chargeledger.services.payments.wallets import top_up
from tests.conftest import TEST_PASSWORD
from tests.e2e.driver_world import sessions_last_month
from tests.integration.ocpp_server import seed_network
from tests.integration.payment_world import add_customer, card_for

API = "/api/v1"


async def prepaid_driver_with_an_open_invoice(
    runtime: Runtime, client: httpx.AsyncClient, finance: dict[str, str]
) -> tuple[Account, list[Session], str]:
    """The account, its two sessions (invoiced) and the driver's e-mail."""
    network = await seed_network(runtime)
    account = await add_customer(
        runtime, "Wallet Driver", "04PAYAPP01", TokenType.RFID, BillingMode.POSTPAID
    )
    sessions = await sessions_last_month(
        runtime, network.stations["CP16-AC"].id, [(account, 10), (account, 20)]
    )
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    run = await client.post(f"{API}/invoice-runs", json={"period": last_month}, headers=finance)
    assert run.status_code == 200, run.text
    prepaid = await client.patch(
        f"{API}/accounts/{account.id}", json={"billing_mode": "prepaid"}, headers=finance
    )
    assert prepaid.status_code == 200, prepaid.text
    card = await card_for(runtime, account)
    await top_up(runtime.payments, account, Decimal("30.00"), card, uuid.uuid4())
    return account, sessions, await driver_of(runtime, account)


async def driver_of(runtime: Runtime, account: Account) -> str:
    """A driver login of ``account``; its e-mail."""
    email = f"driver.{uuid.uuid4().hex[:8]}@example.org"
    async with runtime.uow() as uow:
        await identity.create_user(
            uow,
            runtime.clock,
            runtime.hasher,
            email=email,
            password=TEST_PASSWORD,
            role=Role.DRIVER,
            account_id=account.id,
        )
        await uow.commit()
    return email


async def api_get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> Any:
    answer = await client.get(f"{API}{path}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
