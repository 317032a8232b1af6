"""A small network with fixed ids, for tests that address it by id without asking: the
OpenAPI fuzz (test_api_fuzz.py) and the numeric-bounds tests (test_api_bounds.py). A site, two
stations with an EVSE each, a flat tariff for the operator, a driver's account with an RFID
token, a completed and a quarantined session, and an admin and a driver who can log in."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
)
from chargeledger.domain.charging import QuarantineReason, Session, SessionStatus
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import catalog, customers, identity, tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from tests.conftest import TEST_PASSWORD


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://chargeledger.test/edge/{name}")


TOKEN_UID = "04ED6E0001"
SITE, ACCOUNT, TOKEN = _id("site"), _id("account"), _id("token")
STATIONS = {"EDGE-AC": _id("station-ac"), "EDGE-DC": _id("station-dc")}
EVSES = [_id("evse-ac-1"), _id("evse-dc-1")]
SESSIONS = {SessionStatus.COMPLETED: _id("session-done"), SessionStatus.QUARANTINED: _id("held")}


async def seed_edge_world(runtime: Runtime) -> None:
    """Build the world on a migrated, empty database."""
    clock, now = runtime.clock, runtime.clock.now()
    berlin = Address("Ring 1", "10115", "Berlin", "DE")
    async with runtime.uow() as uow:
        site = Site(
            "Edge depot", berlin, Decimal("52.5"), Decimal("13.4"), "Europe/Berlin", id=SITE
        )
        await catalog.create_site(uow, clock, site)
        for (cpid, station_id), evse_id, kind in zip(
            STATIONS.items(), EVSES, (PowerType.AC_3_PHASE, PowerType.DC), strict=True
        ):
            fields = {
                "id": station_id,
                "site_id": SITE,
                "charge_point_id": cpid,
                "vendor": "Edge",
                "model": "F1",
                "ocpp_version": OcppVersion.V16,
                "security_profile": 3,
            }
            await catalog.create_station(uow, clock, runtime.station_secrets, fields, None)
            plug = Connector(
                1, ConnectorStandard.IEC_62196_T2_COMBO, ConnectorFormat.CABLE, kind, Decimal(50)
            )
            evse = Evse(station_id=station_id, evse_id=1, connectors=(plug,), id=evse_id)
            await catalog.create_evse(uow, clock, evse)
        account = Account(
            kind=AccountKind.INDIVIDUAL,
            name="Edge Driver",
            email="driver@edge.test",
            billing_address=berlin,
            currency=Currency.of("EUR"),
            id=ACCOUNT,
        )
        await customers.create_account(uow, clock, runtime.vat_ids, account)
        token = Token(uid=TOKEN_UID, type=TokenType.RFID, account_id=ACCOUNT, id=TOKEN)
        await customers.create_token(uow, clock, token)
        tariff = await tariffs.import_tariff(uow, clock, flat_with_session_fee(Decimal(19)))
        await tariffs.assign_tariff(
            uow, clock, tariff.id, TariffScope.OPERATOR, None, runtime.settings.vat_rates
        )
        for role in (Role.ADMIN, Role.DRIVER):
            await identity.create_user(
                uow,
                clock,
                runtime.hasher,
                email=login_of(role),
                password=TEST_PASSWORD,
                role=role,
                account_id=ACCOUNT if role is Role.DRIVER else None,
            )
        await uow.commit()
    for status, session_id in SESSIONS.items():
        started = now - timedelta(hours=3)
        held = status is SessionStatus.QUARANTINED
        session = Session(
            station_id=STATIONS["EDGE-AC"],
            evse_id=1,
            transaction_ref=f"EDGE-{status.value}",
            ocpp_version="1.6",
            id_tag=TOKEN_UID,
            account_id=ACCOUNT,
            payment_route=PaymentRoute.INVOICE,  # an RFID card of a postpaid account
            started_at=started,
            meter_start_wh=Decimal(1000),
            status=status,
            stopped_at=started + timedelta(minutes=50),
            meter_stop_wh=Decimal(21000),
            quarantine_reasons=(QuarantineReason.ENERGY_ABOVE_MAX_POWER,) if held else (),
            tariff_id=tariff.id,
            id=session_id,
            created_at=now,
            updated_at=now,
        )
        async with runtime.uow() as uow:
            await uow.sessions.add(session)
            await uow.commit()


def login_of(role: Role) -> str:
    return f"{role.value}@edge.test"
