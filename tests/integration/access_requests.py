"""The request the route × role walk of ``test_access_control`` sends to each route: real ids
of the world's records (``access_world``), a valid body (JSON, or the raw file for an upload),
the query string a route needs, and a fresh record where a second call would be refused or a
DELETE would destroy what the walk stands on.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi.routing import APIRoute

from chargeledger.domain.accounts import Token, TokenType
from chargeledger.domain.catalog import Evse
from chargeledger.domain.identity import Scope
from chargeledger.services import catalog, customers, identity
from chargeledger.services.payments.methods import store_card
from tests.integration.access_contracts import (
    amendment_json,
    contract_json,
    fresh_contract,
    fresh_oem_bundle,
    milestone_json,
    partner_json,
    pdf,
)
from tests.integration.access_world import (
    World,
    connector,
    new_account,
    new_site,
    sandbox_token,
    tariff_json,
)

# A meter's public key (a KEBA KCP30's secp256r1 key, S.A.F.E. test data): any valid key does.
WALK_METER_KEY = (
    "3059301306072A8648CE3D020106082A8648CE3D030107034200043AEEB45C392357820A58FDFB0857BD77ADA"
    "31585C61C430531DFA53B440AFBFDD95AC887C658EA55260F808F55CA948DF235C2108A0D6DC7D4AB1A5E1A79"
    "55BE"
)

Json = dict[str, Any]
Body = Json | bytes


def connector_json() -> Json:
    return {
        "connector_id": 1,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_power_kw": "11",
    }


async def card_body(world: World) -> Json:
    return {"token": await sandbox_token(world.runtime)}


async def disposable(world: World, param: str) -> uuid.UUID:
    """A fresh record for a DELETE to remove, so the walk never destroys what it stands on."""
    runtime, clock, n = world.runtime, world.runtime.clock, world.next()
    async with runtime.uow() as uow:
        if param == "site_id":
            return (await catalog.create_site(uow, clock, new_site(f"Disposable {n}"))).id
        if param == "station_id":
            fields = {
                "site_id": world.site.id,
                "charge_point_id": f"CP-GONE-{n}",
                "vendor": "V",
                "model": "M",
                "security_profile": 3,
            }
            return (
                await catalog.create_station(uow, clock, runtime.station_secrets, fields, None)
            ).id
        if param == "evse_id":
            evse = Evse(station_id=world.station_id, evse_id=100 + n, connectors=(connector(),))
            return (await catalog.create_evse(uow, clock, evse)).id
        if param == "account_id":
            account = await customers.create_account(
                uow, clock, runtime.vat_ids, new_account(f"Gone {n}")
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
        card = await sandbox_token(runtime)
        return (await store_card(runtime.payments, world.account, card, "sandbox", False)).id
    return uuid.uuid4()  # a route added later: not found is still "not 401/403"


def existing(world: World, param: str) -> uuid.UUID | str:
    if param == "record_type":  # the audit chain: the world's issued invoice
        return "invoice"
    if param == "record_id":
        return str(world.invoice_id)
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
        "partner_id": world.contracts.partner_id,
        "contract_id": world.contracts.contract_id,
        "document_id": world.contracts.document_id,
    }
    return ids.get(param, uuid.uuid4())


BODIES: dict[tuple[str, str], Callable[[World, int], Body | Awaitable[Body]]] = {
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
    ("POST", "/api/v1/stations/{station_id}/meter-keys"): lambda w, n: {
        "meter_serial": f"WALK-METER-{n}",
        "public_key": WALK_METER_KEY,
    },
    ("POST", "/api/v1/evses"): lambda w, n: {
        "station_id": str(w.station_id),
        "evse_id": 1000 + n,
        "connectors": [connector_json()],
    },
    ("PATCH", "/api/v1/evses/{evse_id}"): lambda w, n: {"connectors": [connector_json()]},
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
    ("POST", "/api/v1/sessions/{session_id}/reprice"): lambda w, n: {
        "reason": f"walk {n}",
        "corrected_meter_stop_wh": "1000",
    },
    ("POST", "/api/v1/stations/{station_id}/commands"): lambda w, n: {
        "kind": "trigger_message",
        "message": "Heartbeat",
    },
    ("POST", "/api/v1/stations/{station_id}/evses/{evse_id}/start"): lambda w, n: {
        "token_id": str(w.token.id)
    },
    ("POST", "/api/v1/stations/{station_id}/evses/{evse_id}/reservations"): lambda w, n: {
        "token_id": str(w.token.id),
        "minutes": 5,
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
    ("POST", "/api/v1/tariffs"): lambda w, n: tariff_json(n),
    ("POST", "/api/v1/tariffs/{tariff_id}/assignments"): lambda w, n: {
        "scope": "site",
        "scope_id": str(w.site.id),
    },
    # Contracts (issue 14); the signed PDF is the request body itself, not JSON.
    ("POST", "/api/v1/partners"): lambda w, n: partner_json(n),
    ("POST", "/api/v1/contracts"): lambda w, n: contract_json(w.contracts, n),
    ("POST", "/api/v1/contracts/{contract_id}/sign"): lambda w, n: {},
    ("POST", "/api/v1/contracts/{contract_id}/versions"): lambda w, n: amendment_json(
        w.contracts, n
    ),
    ("POST", "/api/v1/contracts/{contract_id}/terminate"): lambda w, n: {"reason": f"walk {n}"},
    ("POST", "/api/v1/contracts/{contract_id}/coverage"): lambda w, n: {
        "site_ids": [str(w.site.id)]
    },
    ("POST", "/api/v1/contracts/{contract_id}/documents"): lambda w, n: pdf(n),
    ("POST", "/api/v1/contracts/{contract_id}/milestones"): lambda w, n: milestone_json(
        w.contracts, n
    ),
}

# Routes whose request is not aimed at ``existing`` records, and query strings they need.
# A contract is signed once and terminated once (a second time is 409): each gets a fresh one.
TARGETS: dict[tuple[str, str], Callable[[World], uuid.UUID | Awaitable[uuid.UUID]]] = {
    ("POST", "/api/v1/invoices/{invoice_id}/issue"): lambda w: w.draft_id,
    ("POST", "/api/v1/contracts/{contract_id}/sign"): lambda w: fresh_contract(
        w.runtime, w.contracts, w.next()
    ),
    ("POST", "/api/v1/contracts/{contract_id}/terminate"): lambda w: fresh_contract(
        w.runtime, w.contracts, w.next()
    ),
    ("POST", "/api/v1/contracts/{contract_id}/allowance/invoice"): lambda w: fresh_oem_bundle(
        w.runtime, w.contracts, w.next()
    ),
}
QUERIES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/ledger/statement"): "?account=Income:Charging:Energy",
    ("POST", "/api/v1/contracts/{contract_id}/documents"): "?version=1",
    ("GET", "/api/v1/locations"): "?near=52.5,13.4&radius_km=5",
    ("GET", "/api/v1/tariffs/{tariff_id}/preview"): "?start=2026-03-02T08:00:00Z&kwh=10&minutes=30",
}


async def request_for(world: World, method: str, route: APIRoute) -> tuple[str, Body | None]:
    """A request a permitted caller could sensibly send: real ids, a valid body (``{}`` for a
    route this test does not know yet). A DELETE removes a fresh record (its last parameter)
    under the world's own ones (``/accounts/{account_id}/payment-methods/{card_id}``)."""
    path = route.path
    target = TARGETS.get((method, route.path))
    params = re.findall(r"{(\w+)}", route.path)
    for param in params:
        value: uuid.UUID | str
        if target is not None:
            aimed = target(world)
            value = await aimed if inspect.isawaitable(aimed) else aimed
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


def payload(body: Body | None) -> dict[str, Any]:
    """The keyword that sends ``body``: a file upload as the raw body, anything else as JSON."""
    if isinstance(body, bytes):
        return {"content": body}
    return {"json": body}


def error_code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None
