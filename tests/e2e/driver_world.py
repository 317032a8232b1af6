"""What the driver app's charging browser tests share: the depot's CP16-AC under the 0.40
EUR/kWh tariff (19 % VAT), and a driver of a prepaid account with a stored sandbox card and
30.00 EUR in the wallet, so that the stop is paid from the wallet and the receipt issued at
once (the operator's details configured, as in ``serve``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.identity import Role
from chargeledger.services import identity
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
