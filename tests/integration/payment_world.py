"""A served world for payment tests: the OCPP test network (ocpp_support.open_world) with a
flat tariff on every station, the operator configured as seller, and one customer per way
of paying: an RFID card on a postpaid account, an app token whose account has a stored card,
and a prepaid account with a wallet. Cards are tokenised by the sandbox PSP."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx

from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, BillingMode, Token, TokenType
from chargeledger.domain.geo import Address
from chargeledger.domain.ledger import trial_balance
from chargeledger.domain.payments import Payment, PaymentState, StoredCard, fold
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import customers, tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payment_methods import store_card
from chargeledger.services.wallets import top_up, wallet_balance
from tests.integration.billing_world import SELLER
from tests.integration.ocpp_support import CP16, CP201, LoginAs, World, open_world

APP_TAG = "APP0000001"
WALLET_TAG = "04WALLET01"
VISA = "4242424242424242"


@dataclass
class PaymentWorld:
    world: World
    runtime: Runtime
    app_account: Account
    app_card: StoredCard
    wallet_account: Account
    wallet_card: StoredCard

    @property
    def sandbox(self) -> SandboxGateway:
        sandbox = self.runtime.sandbox
        assert sandbox is not None
        return sandbox

    async def payments(self) -> list[tuple[Payment, PaymentState]]:
        async with self.runtime.uow() as uow:
            found = await uow.payments.all()
            return [(p, fold(await uow.payments.events(p.id))) for p in found]

    async def wallet(self) -> Decimal:
        async with self.runtime.uow() as uow:
            return await wallet_balance(uow, self.wallet_account.id)

    async def trial_balance(self) -> dict[str, Decimal]:
        async with self.runtime.uow() as uow:
            return trial_balance(await uow.ledger.balances())


async def add_customer(
    runtime: Runtime, name: str, tag: str, token_type: TokenType, mode: BillingMode
) -> Account:
    async with runtime.uow() as uow:
        account = await customers.create_account(
            uow,
            runtime.clock,
            Account(
                kind=AccountKind.INDIVIDUAL,
                name=name,
                email=f"{tag.lower()}@example.org",
                billing_address=Address("Ring 3", "10115", "Berlin", "DE"),
                currency=Currency.of("EUR"),
                billing_mode=mode,
            ),
        )
        await customers.create_token(
            uow, runtime.clock, Token(uid=tag, type=token_type, account_id=account.id)
        )
    return account


async def card_for(runtime: Runtime, account: Account, number: str = VISA) -> StoredCard:
    sandbox = runtime.sandbox
    assert sandbox is not None
    details = sandbox.tokenise(number, 12, 2030, "123")
    return await store_card(runtime.payments, account, details.token, "sandbox", True)


@contextlib.asynccontextmanager
async def payment_world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[PaymentWorld]:
    runtime.payments.seller = SELLER
    runtime.payments.time_zone = "Europe/Berlin"
    async with open_world(runtime, client, login_as) as world:
        async with runtime.uow() as uow:
            stored = await tariffs.import_tariff(
                uow, runtime.clock, flat_with_session_fee(Decimal(19))
            )
            for cpid in (CP16, CP201):
                await tariffs.assign_tariff(
                    uow, runtime.clock, stored.id, TariffScope.STATION, str(world.station_id(cpid))
                )
        app = await add_customer(
            runtime, "App Driver", APP_TAG, TokenType.APP, BillingMode.POSTPAID
        )
        prepaid = await add_customer(
            runtime, "Wallet Driver", WALLET_TAG, TokenType.RFID, BillingMode.PREPAID
        )
        app_card = await card_for(runtime, app)
        wallet_card = await card_for(runtime, prepaid)
        await top_up(runtime.payments, prepaid, Decimal("30.00"), wallet_card, uuid.uuid4())
        await runtime.quiesce()
        yield PaymentWorld(world, runtime, app, app_card, prepaid, wallet_card)
        await runtime.quiesce()
