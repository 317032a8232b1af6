"""What the driver app's charging browser tests share: the depot's CP16-AC under the 0.40
EUR/kWh tariff (19 % VAT), and a driver of a prepaid account with a stored sandbox card and
30.00 EUR in the wallet, so that the stop is paid from the wallet and the receipt issued at
once (the operator's details configured, as in ``serve``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.payment_routes import decide_payment_route
from chargeledger.services import identity, tariffs
from chargeledger.services.payments.wallets import top_up
from tests.conftest import TEST_PASSWORD
from tests.integration.billing_api import TARIFF, configure_operator
from tests.integration.ocpp_support import CP16, World, price_station
from tests.integration.payment_world import add_customer, card_for

WALLET_TAG = "04WALLET16"


@dataclass(frozen=True)
class WalletDriver:
    account: Account
    email: str


def configure_receipts(runtime: Runtime) -> None:
    configure_operator(runtime)
    runtime.payments.seller = runtime.settings.seller()  # receipts at once, as in serve


async def wallet_driver(runtime: Runtime, world: World) -> WalletDriver:
    await price_station(runtime, world, CP16, TARIFF)
    prepaid = await add_customer(
        runtime, "Wallet Driver", WALLET_TAG, TokenType.RFID, BillingMode.PREPAID
    )
    await top_up(runtime.payments, prepaid, Decimal("30.00"), await card_for(runtime, prepaid))
    email = f"driver.{uuid.uuid4().hex[:8]}@example.org"
    async with runtime.uow() as uow:
        await identity.create_user(
            uow,
            runtime.clock,
            runtime.hasher,
            email=email,
            password=TEST_PASSWORD,
            role=Role.DRIVER,
            account_id=prepaid.id,
        )
        await uow.commit()
    return WalletDriver(prepaid, email)


async def sessions_last_month(
    runtime: Runtime, station_id: uuid.UUID, charged: Sequence[tuple[Account, int]]
) -> list[Session]:
    """One completed session per (account, kWh), a day apart last month, under the 0.40
    EUR/kWh tariff (19 % VAT: 4.76 EUR for 10 kWh), not yet charged."""
    async with runtime.uow() as uow:
        tariff = await tariffs.import_tariff(uow, runtime.clock, TARIFF)
        await uow.commit()
    now = datetime.now(UTC)
    last_month = now.replace(day=1, hour=10, minute=0, second=0, microsecond=0) - timedelta(days=20)
    made: list[Session] = []
    async with runtime.uow() as uow:
        for day, (account, kwh) in enumerate(charged):
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
