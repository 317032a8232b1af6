"""The records the route × role walk of ``test_access_control`` stands on and the fingerprint
that shows whether a refused request changed anything (the request sent to each route is in
``access_requests``).

Billing (issue 5): the world's account has January invoiced and issued (the document every
reader reads and finance credits), March's charge on a draft (for ``/issue``) and February's
charge not yet invoiced, so that ``POST /invoice-runs`` has something to do and a refused run
would show in the fingerprint (documents, number counters, charges and journal entries).

Payments (issue 6): the account has a sandbox card and a wallet topped up by 20.00 (the payment
every reader reads and finance refunds from); the walk stores and removes cards, sets the
wallet's rules, tops up and pays the January invoice, so the fingerprint also holds every
payment with its event log, the account's cards and its wallet rules.

Contracts (issue 14): a partner, a fleet contract of the account with a signed PDF
(``access_contracts``); the fingerprint holds every partner and contract with its versions,
coverage, documents and milestones.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role, Scope
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import catalog, customers, identity, tariffs
from chargeledger.services.billing import invoicing
from chargeledger.services.payments.methods import store_card
from chargeledger.services.payments.wallets import top_up
from tests.integration.access_contracts import ContractWorld, build_contracts, contract_state
from tests.integration.billing_api import billing_state, configure_operator
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    ChargeSpec,
    FixedClock,
    Place,
    book_charges,
    utc,
)

Json = dict[str, Any]


@dataclass
class World:
    """Real records to fill path parameters with; the account-bound principals belong to
    ``account``, so an allowed request of theirs reaches their own data."""

    runtime: Runtime
    account: Account
    site: Site
    station_id: uuid.UUID
    evse: Evse
    token: Token
    user_id: uuid.UUID
    key_id: uuid.UUID
    invoice_id: uuid.UUID  # issued, of ``account``
    draft_id: uuid.UUID  # a draft of ``account``
    payment_id: uuid.UUID  # a captured wallet top-up of ``account``
    tariff_id: uuid.UUID  # net prices (no VAT stated): it may be assigned anywhere
    contracts: ContractWorld  # a partner, a contract of ``account`` and its document
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next(self) -> int:
        return next(self.serial)


def _address() -> Address:
    return Address("Hauptstr. 1", "10115", "Berlin", "DE")


def new_account(name: str) -> Account:
    return Account(
        kind=AccountKind.INDIVIDUAL,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        billing_address=_address(),
        currency=Currency.of("EUR"),
    )


def connector(max_power_kw: str = "22") -> Connector:
    return Connector(
        connector_id=1,
        standard=ConnectorStandard.IEC_62196_T2,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_power_kw=Decimal(max_power_kw),
    )


def tariff_json(n: int) -> Json:
    return {
        "id": f"WALK-{n}",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "0.39", "step_size": 1}]}],
    }


def new_site(name: str) -> Site:
    return Site(
        name=name,
        address=_address(),
        latitude=Decimal("52.52"),
        longitude=Decimal("13.40"),
        time_zone="Europe/Berlin",
    )


async def build_world(runtime: Runtime) -> World:
    """Made through the services (fast, and not what is under test here)."""
    clock = runtime.clock
    async with runtime.uow() as uow:
        account = await customers.create_account(
            uow, clock, runtime.vat_ids, new_account("Alpha Household")
        )
        await uow.commit()
    async with runtime.uow() as uow:
        site = await catalog.create_site(uow, clock, new_site("Depot"))
        await uow.commit()
    async with runtime.uow() as uow:
        station = await catalog.create_station(
            uow,
            clock,
            runtime.station_secrets,
            {
                "site_id": site.id,
                "charge_point_id": "CP-WORLD",
                "vendor": "V",
                "model": "M",
                "security_profile": 3,
            },
            None,
        )
        await uow.commit()
    async with runtime.uow() as uow:
        evse = await catalog.create_evse(
            uow, clock, Evse(station_id=station.id, evse_id=1, connectors=(connector(),))
        )
        await uow.commit()
    async with runtime.uow() as uow:
        token = await customers.create_token(
            uow, clock, Token(uid="A1A1A1A1", type=TokenType.RFID, account_id=account.id)
        )
        await uow.commit()
    async with runtime.uow() as uow:
        user = await identity.create_user(
            uow,
            clock,
            runtime.hasher,
            email="someone@example.org",
            password="a long enough password",
            role=Role.FINANCE,
        )
        await uow.commit()
    async with runtime.uow() as uow:
        key, _ = await identity.create_api_key(
            uow, clock, name="bystander", scopes=[Scope.CATALOG_READ]
        )
        await uow.commit()
    invoice_id, draft_id = await bill(runtime, Place(site, station), account)
    payment_id = await pay(runtime, account)
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, clock, tariff_json(0))
        await uow.commit()
    contracts = await build_contracts(runtime, account.id)
    return World(
        runtime,
        account,
        site,
        station.id,
        evse,
        token,
        user.id,
        key.id,
        invoice_id,
        draft_id,
        payment_id,
        stored.id,
        contracts,
    )


async def sandbox_token(runtime: Runtime) -> str:
    """A card tokenised by the sandbox PSP (the card number goes to the PSP only)."""
    sandbox = runtime.sandbox
    assert sandbox is not None
    return (await sandbox.tokenise("4242424242424242", 12, 2030, "123")).token


async def pay(runtime: Runtime, account: Account) -> uuid.UUID:
    """A stored card on ``account`` and a top-up of 20.00 from it, its webhooks delivered."""
    card = await store_card(
        runtime.payments, account, await sandbox_token(runtime), "sandbox", True
    )
    payment, _ = await top_up(runtime.payments, account, Decimal("20.00"), card)
    await runtime.quiesce()
    return payment.id


async def bill(runtime: Runtime, place: Place, account: Account) -> tuple[uuid.UUID, uuid.UUID]:
    """A charge of 10.00 net (19 % VAT) in each of January to March 2026: January invoiced
    and issued, March on a draft, February left for the walk's invoice run. Also configures
    the operator, which ``POST /invoice-runs`` needs."""
    configure_operator(runtime)
    clock = FixedClock(runtime.clock.now())
    specs = {
        month: ChargeSpec(place, account, utc(f"2026-{month}-10T10:00"), {"Energy": "10.00"})
        for month in ("01", "02", "03")
    }
    await book_charges(runtime, clock, specs)
    january = await invoicing.run_invoices(runtime.uow, clock, SELLER, OPERATOR_TZ, "2026-01")
    march = await invoicing.run_invoices(
        runtime.uow, clock, SELLER, OPERATOR_TZ, "2026-03", issue=False
    )
    [invoice], [draft] = january.issued, march.drafts
    return invoice.id, draft.id


async def fingerprint(world: World) -> tuple[object, ...]:
    """Everything a denied request could have changed: how many records of each kind, which
    keys are revoked and users active, the records the walk aims its changes at, every
    document, number counter, charge and journal entry, every payment with its events,
    the account's cards and its wallet rules, and every partner and contract with its
    versions, coverage, documents and milestones. Webhooks the sandbox PSP still has on their way
    (from an earlier, allowed request) are delivered first."""
    await world.runtime.quiesce()
    async with world.runtime.uow() as uow:
        repositories = (
            uow.sites,
            uow.stations,
            uow.evses,
            uow.accounts,
            uow.tokens,
            uow.users,
            uow.api_keys,
            uow.tariffs,
        )
        counts = tuple([await repository.count() for repository in repositories])
        keys = (await uow.api_keys.list(limit=1000, offset=0)).items
        users = (await uow.users.list(limit=1000, offset=0)).items
        targets = (
            await uow.sites.get(world.site.id),
            await uow.stations.get(world.station_id),
            await uow.evses.get(world.evse.id),
            await uow.accounts.get(world.account.id),
            await uow.tokens.get(world.token.id),
        )
        payments = await uow.payments.all()
        events = await uow.payments.events_of([p.id for p in payments])
        paid = tuple(sorted((str(p.id), len(events[p.id])) for p in payments))
        cards = tuple(
            sorted((str(c.id), c.is_default) for c in await uow.payments.cards(world.account.id))
        )
        wallet_rules = await uow.payments.wallet(world.account.id)
        priced_by = await uow.tariffs.assigned(TariffScope.SITE, str(world.site.id))
    return (
        counts,
        tuple(sorted((str(k.id), k.revoked_at) for k in keys)),
        tuple(sorted((str(u.id), u.active) for u in users)),
        targets,
        await billing_state(world.runtime),
        (paid, cards, wallet_rules),
        priced_by,
        await contract_state(world.runtime),
    )
