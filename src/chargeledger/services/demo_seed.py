"""Seed a realistic small operator for the demo: sites in two countries and time zones,
~20 stations with 40 connectors, 50 customer accounts of both kinds with their tokens.

Deterministic by seed, so a demo run can be compared with the next one. Everything goes through
the same use cases the API uses, so the demo exercises the real validation.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from chargeledger.domain.accounts import (
    Account,
    AccountKind,
    BillingMode,
    Token,
    TokenStatus,
    TokenType,
)
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency
from chargeledger.services import catalog, customers, identity
from chargeledger.services.ports import (
    Clock,
    PasswordHasher,
    StationSecrets,
    UnitOfWork,
    UnitOfWorkFactory,
    VatIdChecker,
)

DEMO_PASSWORD = "demo-password-2026"  # demo users only; printed by the demo


def demo_station_password(charge_point_id: str) -> str:
    """The Basic-auth password of a demo station, so the simulator can log in as it."""
    return f"demo-{charge_point_id}-secret".ljust(16, "x")[:40]


@dataclass(frozen=True)
class _SiteSpec:
    name: str
    street: str
    postal_code: str
    city: str
    country: str
    latitude: str
    longitude: str
    time_zone: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class _Model:
    vendor: str
    model: str
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_power_kw: Decimal


MODELS = {
    "ac22": _Model(
        "Alfen",
        "Eve Double Pro-line",
        ConnectorStandard.IEC_62196_T2,
        ConnectorFormat.SOCKET,
        PowerType.AC_3_PHASE,
        Decimal("22"),
    ),
    "ac11": _Model(
        "Wallbox",
        "Commander 2",
        ConnectorStandard.IEC_62196_T2,
        ConnectorFormat.CABLE,
        PowerType.AC_3_PHASE,
        Decimal("11"),
    ),
    "dc150": _Model(
        "Alpitronic",
        "HYC300",
        ConnectorStandard.IEC_62196_T2_COMBO,
        ConnectorFormat.CABLE,
        PowerType.DC,
        Decimal("150"),
    ),
    "dc90": _Model(
        "ABB",
        "Terra 184",
        ConnectorStandard.IEC_62196_T2_COMBO,
        ConnectorFormat.CABLE,
        PowerType.DC,
        Decimal("90"),
    ),
}

SITES = (
    _SiteSpec(
        "Berlin Alexanderplatz Hub",
        "Alexanderstraße 7",
        "10178",
        "Berlin",
        "DE",
        "52.521918",
        "13.413215",
        "Europe/Berlin",
        ("dc150", "dc150", "ac22", "ac22"),
    ),
    _SiteSpec(
        "Hamburg HafenCity Garage",
        "Am Sandtorkai 50",
        "20457",
        "Hamburg",
        "DE",
        "53.543210",
        "9.989700",
        "Europe/Berlin",
        ("ac22", "ac22", "ac11", "dc90"),
    ),
    _SiteSpec(
        "München Messe Parkhaus",
        "Am Messesee 2",
        "81829",
        "München",
        "DE",
        "48.135540",
        "11.695170",
        "Europe/Berlin",
        ("dc150", "dc90", "ac22"),
    ),
    _SiteSpec(
        "Lisboa Parque das Nações",
        "Alameda dos Oceanos 45",
        "1990-203",
        "Lisboa",
        "PT",
        "38.768060",
        "-9.094350",
        "Europe/Lisbon",
        ("dc150", "ac22", "ac22"),
    ),
    _SiteSpec(
        "Porto Boavista",
        "Avenida da Boavista 1277",
        "4100-130",
        "Porto",
        "PT",
        "41.158400",
        "-8.629100",
        "Europe/Lisbon",
        ("ac11", "ac22", "dc90"),
    ),
    _SiteSpec(
        "Coimbra A1 Área de Serviço",
        "A1 km 190",
        "3020-001",
        "Coimbra",
        "PT",
        "40.233330",
        "-8.416670",
        "Europe/Lisbon",
        ("dc150", "dc150", "ac22"),
    ),
)

_FIRST = (
    "Anna",
    "Jonas",
    "Lea",
    "Lukas",
    "Mia",
    "Felix",
    "Sofia",
    "Tiago",
    "Inês",
    "João",
    "Beatriz",
    "Rui",
    "Marta",
    "Paul",
    "Emma",
    "Noah",
    "Clara",
    "Diogo",
    "Leonie",
    "Ben",
)
_LAST = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Wagner",
    "Becker",
    "Silva",
    "Santos",
    "Ferreira",
    "Pereira",
    "Costa",
    "Oliveira",
    "Rodrigues",
    "Hoffmann",
)
_COMPANIES = (
    "Spree Logistik",
    "Nordlicht Pflegedienst",
    "Isar Taxi",
    "Hanse Kurier",
    "Rhein Elektro",
    "Tejo Transportes",
    "Douro Frota",
    "Lusa Serviços",
    "Atlântico Rent-a-Car",
    "Brabant Fleet",
    "Meuse Distribution",
    "Alster Carsharing",
    "Bavaria Handwerk",
    "Minho Entregas",
    "Algarve Shuttle",
)
_CITIES = {
    "DE": (("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667")),
    "PT": (("Lisboa", "1100-148"), ("Porto", "4000-322"), ("Coimbra", "3000-150")),
    "BE": (("Bruxelles", "1000"), ("Antwerpen", "2000")),
}


def _vat_id(country: str, rng: random.Random, vat_ids: VatIdChecker) -> str:
    """A VAT id with correct check digits for the country (DE, PT, BE)."""
    if country == "DE":
        return _with_check_digit("DE" + str(rng.randint(10_000_000, 99_999_999)), vat_ids)
    if country == "PT":
        body = str(rng.choice("56789")) + str(rng.randint(1_000_000, 9_999_999))
        return _with_check_digit("PT" + body, vat_ids)
    first8 = f"0{rng.randint(2_000_000, 9_999_999)}"
    return f"BE{first8}{97 - int(first8) % 97:02d}"


def _with_check_digit(stem: str, vat_ids: VatIdChecker) -> str:
    """``stem`` and the one last digit that makes it a valid VAT id (DE: ISO 7064 mod 11,10;
    PT: the NIF's mod 11), as the VAT-id checker finds it."""
    for digit in "0123456789":
        with contextlib.suppress(InvalidInputError):
            return vat_ids.normalise(stem + digit, stem[:2])
    raise ValueError(f"no check digit completes {stem}")


@dataclass
class SeedReport:
    sites: list[Site] = field(default_factory=list)
    station_count: int = 0
    evse_count: int = 0
    connector_count: int = 0
    accounts: list[Account] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    users: dict[Role, str] = field(default_factory=dict)


async def seed_demo_operator(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    hasher: PasswordHasher,
    station_secrets: StationSecrets,
    vat_ids: VatIdChecker,
    *,
    seed: int = 2026,
    on_step: Callable[[str], None] = lambda _: None,
) -> SeedReport:
    rng = random.Random(seed)
    report = SeedReport()
    async with uow_factory() as uow:
        for spec in SITES:
            site = await catalog.create_site(
                uow,
                clock,
                Site(
                    name=spec.name,
                    operator_name="chargeledger demo CPO",
                    address=Address(spec.street, spec.postal_code, spec.city, spec.country),
                    latitude=Decimal(spec.latitude),
                    longitude=Decimal(spec.longitude),
                    time_zone=spec.time_zone,
                ),
            )
            report.sites.append(site)
            for model_key in spec.models:
                await _seed_station(
                    uow, clock, station_secrets, site, MODELS[model_key], report, rng
                )
                on_step("station")
        for index in range(50):
            account = await _seed_account(uow, clock, vat_ids, index, rng)
            report.accounts.append(account)
            report.tokens.extend(await _seed_tokens(uow, clock, account, rng))
            on_step("account")
        await _seed_users(uow, clock, hasher, report)
        await uow.commit()
    return report


async def _seed_station(
    uow: UnitOfWork,
    clock: Clock,
    station_secrets: StationSecrets,
    site: Site,
    model: _Model,
    report: SeedReport,
    rng: random.Random,
) -> None:
    number = report.station_count + 1
    country = site.address.country
    cpid = f"{country}-CLG-{number:04d}"
    fields = {
        "site_id": site.id,
        "charge_point_id": cpid,
        "vendor": model.vendor,
        "model": model.model,
        "serial_number": f"{model.vendor[:3].upper()}{rng.randint(100000, 999999)}",
        "ocpp_version": OcppVersion.V16 if number % 3 == 0 else OcppVersion.V201,
        "security_profile": 2 if model.power_type is PowerType.DC else 1,
        "meter_serial": f"EM{rng.randint(10_000_000, 99_999_999)}",
    }
    password = demo_station_password(cpid)
    station = await catalog.create_station(uow, clock, station_secrets, fields, password)
    report.station_count += 1
    for evse_number in (1, 2):
        connector = Connector(1, model.standard, model.format, model.power_type, model.max_power_kw)
        await catalog.create_evse(
            uow,
            clock,
            Evse(
                station_id=station.id,
                evse_id=evse_number,
                evse_uid=f"{country}*CLG*E{number:04d}*{evse_number}",
                connectors=(connector,),
            ),
        )
        report.evse_count += 1
        report.connector_count += 1


async def _seed_account(
    uow: UnitOfWork, clock: Clock, vat_ids: VatIdChecker, index: int, rng: random.Random
) -> Account:
    business = index % 10 < 3  # 15 of 50
    if business:
        name = _COMPANIES[index // 10 * 3 + index % 10]
        country = rng.choice(("DE", "DE", "PT", "PT", "BE"))
        email = name.lower().replace(" ", ".").replace("ç", "c").replace("ê", "e")
        email = email.replace("â", "a") + "@example.com"
        kind, terms, mode = AccountKind.BUSINESS, 30, BillingMode.POSTPAID
        vat_id: str | None = _vat_id(country, rng, vat_ids)
    else:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
        country = rng.choice(("DE", "PT"))
        email = f"{first}.{last}.{index}@example.org".lower()
        kind, terms, vat_id = AccountKind.INDIVIDUAL, 14, None
        mode = BillingMode.PREPAID if index % 4 == 0 else BillingMode.POSTPAID
    city, postal_code = rng.choice(_CITIES[country])
    account = Account(
        kind=kind,
        name=name,
        email=email,
        billing_address=Address(f"Rua/Straße {rng.randint(1, 200)}", postal_code, city, country),
        currency=Currency.of("EUR"),
        vat_id=vat_id,
        payment_terms_days=terms,
        billing_mode=mode,
        reference=f"C{10000 + index}",
    )
    return await customers.create_account(uow, clock, vat_ids, account)


async def _seed_tokens(
    uow: UnitOfWork, clock: Clock, account: Account, rng: random.Random
) -> list[Token]:
    count = rng.randint(2, 5) if account.kind is AccountKind.BUSINESS else 1
    tokens = []
    for n in range(count):
        status = TokenStatus.ACTIVE
        roll = rng.random()
        if roll < 0.05:
            status = TokenStatus.BLOCKED
        expires = clock.now() + timedelta(days=rng.randint(-30, 900))
        token = Token(
            uid=f"{rng.getrandbits(56):014X}",
            type=TokenType.RFID,
            account_id=account.id,
            status=status,
            expires_at=expires,
            label=f"card {n + 1}",
        )
        tokens.append(await customers.create_token(uow, clock, token))
    if account.kind is AccountKind.INDIVIDUAL and rng.random() < 0.5:
        app_token = Token(
            uid=f"APP-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}",
            type=TokenType.APP,
            account_id=account.id,
            label="mobile app",
        )
        tokens.append(await customers.create_token(uow, clock, app_token))
    return tokens


async def _seed_users(
    uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, report: SeedReport
) -> None:
    driver_account = next(a for a in report.accounts if a.kind is AccountKind.INDIVIDUAL)
    fleet_account = next(a for a in report.accounts if a.kind is AccountKind.BUSINESS)
    for role, account in (
        (Role.ADMIN, None),
        (Role.FINANCE, None),
        (Role.OPERATOR, None),
        (Role.FLEET_MANAGER, fleet_account),
        (Role.DRIVER, driver_account),
    ):
        email = f"{role.value.replace('_', '-')}@demo.chargeledger.org"
        await identity.create_user(
            uow,
            clock,
            hasher,
            email=email,
            password=DEMO_PASSWORD,
            role=role,
            account_id=account.id if account else None,
        )
        report.users[role] = email
