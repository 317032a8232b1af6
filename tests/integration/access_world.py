"""The records the route × role walk of ``test_access_control`` stands on, the request it
sends to each route, and the fingerprint that shows whether a refused request changed anything.

Billing (issue 5): the world's account has January invoiced and issued (the document every
reader reads and finance credits), March's charge on a draft (for ``/issue``) and February's
charge not yet invoiced, so that ``POST /invoice-runs`` has something to do and a refused run
would show in the fingerprint (documents, number counters, charges and journal entries).

Payments (issue 6): the account has a sandbox card and a wallet topped up by 20.00 (the payment
every reader reads and finance refunds from); the walk stores and removes cards, sets the
wallet's rules, tops up and pays the January invoice, so the fingerprint also holds every
payment with its event log, the account's cards and its wallet rules.
"""

from __future__ import annotations

import inspect
import itertools
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute

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
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next(self) -> int:
        return next(self.serial)


def _address() -> Address:
    return Address("Hauptstr. 1", "10115", "Berlin", "DE")


def _account(name: str) -> Account:
    return Account(
        kind=AccountKind.INDIVIDUAL,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        billing_address=_address(),
        currency=Currency.of("EUR"),
    )


def _connector(max_power_kw: str = "22") -> Connector:
    return Connector(
        connector_id=1,
        standard=ConnectorStandard.IEC_62196_T2,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_power_kw=Decimal(max_power_kw),
    )


def _connector_json() -> Json:
    return {
        "connector_id": 1,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_power_kw": "11",
    }


def _tariff_json(n: int) -> Json:
    return {
        "id": f"WALK-{n}",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "0.39", "step_size": 1}]}],
    }


def _site(name: str) -> Site:
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
            uow, clock, runtime.vat_ids, _account("Alpha Household")
        )
        await uow.commit()
    async with runtime.uow() as uow:
        site = await catalog.create_site(uow, clock, _site("Depot"))
        await uow.commit()
    async with runtime.uow() as uow:
        station = await catalog.create_station(
            uow,
            clock,
            runtime.hasher,
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
            uow, clock, Evse(station_id=station.id, evse_id=1, connectors=(_connector(),))
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
        stored = await tariffs.import_tariff(uow, clock, _tariff_json(0))
        await uow.commit()
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
    )


async def sandbox_token(runtime: Runtime) -> str:
    """A card tokenised by the sandbox PSP (the card number goes to the PSP only)."""
    sandbox = runtime.sandbox
    assert sandbox is not None
    return (await sandbox.tokenise("4242424242424242", 12, 2030, "123")).token


async def card_body(world: World) -> Json:
    return {"token": await sandbox_token(world.runtime)}


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


async def disposable(world: World, param: str) -> uuid.UUID:
    """A fresh record for a DELETE to remove, so the walk never destroys what it stands on."""
    runtime, clock, n = world.runtime, world.runtime.clock, world.next()
    async with runtime.uow() as uow:
        if param == "site_id":
            return (await catalog.create_site(uow, clock, _site(f"Disposable {n}"))).id
        if param == "station_id":
            fields = {
                "site_id": world.site.id,
                "charge_point_id": f"CP-GONE-{n}",
                "vendor": "V",
                "model": "M",
                "security_profile": 3,
            }
            return (await catalog.create_station(uow, clock, runtime.hasher, fields, None)).id
        if param == "evse_id":
            evse = Evse(station_id=world.station_id, evse_id=100 + n, connectors=(_connector(),))
            return (await catalog.create_evse(uow, clock, evse)).id
        if param == "account_id":
            account = await customers.create_account(
                uow, clock, runtime.vat_ids, _account(f"Gone {n}")
            )
            await uow.commit()
            return account.id
        if param == "token_id":
            token = Token(uid=f"GONE{n:04d}", type=TokenType.RFID, account_id=world.account.id)
            created = await customers.create_token(uow, clock, token)
            await uow.commit()
            return created.id
        if param == "key_id":
            key, _ = await identity.create_api_key(
                uow, clock, name=f"gone {n}", scopes=[Scope.CATALOG_READ]
            )
            await uow.commit()
            return key.id
    if param == "card_id":
        token = await sandbox_token(runtime)
        return (await store_card(runtime.payments, world.account, token, "sandbox", False)).id
    return uuid.uuid4()  # a route added later: not found is still "not 401/403"


def existing(world: World, param: str) -> uuid.UUID:
    ids = {
        "invoice_id": world.invoice_id,
        "site_id": world.site.id,
        "station_id": world.station_id,
        "evse_id": world.evse.id,
        "account_id": world.account.id,
        "token_id": world.token.id,
        "user_id": world.user_id,
        "key_id": world.key_id,
        "payment_id": world.payment_id,
        "tariff_id": world.tariff_id,
    }
    return ids.get(param, uuid.uuid4())


BODIES: dict[tuple[str, str], Callable[[World, int], Json | Awaitable[Json]]] = {
    ("POST", "/api/v1/users"): lambda w, n: {
        "email": f"walk{n}@example.org",
        "password": "a long enough password",
        "role": "finance",
    },
    ("PATCH", "/api/v1/users/{user_id}"): lambda w, n: {"active": True},
    ("POST", "/api/v1/api-keys"): lambda w, n: {"name": f"walk {n}", "scopes": ["catalog:read"]},
    ("POST", "/api/v1/sites"): lambda w, n: {
        "name": f"Walk {n}",
        "address": {"street": "A 1", "postal_code": "1", "city": "B", "country": "DE"},
        "latitude": "52.5",
        "longitude": "13.4",
        "time_zone": "Europe/Berlin",
    },
    ("PATCH", "/api/v1/sites/{site_id}"): lambda w, n: {"name": f"Depot {n}"},
    ("POST", "/api/v1/stations"): lambda w, n: {
        "site_id": str(w.site.id),
        "charge_point_id": f"CP-WALK-{n}",
        "vendor": "V",
        "model": "M",
        "security_profile": 3,
    },
    ("PATCH", "/api/v1/stations/{station_id}"): lambda w, n: {"vendor": f"Vendor {n}"},
    ("POST", "/api/v1/evses"): lambda w, n: {
        "station_id": str(w.station_id),
        "evse_id": 1000 + n,
        "connectors": [_connector_json()],
    },
    ("PATCH", "/api/v1/evses/{evse_id}"): lambda w, n: {"connectors": [_connector_json()]},
    ("POST", "/api/v1/accounts"): lambda w, n: {
        "kind": "business",
        "name": f"Walk {n}",
        "email": f"walk{n}@example.org",
        "billing_address": {"street": "A 1", "postal_code": "1", "city": "B", "country": "DE"},
        "currency": "EUR",
    },
    ("PATCH", "/api/v1/accounts/{account_id}"): lambda w, n: {"name": f"Alpha Household {n}"},
    ("POST", "/api/v1/tokens"): lambda w, n: {
        "uid": f"WALK{n:04d}",
        "type": "rfid",
        "account_id": str(w.account.id),
    },
    ("POST", "/api/v1/sessions/{session_id}/release"): lambda w, n: {"note": "checked"},
    ("POST", "/api/v1/stations/{station_id}/commands"): lambda w, n: {
        "kind": "trigger_message",
        "message": "Heartbeat",
    },
    # The one change a driver or fleet manager may make: block their own card.
    ("PATCH", "/api/v1/tokens/{token_id}"): lambda w, n: {"status": "blocked"},
    ("POST", "/api/v1/invoices/{invoice_id}/credit-notes"): lambda w, n: {
        "reason": f"goodwill {n}",
        "net_amount": "1.00",
    },
    ("POST", "/api/v1/invoice-runs"): lambda w, n: {"period": "2026-02"},
    # Payments (issue 6): each of these moves money or changes what the account pays with.
    ("POST", "/api/v1/payments/{payment_id}/refunds"): lambda w, n: {
        "amount": "1.00",
        "reason": f"walk {n}",
    },
    ("POST", "/api/v1/accounts/{account_id}/payment-methods"): lambda w, n: card_body(w),
    # The driver's own minimum may only raise the floor (4.01 to 4.99, set by finance below).
    ("PUT", "/api/v1/accounts/{account_id}/wallet"): lambda w, n: {
        "minimum_balance": f"{5 + n}.00"
    },
    ("PUT", "/api/v1/accounts/{account_id}/wallet/floor"): lambda w, n: {
        "floor": f"4.{n % 99 + 1:02d}"
    },
    ("POST", "/api/v1/accounts/{account_id}/wallet/top-ups"): lambda w, n: {"amount": "5.00"},
    ("POST", "/api/v1/invoices/{invoice_id}/payments"): lambda w, n: {},
    ("POST", "/api/v1/bank/entries/{entry_id}/match"): lambda w, n: {"invoice": "INV-0"},
    ("POST", "/api/v1/bank/entries/{entry_id}/credit"): lambda w, n: {
        "account_id": str(w.account.id)
    },
    ("POST", "/api/v1/bank/entries/{entry_id}/ignore"): lambda w, n: {"note": f"walk {n}"},
    ("POST", "/api/v1/tariffs"): lambda w, n: _tariff_json(n),
    ("POST", "/api/v1/tariffs/{tariff_id}/assignments"): lambda w, n: {
        "scope": "site",
        "scope_id": str(w.site.id),
    },
}

# Routes whose request is not aimed at ``existing`` records, and query strings they need.
TARGETS: dict[tuple[str, str], Callable[[World], uuid.UUID]] = {
    ("POST", "/api/v1/invoices/{invoice_id}/issue"): lambda w: w.draft_id,
}
QUERIES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/ledger/statement"): "?account=Income:Charging:Energy",
}


async def request_for(world: World, method: str, route: APIRoute) -> tuple[str, Json | None]:
    """A request a permitted caller could sensibly send: real ids, a valid body (``{}`` for a
    route this test does not know yet). A DELETE removes a fresh record (its last parameter)
    under the world's own ones (``/accounts/{account_id}/payment-methods/{card_id}``)."""
    path = route.path
    target = TARGETS.get((method, route.path))
    params = re.findall(r"{(\w+)}", route.path)
    for param in params:
        if target is not None:
            value = target(world)
        elif method == "DELETE" and param == params[-1]:
            value = await disposable(world, param)
        else:
            value = existing(world, param)
        path = path.replace("{" + param + "}", str(value))
    path += QUERIES.get((method, route.path), "")
    if method in ("GET", "DELETE"):
        return path, None
    make_body = BODIES.get((method, route.path))
    body = make_body(world, world.next()) if make_body else {}
    return path, await body if inspect.isawaitable(body) else body


async def fingerprint(world: World) -> tuple[object, ...]:
    """Everything a denied request could have changed: how many records of each kind, which
    keys are revoked and users active, the records the walk aims its changes at, every
    document, number counter, charge and journal entry, and every payment with its events,
    the account's cards and its wallet rules. Webhooks the sandbox PSP still has on their way
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
    )
