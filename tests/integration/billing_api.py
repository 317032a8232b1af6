"""Support for the billing API tests (issue 5): the operator's settings the invoice run needs,
a small month of charged sessions, and read-backs of what an API call could have changed.

``conftest.runtime`` builds its Settings from an environment without operator details. The
``Runtime`` is a plain (mutable) dataclass and the app reads ``runtime.settings`` and
``runtime.clock`` on every request, so :func:`configure_operator` replaces the settings with
``dataclasses.replace`` and the tests may set ``runtime.clock`` after logging in (tokens are
checked against the real time by PyJWT, so a login must happen under the system clock).
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import facturx  # type: ignore[import-untyped]
import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.billing import Charge
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.services import tariffs
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from tests.conftest import LoginAs
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    ChargeSpec,
    Place,
    World,
    book_charges,
    create_customer,
    new_world,
    utc,
)

API = "/api/v1"
Json = dict[str, Any]
Headers = dict[str, str]
JANUARY = {"period": "2026-01"}

# The seller of billing_world, as CHARGELEDGER_OPERATOR_* would give it.
OPERATOR = {
    "name": SELLER.name,
    "street": SELLER.street,
    "postal_code": SELLER.postal_code,
    "city": SELLER.city,
    "country": SELLER.country,
    "vat_id": SELLER.vat_id or "",
    "iban": SELLER.iban or "",
}


def configure_operator(runtime: Runtime, operator: dict[str, str] | None = None) -> None:
    """The operator's details (all of ``OPERATOR`` unless given) and its time zone."""
    runtime.settings = dataclasses.replace(
        runtime.settings,
        operator=dict(OPERATOR if operator is None else operator),
        operator_time_zone=OPERATOR_TZ,
    )


def error_code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def embedded_xml(pdf: bytes) -> bytes:
    """The e-invoice a Factur-X PDF carries (checked against the XSD on the way out)."""
    filename, xml = facturx.get_facturx_xml_from_pdf(io.BytesIO(pdf), check_xsd=True)
    assert filename == "factur-x.xml"
    assert isinstance(xml, bytes)
    return xml


# --- a month of charged sessions -------------------------------------------------------------


@dataclass
class Month:
    """January 2026 charged (and one February session), nothing invoiced yet; the clock
    stands at 2 February 2026, 09:00 in Berlin."""

    world: World
    anna: Account  # DE, 19 %: 10.45 + 20.45 in January, 5.00 in February
    lusa: Account  # PT business: reverse charge at the DE site, PT 23 % at the PT site
    bea: Account  # DE, 19 %: 6.00
    charges: dict[str, Charge]


async def charged_month(runtime: Runtime) -> Month:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    clock, de, pt = world.clock, world.de, world.pt
    anna = await create_customer(runtime, clock, "Anna Becker")
    lusa = await create_customer(
        runtime,
        clock,
        "Lusa Transportes Lda",
        kind=AccountKind.BUSINESS,
        country="PT",
        vat_id="PT501964843",
        terms=30,
    )
    bea = await create_customer(runtime, clock, "Bea Schmidt")
    specs = {
        "a1": ChargeSpec(de, anna, utc("2026-01-10T13:00"), {"Energy": "9.20", "Time": "1.25"}),
        "a2": ChargeSpec(de, anna, utc("2026-01-31T22:50"), {"Energy": "20.45"}),
        "a3": ChargeSpec(de, anna, utc("2026-01-31T23:10"), {"Energy": "5.00"}),  # 1 Feb
        "l1": ChargeSpec(de, lusa, utc("2026-01-15T10:00"), {"Energy": "40.00", "Parking": "2.50"}),
        "l2": ChargeSpec(pt, lusa, utc("2026-01-20T10:00"), {"Energy": "8.13"}),
        "b1": ChargeSpec(de, bea, utc("2026-01-12T10:00"), {"Energy": "6.00"}),
        "h1": ChargeSpec(de, None, utc("2026-01-05T12:00"), {"Energy": "4.20"}),  # ad hoc
    }
    charges = await book_charges(runtime, clock, specs)
    return Month(world, anna, lusa, bea, charges)


# 0.40 per kWh, 19 % VAT: the 10 kWh of ``uncharged_session`` cost 4.00 + 0.76.
TARIFF = {
    "id": "API-KWH",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.40"), "vat": Decimal(19), "step_size": 1}
            ]
        }
    ],
}


async def uncharged_session(runtime: Runtime, place: Place, started: datetime) -> Session:
    """A completed ad hoc session of 10 kWh with a tariff but no charge yet, as capture leaves
    it: the next invoice run prices it and issues its receipt."""
    async with runtime.uow() as uow:
        tariff = await tariffs.import_tariff(uow, runtime.clock, TARIFF)
        await uow.commit()
    now = runtime.clock.now()
    session = Session(
        station_id=place.station.id,
        evse_id=1,
        transaction_ref=uuid.uuid4().hex[:20],
        ocpp_version="1.6",
        started_at=started,
        meter_start_wh=Decimal(0),
        status=SessionStatus.COMPLETED,
        stopped_at=started + timedelta(minutes=40),
        meter_stop_wh=Decimal(10_000),
        tariff_id=tariff.id,
        payment_route=PaymentRoute.WALK_IN,
        created_at=now,
        updated_at=now,
    )
    async with runtime.uow() as uow:
        await uow.sessions.add(session)
        await uow.commit()
    return session


# --- over HTTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Books:
    month: Month
    admin: Headers
    finance: Headers
    anna: Headers  # a driver of Anna's account
    bea: Headers  # a driver of Bea's account


async def open_books(runtime: Runtime, login_as: LoginAs) -> Books:
    """The operator configured, January charged, users logged in, the clock on 2 February."""
    configure_operator(runtime)
    month = await charged_month(runtime)
    admin = await login_as(Role.ADMIN)
    finance = await login_as(Role.FINANCE)
    anna = await login_as(Role.DRIVER, month.anna.id)
    bea = await login_as(Role.DRIVER, month.bea.id)
    runtime.clock = month.world.clock  # after the logins: tokens expire by the real time
    return Books(month, admin, finance, anna, bea)


async def get(client: httpx.AsyncClient, path: str, headers: Headers, **params: str) -> Any:
    """The JSON of a ``GET`` that must succeed."""
    response = await client.get(f"{API}/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def run(client: httpx.AsyncClient, books: Books, body: Json | None = None) -> Json:
    response = await client.post(f"{API}/invoice-runs", json=body or JANUARY, headers=books.finance)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


async def documents(client: httpx.AsyncClient, books: Books) -> dict[str, Json]:
    """January's documents by holder (``anna``, ``lusa``, ``bea``; the receipt as ``walk-in``)."""
    holders = {str(books.month.anna.id): "anna", str(books.month.lusa.id): "lusa"}
    holders[str(books.month.bea.id)] = "bea"
    page = await get(client, "invoices", books.finance)
    found = {holders.get(item["account_id"], "walk-in"): item for item in page["items"]}
    assert len(found) == len(page["items"]) == 4
    return found


async def credit(client: httpx.AsyncClient, books: Books, invoice: Json, **body: object) -> Json:
    response = await client.post(
        f"{API}/invoices/{invoice['id']}/credit-notes", json=body, headers=books.finance
    )
    assert response.status_code == 201, response.text
    note: Json = response.json()
    return note


def money(value: str) -> str:
    """An amount as ``12.30``: whole cents only, whatever the JSON's number of decimals."""
    amount = Decimal(value)
    assert amount == amount.quantize(Decimal("0.01")), value
    return f"{amount:.2f}"


def rate(value: str) -> str:
    """A VAT rate as ``19`` or ``7.5``."""
    return f"{Decimal(value).normalize():f}"


Amounts = tuple[list[tuple[str, str, str]], list[tuple[str, str, str, str]], list[str]]


def amounts(document: Json) -> Amounts:
    """The money of a document as text, for exact comparison: (category, rate, net) of each
    line, (category, rate, taxable, tax) of each VAT group, and (net, tax, gross)."""
    lines = [
        (line["vat_category"], rate(line["vat_percent"]), money(line["net"]))
        for line in document["lines"]
    ]
    vat = [
        (s["category"], rate(s["percent"]), money(s["taxable"]), money(s["tax"]))
        for s in document["vat"]
    ]
    totals = [money(document[k]) for k in ("net_total", "tax_total", "gross_total")]
    return lines, vat, totals


# --- what a request could have changed --------------------------------------------------------


async def billing_state(runtime: Runtime) -> tuple[object, ...]:
    """Every document (all fields, lines included), the number counters, the charges and
    every journal entry with its postings."""
    async with runtime.uow() as uow:
        page = await uow.billing.list_invoices(InvoiceFilter(), limit=10_000, offset=0)
        stored = tuple(sorted(page.items, key=lambda i: str(i.id)))
        series = tuple(sorted((await uow.billing.series()).items()))
        charges = tuple(sorted(await uow.billing.charge_ids()))
        entries = tuple(await uow.ledger.entries())
    return stored, series, charges, entries


def ids(page: Json) -> list[uuid.UUID]:
    return [uuid.UUID(item["id"]) for item in page["items"]]
