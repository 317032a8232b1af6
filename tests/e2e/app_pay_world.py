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
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.payment_routes import decide_payment_route
from chargeledger.services import identity, tariffs
from chargeledger.services.payments.wallets import top_up
from tests.conftest import TEST_PASSWORD
from tests.integration.billing_api import TARIFF
from tests.integration.ocpp_server import seed_network
from tests.integration.payment_world import add_customer, card_for

API = "/api/v1"


async def sessions_last_month(
    runtime: Runtime, station_id: uuid.UUID, account: Account
) -> list[Session]:
    """A 10 and a 20 kWh session of ``account`` last month, completed and not yet charged."""
    async with runtime.uow() as uow:
        tariff = await tariffs.import_tariff(uow, runtime.clock, TARIFF)
        await uow.commit()
    now = datetime.now(UTC)
    last_month = now.replace(day=1, hour=10, minute=0, second=0, microsecond=0) - timedelta(days=20)
    made: list[Session] = []
    async with runtime.uow() as uow:
        for day, kwh in enumerate((10, 20)):
            started = last_month + timedelta(days=day)
            session = Session(
                station_id=station_id,
                evse_id=1,
                transaction_ref=uuid.uuid4().hex[:20],
                ocpp_version="1.6",
                started_at=started,
                meter_start_wh=Decimal(0),
                account_id=account.id,
                status=SessionStatus.COMPLETED,
                stopped_at=started + timedelta(minutes=40),
                meter_stop_wh=Decimal(kwh * 1000),
                tariff_id=tariff.id,
                payment_route=decide_payment_route(None, account, None, has_card=False),
                created_at=now,
                updated_at=now,
            )
            await uow.sessions.add(session)
            made.append(session)
        await uow.commit()
    return made


async def prepaid_driver_with_an_open_invoice(
    runtime: Runtime, client: httpx.AsyncClient, finance: dict[str, str]
) -> tuple[Account, list[Session], str]:
    """The account, its two sessions (invoiced) and the driver's e-mail."""
    network = await seed_network(runtime)
    account = await add_customer(
        runtime, "Wallet Driver", "04PAYAPP01", TokenType.RFID, BillingMode.POSTPAID
    )
    sessions = await sessions_last_month(runtime, network.stations["CP16-AC"].id, account)
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
