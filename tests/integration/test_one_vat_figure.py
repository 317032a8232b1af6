"""One VAT figure and one currency per invoice (issue 11 item 8).

The issue: a GBP tariff stating 20 % VAT at a German site showed 5.40 on ``/cost`` while the
ledger booked 5.36 at 19 %; a EUR site tariff on a GBP account silently produced a EUR invoice
on that account. Now the VAT of every figure is the place of supply's (Germany, 19 %, or
reverse charge for an EU business from another member state), a tariff stating other VAT is
refused where it would apply, and an account's charges in another currency get their own
invoice in that currency.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import Session
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.ledger import EntryKind, receivable
from chargeledger.domain.postings import WALK_IN
from chargeledger.money import Currency
from chargeledger.services import customers
from chargeledger.services.billing import charges as billing
from chargeledger.services.billing import invoicing
from chargeledger.services.charging import session_capture
from tests.conftest import LoginAs
from tests.integration.billing_world import OPERATOR_TZ, SELLER, all_documents, balance_of
from tests.integration.ocpp_server import Network, seed_network

API = "/api/v1"
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning in Berlin


def energy_tariff(ocpi_id: str, currency: str, price: str, vat: str | None) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "ENERGY", "price": price, "step_size": 1}
    if vat is not None:
        component["vat"] = vat
    return {"id": ocpi_id, "currency": currency, "elements": [{"price_components": [component]}]}


async def imported(client: httpx.AsyncClient, who: dict[str, str], document: Any) -> str:
    answer = await client.post(f"{API}/tariffs", json=document, headers=who)
    assert answer.status_code == 201, answer.text
    tariff_id: str = answer.json()["id"]
    return tariff_id


async def assign(
    client: httpx.AsyncClient, who: dict[str, str], tariff_id: str, scope: str, scope_id: str
) -> httpx.Response:
    return await client.post(
        f"{API}/tariffs/{tariff_id}/assignments",
        json={"scope": scope, "scope_id": scope_id},
        headers=who,
    )


async def charged_session(
    runtime: Runtime, station: Station, id_tag: str | None, kwh: int, evse_id: int = 1
) -> Session:
    """A 30-minute session of ``kwh`` captured through the services (stations are tested
    elsewhere), closed and judged like any other."""
    async with runtime.uow() as uow:
        session = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=evse_id,
                connector_id=1,
                id_tag=id_tag,
                started_at=START,
                meter_start_wh=Decimal(100_000),
            ),
        )
        session = await session_capture.stop_session(
            uow,
            runtime.clock,
            session,
            stopped_at=START + timedelta(minutes=30),
            meter_stop_wh=Decimal(100_000 + kwh * 1000),
            reason="Local",
        )
        await uow.commit()
    return session


async def test_the_gbp_tariff_at_a_german_site_shows_and_books_one_figure(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """The issue's case: 10 kWh at 0.45 GBP is 4.50 net. A tariff stating 20 % (5.40) is
    refused at the German site and its station; stating Germany's 19 % it is accepted, and the
    quote, the live and final ``/cost``, the receipt and the ledger all say 4.50 + 0.86 =
    5.36. A Portuguese business (reverse charge) is quoted 4.50 with no VAT."""
    network = await seed_network(runtime)
    station = network.stations["CP16-AC"]
    operator = await login_as(Role.OPERATOR)
    twenty = await imported(client, operator, energy_tariff("GBP-20", "GBP", "0.45", "20"))
    for scope, scope_id in (("site", station.site_id), ("station", station.id)):
        refused = await assign(client, operator, twenty, scope, str(scope_id))
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "tariff_vat_mismatch"
        assert error["details"]["stated"] == ["20"]
        assert error["details"]["due"][0]["country"] == "DE"
    assert network.account is not None
    driver = await login_as(Role.DRIVER, network.account.id)
    quote_url = f"{API}/stations/{station.id}/quote"
    params = {"kwh": "10", "minutes": 30, "start": START.isoformat()}
    nothing = await client.get(quote_url, params=params, headers=driver)
    assert nothing.json()["error"]["code"] == "no_tariff"  # the refusal assigned nothing

    nineteen = await imported(client, operator, energy_tariff("GBP-19", "GBP", "0.45", "19"))
    accepted = await assign(client, operator, nineteen, "site", str(station.site_id))
    assert accepted.status_code == 201, accepted.text
    figure = {"excl_vat": "4.50", "incl_vat": "5.36"}

    quote = (await client.get(quote_url, params=params, headers=driver)).json()
    assert (quote["currency"], quote["total_cost"], quote["total_vat"]) == ("GBP", figure, "0.86")
    assert quote["vat"] == {"category": "S", "percent": "19", "note": None}
    assert quote["price_display"] == ["0.45 GBP per kWh (0.5355 GBP incl. 19% VAT)"]

    business = await reverse_charged_business(runtime)
    buyer = await login_as(Role.FLEET_MANAGER, business.id)
    reverse = (await client.get(quote_url, params=params, headers=buyer)).json()
    assert reverse["total_cost"] == {"excl_vat": "4.50", "incl_vat": "4.50"}
    assert (reverse["vat"]["category"], reverse["total_vat"]) == ("AE", "0.00")
    assert reverse["price_display"] == ["0.45 GBP per kWh (no VAT: reverse charge)"]

    session = await charged_session(runtime, station, None, 10)  # an ad hoc (card) payer
    admin = await login_as(Role.ADMIN)
    cost = (await client.get(f"{API}/sessions/{session.id}/cost", headers=admin)).json()
    assert (cost["status"], cost["total_cost"], cost["total_energy_cost"]) == (
        "final",
        figure,
        figure,
    )
    cdr = (await client.get(f"{API}/sessions/{session.id}/cdr", headers=admin)).json()
    assert cdr["total_cost"] == {"excl_vat": 4.5, "incl_vat": 5.36}

    outcome = await billing.charge_completed_sessions(
        runtime.uow, runtime.clock, runtime.settings.vat_rates, OPERATOR_TZ, SELLER
    )
    [charge] = outcome.charged
    [receipt] = outcome.receipts
    assert (charge.net, charge.tax, charge.gross) == (
        Decimal("4.50"),
        Decimal("0.86"),
        Decimal("5.36"),
    )
    assert (receipt.currency, receipt.net_total, receipt.gross_total) == (
        "GBP",
        Decimal("4.50"),
        Decimal("5.36"),
    )
    async with runtime.uow() as uow:
        accrual = await uow.ledger.find(EntryKind.CHARGE_ACCRUED, "charge", str(charge.id))
    assert accrual is not None
    assert max(p.units.amount for p in accrual.postings) == Decimal("5.36")
    assert {p.units.currency for p in accrual.postings} == {"GBP"}
    assert await balance_of(runtime, receivable(WALK_IN), "GBP") == Decimal("5.36")


async def reverse_charged_business(runtime: Runtime) -> Account:
    async with runtime.uow() as uow:
        kept = await customers.create_account(
            uow,
            runtime.clock,
            runtime.vat_ids,
            Account(
                kind=AccountKind.BUSINESS,
                name="Lusa Transportes Lda",
                email="fleet@lusa.example.org",
                billing_address=Address("Rua 1", "1000-001", "Lisboa", "PT"),
                currency=Currency.of("EUR"),
                vat_id="PT501964843",
            ),
        )
        await uow.commit()
        return kept


async def british_account(runtime: Runtime) -> tuple[Account, str]:
    """A postpaid GBP account with an RFID card."""
    async with runtime.uow() as uow:
        account = await customers.create_account(
            uow,
            runtime.clock,
            runtime.vat_ids,
            Account(
                kind=AccountKind.INDIVIDUAL,
                name="Oliver Smith",
                email="oliver.smith@example.org",
                billing_address=Address("1 High Street", "SW1A 1AA", "London", "GB"),
                currency=Currency.of("GBP"),
            ),
        )
        await uow.commit()
    async with runtime.uow() as uow:
        await customers.create_token(
            uow, runtime.clock, Token(uid="04GB0001", type=TokenType.RFID, account_id=account.id)
        )
        await uow.commit()
    return account, "04GB0001"


async def test_an_account_charging_in_two_currencies_gets_one_invoice_per_currency(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """A GBP account charges at a station under the site's EUR tariff and at one under a
    GBP tariff: the March run gives it a GBP invoice with the GBP session and a EUR invoice
    with the EUR session, never one invoice mixing both; run again, it creates nothing."""
    network: Network = await seed_network(runtime)
    eur_station, gbp_station = network.stations["CP16-AC"], network.stations["CP201-DC"]
    operator = await login_as(Role.OPERATOR)
    eur = await imported(client, operator, energy_tariff("EUR-SITE", "EUR", "0.49", "19"))
    gbp = await imported(client, operator, energy_tariff("GBP-DC", "GBP", "0.45", None))
    for tariff_id, scope, scope_id in (
        (eur, "site", eur_station.site_id),
        (gbp, "station", gbp_station.id),
    ):
        assert (await assign(client, operator, tariff_id, scope, str(scope_id))).status_code == 201
    account, card = await british_account(runtime)
    in_euro = await charged_session(runtime, eur_station, card, 10)
    in_pounds = await charged_session(runtime, gbp_station, card, 20)
    await billing.charge_completed_sessions(
        runtime.uow, runtime.clock, runtime.settings.vat_rates, OPERATOR_TZ, SELLER
    )

    run = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, OPERATOR_TZ, "2026-03")
    invoices = {i.currency: i for i in run.issued if i.account_id == account.id}
    assert sorted(invoices) == ["EUR", "GBP"]
    assert [line.session_id for line in invoices["EUR"].lines] == [in_euro.id]
    assert [line.session_id for line in invoices["GBP"].lines] == [in_pounds.id]
    # 10 kWh × 0.49 = 4.90 + 0.93 VAT; 20 kWh × 0.45 = 9.00 + 1.71 VAT (Germany, 19 %)
    assert invoices["EUR"].gross_total == Decimal("5.83")
    assert invoices["GBP"].gross_total == Decimal("10.71")
    assert await balance_of(runtime, receivable(account.id), "EUR") == Decimal("5.83")
    assert await balance_of(runtime, receivable(account.id), "GBP") == Decimal("10.71")

    before = await all_documents(runtime)
    again = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, OPERATOR_TZ, "2026-03")
    assert (again.issued, again.receipts) == ([], [])
    assert await all_documents(runtime) == before
    assert [d.kind for d in before if d.account_id == account.id] == [DocumentKind.INVOICE] * 2
