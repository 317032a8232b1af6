"""Tariff versions are stored exactly, assigned by scope, and the tariff valid at a session's
start is frozen onto it (issue 4; DESIGN §2: a tariff change never re-prices a session)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.billing import DEFAULT_VAT_RATES
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import Session
from chargeledger.domain.geo import Address
from chargeledger.domain.tariffs import tariff_to_json
from chargeledger.domain.tariffs.assignment import TariffScope, connector_scope_id
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.money import Currency
from chargeledger.services import customers, tariffs
from chargeledger.services.charging import session_capture
from tests.integration.ocpp_server import Network, seed_network

RATES = DEFAULT_VAT_RATES
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "ocpi-tariffs"


def corpus_tariff(name: str, vat: Decimal | None = Decimal(19)) -> Any:
    """A tariff of the conformance corpus as a German site's tariff: every component that
    states VAT states Germany's 19 % (or, with ``vat=None``, the corpus's own rates)."""
    document = json.loads(
        (CORPUS / "tandemdrive" / name / "tariff.json").read_text(), parse_float=Decimal
    )
    if vat is not None:
        for element in document["elements"]:
            for component in element["price_components"]:
                if "vat" in component:
                    component["vat"] = vat
    return document


async def test_a_tariff_version_round_trips_exactly(runtime: Runtime) -> None:
    document = corpus_tariff("complex", vat=None)
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, document)
        await uow.commit()
    async with runtime.uow() as uow:
        again = await tariffs.get_tariff(uow, stored.id)
    assert again.tariff == stored.tariff
    assert json.loads(
        json.dumps(tariff_to_json(again.tariff), default=str), parse_float=Decimal
    ) == json.loads(json.dumps(document, default=str), parse_float=Decimal)


@pytest.fixture
async def network(runtime: Runtime) -> Network:
    return await seed_network(runtime)


async def start(runtime: Runtime, station: Station, evse_id: int, at: datetime) -> Session:
    async with runtime.uow() as uow:
        session = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=evse_id,
                connector_id=1,
                id_tag="04AABBCCDD",
                started_at=at,
                meter_start_wh=Decimal(1000),
            ),
        )
        await uow.commit()
    return session


async def test_the_most_specific_assignment_is_frozen_at_session_start(
    runtime: Runtime, network: Network
) -> None:
    station, other = network.stations["CP16-AC"], network.stations["CP201-DC"]
    async with runtime.uow() as uow:
        default = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        station_tariff = await tariffs.import_tariff(
            uow, runtime.clock, corpus_tariff("simple_2hour")
        )
        connector_tariff = await tariffs.import_tariff(
            uow, runtime.clock, corpus_tariff("025kwh_start")
        )
        await uow.commit()
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    first = await start(runtime, station, 1, at)
    assert first.tariff_id is None  # nothing assigned yet: no tariff, not a guess

    async with runtime.uow() as uow:
        await tariffs.assign_tariff(
            uow, runtime.clock, default.id, TariffScope.OPERATOR, None, RATES
        )
        await tariffs.assign_tariff(
            uow, runtime.clock, station_tariff.id, TariffScope.STATION, str(station.id), RATES
        )
        await tariffs.assign_tariff(
            uow,
            runtime.clock,
            connector_tariff.id,
            TariffScope.CONNECTOR,
            connector_scope_id(station.id, 2, 1),
            RATES,
        )
        await uow.commit()
    on_evse_1 = await start(runtime, station, 1, datetime(2026, 11, 20, 10, tzinfo=UTC))
    on_evse_2 = await start(runtime, station, 2, datetime(2026, 11, 20, 10, tzinfo=UTC))
    elsewhere = await start(runtime, other, 1, datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert on_evse_1.tariff_id == station_tariff.id
    assert on_evse_2.tariff_id == connector_tariff.id
    assert elsewhere.tariff_id == default.id

    # A new version assigned later does not touch the session that already started.
    async with runtime.uow() as uow:
        newer = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await tariffs.assign_tariff(
            uow, runtime.clock, newer.id, TariffScope.STATION, str(station.id), RATES
        )
        kept = await uow.sessions.get(on_evse_1.id)
        await uow.commit()
    assert kept is not None
    assert kept.tariff_id == station_tariff.id


async def test_a_session_of_no_known_account_gets_the_ad_hoc_tariff(
    runtime: Runtime, network: Network
) -> None:
    """EU AFIR: card or QR payers (no account of ours) pay the ad hoc price of the site."""
    station = network.stations["CP16-AC"]
    async with runtime.uow() as uow:
        regular = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        ad_hoc = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("025kwh_start"))
        await tariffs.assign_tariff(
            uow, runtime.clock, regular.id, TariffScope.STATION, str(station.id), RATES
        )
        await tariffs.assign_tariff(
            uow, runtime.clock, ad_hoc.id, TariffScope.AD_HOC, str(station.site_id), RATES
        )
        await uow.commit()
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    async with runtime.uow() as uow:
        card = await session_capture.start_session(
            uow,
            runtime.clock,
            station,
            session_capture.StartRequest(
                evse_id=1,
                connector_id=1,
                id_tag="TERMINAL-42",
                started_at=at,
                meter_start_wh=Decimal(0),
            ),
        )
        await uow.commit()
    known = await start(runtime, station, 2, at)
    assert card.tariff_id == ad_hoc.id
    assert known.tariff_id == regular.id


def without_vat(document: Any) -> Any:
    """The same prices as net prices: no component states VAT."""
    for element in document["elements"]:
        for component in element["price_components"]:
            component.pop("vat", None)
    return document


async def test_a_tariff_stating_other_vat_than_its_sites_is_refused_at_every_scope(
    runtime: Runtime, network: Network
) -> None:
    """Issue 11 item 8: the VAT of every figure is the place of supply's, so a tariff whose
    components state another rate (here the corpus's 10 % at a German site, 19 %) is refused
    wherever it would apply, with ``tariff_vat_mismatch``, and nothing is assigned. A tariff
    stating no VAT (net prices) fits everywhere; at an account's scope the account's own VAT
    counts (0 % under reverse charge)."""
    station = network.stations["CP16-AC"]
    assert network.account is not None
    clock = runtime.clock
    async with runtime.uow() as uow:
        business = await customers.create_account(
            uow,
            clock,
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
    scopes = [
        (TariffScope.OPERATOR, None, "default"),
        (TariffScope.AD_HOC, None, "default"),
        (TariffScope.AD_HOC, str(station.site_id), str(station.site_id)),
        (TariffScope.SITE, str(station.site_id), str(station.site_id)),
        (TariffScope.STATION, str(station.id), str(station.id)),
        (TariffScope.CONNECTOR, connector_scope_id(station.id, 1, 1), None),
        (TariffScope.ACCOUNT, str(network.account.id), None),
        (TariffScope.ACCOUNT, str(business.id), None),
    ]
    async with runtime.uow() as uow:
        ten = await tariffs.import_tariff(uow, clock, corpus_tariff("simple_025kwh", vat=None))
        net = await tariffs.import_tariff(uow, clock, without_vat(corpus_tariff("simple_025kwh")))
        await uow.commit()
    for scope, scope_id, _ in scopes:
        async with runtime.uow() as uow:
            with pytest.raises(InvalidInputError) as refused:
                await tariffs.assign_tariff(uow, clock, ten.id, scope, scope_id, RATES)
        assert refused.value.code == "tariff_vat_mismatch", (scope, scope_id)
        assert refused.value.details["stated"] == ["10"]
    async with runtime.uow() as uow:
        for scope, scope_id, stored_id in scopes:
            assert await uow.tariffs.assigned(scope, stored_id or scope_id or "") is None

    for scope, scope_id, _ in scopes:
        async with runtime.uow() as uow:
            done = await tariffs.assign_tariff(uow, clock, net.id, scope, scope_id, RATES)
            await uow.commit()
        async with runtime.uow() as uow:
            assert await uow.tariffs.assigned(scope, done.scope_id) == net.id

    # The Portuguese business is reverse charged at the German site: 19 % contradicts, 0 % fits.
    async with runtime.uow() as uow:
        german = await tariffs.import_tariff(uow, clock, corpus_tariff("simple_025kwh"))
        zero = await tariffs.import_tariff(
            uow, clock, corpus_tariff("simple_025kwh", vat=Decimal(0))
        )
        await uow.commit()
    async with runtime.uow() as uow:
        with pytest.raises(InvalidInputError) as refused:
            await tariffs.assign_tariff(
                uow, clock, german.id, TariffScope.ACCOUNT, str(business.id), RATES
            )
    assert refused.value.code == "tariff_vat_mismatch"
    async with runtime.uow() as uow:
        await tariffs.assign_tariff(
            uow, clock, zero.id, TariffScope.ACCOUNT, str(business.id), RATES
        )
        await tariffs.assign_tariff(
            uow, clock, german.id, TariffScope.SITE, str(station.site_id), RATES
        )
        await uow.commit()


async def test_a_tariff_is_assigned_only_to_what_exists(runtime: Runtime, network: Network) -> None:
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, corpus_tariff("simple_025kwh"))
        await uow.commit()
    cases = [
        (TariffScope.SITE, str(uuid.uuid4()), "site_not_found"),
        (TariffScope.STATION, str(uuid.uuid4()), "station_not_found"),
        (TariffScope.ACCOUNT, str(uuid.uuid4()), "account_not_found"),
        (TariffScope.SITE, "Berlin", "invalid_scope_id"),
        (TariffScope.CONNECTOR, str(network.stations["CP16-AC"].id), "invalid_scope_id"),
        (TariffScope.STATION, None, "missing_field"),
    ]
    for scope, scope_id, code in cases:
        async with runtime.uow() as uow:
            with pytest.raises(ChargeledgerError) as refused:
                await tariffs.assign_tariff(uow, runtime.clock, stored.id, scope, scope_id, RATES)
        assert refused.value.code == code, (scope, scope_id)
