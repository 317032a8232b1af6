"""A served world for payment tests: the OCPP test network (ocpp_support.open_world) with a
flat tariff on every station, the operator configured as seller, and one customer per way
of paying: an RFID card on a postpaid account, an app token whose account has a stored card,
and a prepaid account with a wallet. Cards are tokenised by the sandbox PSP."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, BillingMode, Token, TokenType
from chargeledger.domain.geo import Address
from chargeledger.domain.ledger import EntryKind, JournalEntry, trial_balance
from chargeledger.domain.payments import (
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentState,
    StoredCard,
    fold,
)
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import customers, tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payments.gateway import ProviderView
from chargeledger.services.payments.methods import store_card
from chargeledger.services.payments.wallets import top_up, wallet_balance
from tests.integration.billing_world import SELLER
from tests.integration.ocpp_server import Network, seed_network
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

    # --- helpers of the end-to-end payment tests (test_payments_*.py) ------------------------

    async def assert_books_balance(self) -> None:
        """Every entry balances, so the trial balance is zero in every currency."""
        async with self.runtime.uow() as uow:
            assert await uow.ledger.unbalanced() == []
        assert all(total == 0 for total in (await self.trial_balance()).values())

    async def balance(self, account: str) -> Decimal:
        """The balance of exactly one ledger account (sub-accounts not included)."""
        async with self.runtime.uow() as uow:
            found = await uow.ledger.balances(prefix=account)
        return sum((b.balance for b in found if b.account == account), Decimal(0))

    async def entries(self, kind: EntryKind) -> list[JournalEntry]:
        async with self.runtime.uow() as uow:
            return [e for e in await uow.ledger.entries() if e.kind is kind]

    async def payments_of(
        self, method: PaymentMethodKind, purpose: PaymentPurpose | None = None
    ) -> list[tuple[Payment, PaymentState]]:
        return [
            (p, s)
            for p, s in await self.payments()
            if p.method is method and (purpose is None or p.purpose is purpose)
        ]

    async def events(self, payment: Payment) -> list[PaymentEvent]:
        async with self.runtime.uow() as uow:
            return await uow.payments.events(payment.id)

    async def at_psp(self, payment: Payment) -> ProviderView:
        """What the sandbox PSP itself knows of a payment (held, captured, released)."""
        view = await self.sandbox.lookup(reference=str(payment.id), provider_ref=None)
        assert view is not None
        return view

    async def tokenise(self, number: str = VISA) -> str:
        """The PSP's card field over HTTP (what the checkout page's script does)."""
        body = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
        response = await self.world.http.post("/sandbox-psp/v1/tokens", json=body)
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        assert token.startswith("tok_")
        return token


@dataclass
class WebhookRecorder:
    """Points the sandbox's webhooks at the real endpoint (``POST /api/v1/webhooks/sandbox``
    over the app) and keeps every delivery, so that a test can deliver one again."""

    http: httpx.AsyncClient
    deliveries: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    def install(self, sandbox: SandboxGateway) -> WebhookRecorder:
        sandbox.deliver_webhooks_to(self.deliver)
        return self

    async def post(self, payload: bytes, headers: Mapping[str, str]) -> httpx.Response:
        return await self.http.post(
            "/api/v1/webhooks/sandbox",
            content=payload,
            headers={**headers, "Content-Type": "application/json"},
        )

    async def deliver(self, payload: bytes, headers: Mapping[str, str]) -> int:
        self.deliveries.append((payload, dict(headers)))
        return (await self.post(payload, headers)).status_code

    def of_type(self, kind: str) -> list[tuple[bytes, dict[str, str]]]:
        return [(p, h) for p, h in self.deliveries if json.loads(p)["type"] == kind]


async def add_customer(
    runtime: Runtime, name: str, tag: str, token_type: TokenType, mode: BillingMode
) -> Account:
    async with runtime.uow() as uow:
        account = await customers.create_account(
            uow,
            runtime.clock,
            runtime.vat_ids,
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
        await uow.commit()
    return account


async def card_for(runtime: Runtime, account: Account, number: str = VISA) -> StoredCard:
    sandbox = runtime.sandbox
    assert sandbox is not None
    details = await sandbox.tokenise(number, 12, 2030, "123")
    return await store_card(runtime.payments, account, details.token, "sandbox", True)


async def priced_network(runtime: Runtime) -> Network:
    """The OCPP test network's catalog (no server) with the flat tariff on ``CP16``'s EVSEs:
    enough for the QR checkout page and its hold."""
    network = await seed_network(runtime)
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, flat_with_session_fee(Decimal(19)))
        await tariffs.assign_tariff(
            uow,
            runtime.clock,
            stored.id,
            TariffScope.STATION,
            str(network.stations[CP16].id),
            runtime.settings.vat_rates,
        )
        await uow.commit()
    return network


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
                    uow,
                    runtime.clock,
                    stored.id,
                    TariffScope.STATION,
                    str(world.station_id(cpid)),
                    runtime.settings.vat_rates,
                )
            await uow.commit()
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
