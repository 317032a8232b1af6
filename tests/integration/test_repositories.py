"""The SQL repositories through a real unit of work on real SQLite and PostgreSQL.

What is checked here is what the services take for granted: aggregates come back equal,
money-like numbers stay exact Decimals and times stay UTC (DESIGN §2); nothing is kept without
``commit()``; a unique key taken by a concurrent request still ends in a DuplicateError with a
stable code (the services' pre-checks are only for friendly messages, ``integrity.py`` is the
race-safe backstop), and a failed write leaves the transaction usable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from chargeledger.adapters.db import tables
from chargeledger.adapters.db.unit_of_work import SqlUnitOfWork
from chargeledger.bootstrap import Runtime
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
    Station,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import ApiKey, Role, Scope, User
from chargeledger.errors import ChargeledgerError, ConflictError, DuplicateError
from chargeledger.money import Currency

# Deliberately with microseconds and, below, with non-UTC offsets: both must survive storage.
T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def uow_of(runtime: Runtime) -> SqlUnitOfWork:
    """The runtime's factory typed as the SQL unit of work (for ``count_connectors`` etc.)."""
    return runtime._factory()


# --- builders ----------------------------------------------------------------------------


def new_site(name: str = "Depot Mitte", **changes: Any) -> Site:
    fields: dict[str, Any] = {
        "name": name,
        "address": Address("Hauptstr. 1", "10115", "Berlin", "DE"),
        "latitude": Decimal("52.520008"),
        "longitude": Decimal("-13.404954"),
        "time_zone": "Europe/Berlin",
        "operator_name": "Stadtwerke",
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Site(**fields)


def new_station(site_id: uuid.UUID, charge_point_id: str = "CP-0001", **changes: Any) -> Station:
    fields: dict[str, Any] = {
        "site_id": site_id,
        "charge_point_id": charge_point_id,
        "vendor": "ABB",
        "model": "Terra AC",
        "ocpp_version": OcppVersion.V16,
        "security_profile": 2,
        "serial_number": "SN-1",
        "password_hash": "$argon2id$v=19$fake",
        "meter_serial": "M-1",
        "ocmf_public_key": "3059301306072a8648ce3d0201" + "ab" * 40,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Station(**fields)


def connector(
    connector_id: int, power: str, standard: ConnectorStandard = (ConnectorStandard.IEC_62196_T2)
) -> Connector:
    return Connector(
        connector_id=connector_id,
        standard=standard,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_power_kw=Decimal(power),
    )


def new_evse(station_id: uuid.UUID, evse_id: int = 1, **changes: Any) -> Evse:
    fields: dict[str, Any] = {
        "station_id": station_id,
        "evse_id": evse_id,
        "connectors": (connector(1, "22.080"), connector(2, "11")),
        "evse_uid": None,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Evse(**fields)


def new_account(name: str = "Fleet GmbH", **changes: Any) -> Account:
    fields: dict[str, Any] = {
        "kind": AccountKind.BUSINESS,
        "name": name,
        "email": "billing@fleet.example",
        "billing_address": Address("Hauptstr. 1", "10115", "Berlin", "DE"),
        "currency": Currency.of("EUR"),
        "vat_id": "DE136695976",
        "payment_terms_days": 30,
        "billing_mode": BillingMode.POSTPAID,
        "reference": None,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Account(**fields)


def new_token(account_id: uuid.UUID, uid: str = "04A2B3C4", **changes: Any) -> Token:
    fields: dict[str, Any] = {
        "uid": uid,
        "type": TokenType.RFID,
        "account_id": account_id,
        "status": TokenStatus.ACTIVE,
        "expires_at": datetime(2031, 6, 1, 14, 30, 15, 123456, tzinfo=PLUS_TWO),
        "label": "Fahrer 1",
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Token(**fields)


def new_user(email: str = "driver@example.org", **changes: Any) -> User:
    fields: dict[str, Any] = {
        "email": email,
        "password_hash": "$argon2id$v=19$fake",
        "role": Role.ADMIN,
        "name": "Someone",
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return User(**fields)


def new_api_key(prefix: str = "cl_abc12", **changes: Any) -> ApiKey:
    fields: dict[str, Any] = {
        "name": "ERP export",
        "prefix": prefix,
        "secret_hash": "f" * 64,
        "scopes": frozenset({Scope.CATALOG_READ, Scope.CATALOG_WRITE}),
        "created_at": T0,
    }
    fields.update(changes)
    return ApiKey(**fields)


@dataclass(frozen=True)
class Parents:
    """Committed rows other aggregates refer to by foreign key."""

    site: Site
    station: Station
    account: Account


@pytest.fixture
async def parents(runtime: Runtime) -> Parents:
    site = new_site()
    station = new_station(site.id)
    account = new_account()
    async with runtime.uow() as uow:
        await uow.sites.add(site)
        await uow.stations.add(station)
        await uow.accounts.add(account)
        await uow.commit()
    return Parents(site, station, account)


# --- round trips -------------------------------------------------------------------------


async def test_site_round_trip(runtime: Runtime) -> None:
    site = new_site(latitude=Decimal("-33.868820"), longitude=Decimal("151.209296"))
    async with runtime.uow() as uow:
        await uow.sites.add(site)
        await uow.commit()
    async with runtime.uow() as uow:
        loaded = await uow.sites.get(site.id)
    assert loaded == site
    assert loaded is not None
    assert type(loaded.latitude) is Decimal
    assert type(loaded.longitude) is Decimal
    assert str(loaded.latitude) == "-33.868820"
    assert str(loaded.longitude) == "151.209296"


async def test_station_round_trip(runtime: Runtime, parents: Parents) -> None:
    async with runtime.uow() as uow:
        loaded = await uow.stations.get(parents.station.id)
        by_identity = await uow.stations.get_by_charge_point_id("CP-0001")
    assert loaded == parents.station
    assert by_identity == parents.station


async def test_evse_round_trip_keeps_connectors_exact(runtime: Runtime, parents: Parents) -> None:
    """22.080 kW must come back as exactly Decimal("22.080"), not 22.08 via a float."""
    evse = new_evse(
        parents.station.id,
        evse_uid="DE*ABC*E0001*1",
        connectors=(connector(2, "3749.999", ConnectorStandard.MCS), connector(1, "22.080")),
    )
    async with runtime.uow() as uow:
        await uow.evses.add(evse)
        await uow.commit()
    async with runtime.uow() as uow:
        loaded = await uow.evses.get(evse.id)
        by_number = await uow.evses.get_by_station_evse(parents.station.id, 1)
    assert loaded == evse
    assert by_number == evse
    assert loaded is not None
    powers = [(c.connector_id, c.max_power_kw) for c in loaded.connectors]
    assert powers == [(1, Decimal("22.080")), (2, Decimal("3749.999"))]
    assert all(type(c.max_power_kw) is Decimal for c in loaded.connectors)
    assert [str(c.max_power_kw) for c in loaded.connectors] == ["22.080", "3749.999"]


async def test_exact_decimal_column_stores_the_exact_digits(
    runtime: Runtime, parents: Parents
) -> None:
    """Below the domain (which quantises on load and could hide a float on the way): the
    column itself returns a Decimal, and the stored value has exactly the written digits."""
    evse = new_evse(parents.station.id, connectors=(connector(1, "22.080"),))
    async with runtime.uow() as uow:
        await uow.evses.add(evse)
        await uow.commit()
    engine = runtime._factory.engine
    async with engine.connect() as connection:
        typed = await connection.scalar(select(tables.connectors.c.max_power_kw))
        raw = await connection.scalar(text("SELECT max_power_kw FROM connectors"))
        lat = await connection.scalar(select(tables.sites.c.latitude))
    assert type(typed) is Decimal
    assert str(typed) == "22.080"
    assert str(raw) == "22.080"
    assert type(lat) is Decimal
    assert str(lat) == "52.520008"


async def test_account_round_trip(runtime: Runtime) -> None:
    account = new_account(
        kind=AccountKind.INDIVIDUAL,
        vat_id=None,
        reference="CUST-0042",
        billing_mode=BillingMode.PREPAID,
        payment_terms_days=0,
        currency=Currency.of("KWD"),
        billing_address=Address("Rua Augusta 1", "1100-048", "Lisboa", "PT"),
    )
    business = new_account(
        "Frota Lda",
        billing_address=Address("Rua 2", "1000-001", "Lisboa", "PT"),
        vat_id="PT501964843",  # as the customer use cases store it (VatIdChecker)
    )
    async with runtime.uow() as uow:
        await uow.accounts.add(account)
        await uow.accounts.add(business)
        await uow.commit()
    async with runtime.uow() as uow:
        assert await uow.accounts.get(account.id) == account
        loaded = await uow.accounts.get(business.id)
    assert loaded == business
    assert loaded is not None
    assert loaded.vat_id == "PT501964843"


async def test_token_round_trip_returns_utc(runtime: Runtime, parents: Parents) -> None:
    """DESIGN §2: stored in UTC. A +02:00 expiry comes back as the same instant, in UTC."""
    token = new_token(parents.account.id, uid="04a2b3c4")
    assert token.expires_at is not None
    async with runtime.uow() as uow:
        await uow.tokens.add(token)
        await uow.commit()
    async with runtime.uow() as uow:
        loaded = await uow.tokens.get(token.id)
        by_uid = await uow.tokens.get_by_uid("04a2B3C4")
    assert loaded == token
    assert by_uid == token
    assert loaded is not None
    assert loaded.expires_at is not None
    assert loaded.expires_at == token.expires_at
    assert loaded.expires_at.tzinfo == UTC
    assert loaded.expires_at.utcoffset() == timedelta(0)
    assert loaded.expires_at.replace(tzinfo=None) == datetime(2031, 6, 1, 12, 30, 15, 123456)
    for stamp in (loaded.created_at, loaded.updated_at):
        assert stamp == T0
        assert stamp is not None
        assert stamp.tzinfo == UTC


async def test_aware_timestamps_in_any_zone_come_back_utc(runtime: Runtime) -> None:
    created = datetime(2030, 3, 31, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
    site = new_site(created_at=created, updated_at=created)
    async with runtime.uow() as uow:
        await uow.sites.add(site)
        await uow.commit()
    async with runtime.uow() as uow:
        loaded = await uow.sites.get(site.id)
    assert loaded is not None
    assert loaded.created_at == created
    assert loaded.created_at is not None
    assert loaded.created_at.tzinfo == UTC
    assert loaded.created_at.hour == 6


async def test_user_and_api_key_round_trip(runtime: Runtime, parents: Parents) -> None:
    driver = new_user(
        "driver@example.org", role=Role.DRIVER, account_id=parents.account.id, active=False
    )
    admin = new_user("admin@example.org", name=None)
    key = new_api_key(revoked_at=datetime(2030, 2, 1, tzinfo=PLUS_TWO))
    async with runtime.uow() as uow:
        await uow.users.add(driver)
        await uow.users.add(admin)
        await uow.api_keys.add(key)
        await uow.commit()
    async with runtime.uow() as uow:
        assert await uow.users.get(driver.id) == driver
        assert await uow.users.get_by_email("admin@example.org") == admin
        loaded_key = await uow.api_keys.get_by_prefix("cl_abc12")
    assert loaded_key == key
    assert loaded_key is not None
    assert loaded_key.scopes == frozenset({Scope.CATALOG_READ, Scope.CATALOG_WRITE})
    assert not loaded_key.active


async def test_update_keeps_created_at(runtime: Runtime, parents: Parents) -> None:
    """``created_at`` is set once; an update carrying another value must not rewrite it."""
    later = T0 + timedelta(days=1)
    changed = dataclasses.replace(
        parents.station, vendor="Alpitronic", created_at=later, updated_at=later
    )
    async with runtime.uow() as uow:
        await uow.stations.update(changed)
        await uow.commit()
    async with runtime.uow() as uow:
        loaded = await uow.stations.get(parents.station.id)
    assert loaded == dataclasses.replace(changed, created_at=T0)


async def test_missing_rows_read_as_none(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        assert await uow.sites.get(uuid.uuid4()) is None
        assert await uow.evses.get(uuid.uuid4()) is None
        assert await uow.stations.get_by_charge_point_id("nope") is None
        assert await uow.tokens.get_by_uid("NOPE") is None


# --- time zones are enforced by the column type ------------------------------------------


async def test_naive_datetimes_are_refused_by_the_column(
    runtime: Runtime, parents: Parents
) -> None:
    """The domain checks ``expires_at`` but not ``created_at``; the column type is the last
    line that keeps a wall-clock time of unknown zone out of storage."""
    naive = new_token(parents.account.id, created_at=datetime(2030, 1, 1, 12, 0))
    async with runtime.uow() as uow:
        with pytest.raises((ValueError, SQLAlchemyError), match="naive datetime"):
            await uow.tokens.add(naive)
        await uow.tokens.add(new_token(parents.account.id, uid="AFTER"))
        await uow.commit()
    async with runtime.uow() as uow:
        assert await uow.tokens.get(naive.id) is None
        assert await uow.tokens.get_by_uid("AFTER") is not None


async def test_naive_expiry_smuggled_past_the_domain_is_refused(
    runtime: Runtime, parents: Parents
) -> None:
    token = new_token(parents.account.id)
    object.__setattr__(token, "expires_at", datetime(2031, 1, 1))
    async with runtime.uow() as uow:
        with pytest.raises((ValueError, SQLAlchemyError), match="naive datetime"):
            await uow.tokens.add(token)


# --- transactions ------------------------------------------------------------------------


async def test_nothing_is_kept_without_commit(runtime: Runtime, parents: Parents) -> None:
    site = new_site("Uncommitted")
    async with runtime.uow() as uow:
        await uow.sites.add(site)
        await uow.tokens.add(new_token(parents.account.id))
        assert await uow.sites.get(site.id) == site  # visible inside its own transaction
    async with runtime.uow() as uow:
        assert await uow.sites.get(site.id) is None
        assert await uow.sites.count() == 1
        assert await uow.tokens.count() == 0


async def test_an_exception_inside_the_unit_of_work_discards_its_writes(
    runtime: Runtime,
) -> None:
    site = new_site("Doomed")

    class AbortedError(Exception):
        pass

    async def write_then_fail() -> None:
        async with runtime.uow() as uow:
            await uow.sites.add(site)
            raise AbortedError

    with pytest.raises(AbortedError):
        await write_then_fail()
    async with runtime.uow() as uow:
        assert await uow.sites.get(site.id) is None


async def test_rollback_discards_and_the_unit_of_work_goes_on(runtime: Runtime) -> None:
    first, second = new_site("First"), new_site("Second")
    async with runtime.uow() as uow:
        await uow.sites.add(first)
        await uow.rollback()
        await uow.sites.add(second)
        await uow.commit()
    async with runtime.uow() as uow:
        assert await uow.sites.get(first.id) is None
        assert await uow.sites.get(second.id) == second


# --- unique keys -------------------------------------------------------------------------

Conflict = tuple[Callable[[Any], Any], Any, Any]


def conflicting_pair(constraint: str, parents: Parents) -> Conflict:
    """Two entities that clash on ``constraint`` and the repository (by uow) to add them to."""
    station_id = parents.station.id
    account_id = parents.account.id
    pairs: dict[str, Conflict] = {
        "uq_stations_charge_point_id": (
            lambda uow: uow.stations,
            new_station(parents.site.id, "CP-DUP"),
            new_station(parents.site.id, "CP-DUP", vendor="Other"),
        ),
        "uq_evses_station_id_evse_id": (
            lambda uow: uow.evses,
            new_evse(station_id, 7),
            new_evse(station_id, 7, connectors=(connector(1, "7.4"),)),
        ),
        "uq_evses_evse_uid": (
            lambda uow: uow.evses,
            new_evse(station_id, 1, evse_uid="DE*ABC*E1"),
            new_evse(station_id, 2, evse_uid="DE*ABC*E1"),
        ),
        "uq_accounts_reference": (
            lambda uow: uow.accounts,
            new_account("One", reference="REF-1"),
            new_account("Two", reference="REF-1"),
        ),
        "uq_tokens_uid": (
            lambda uow: uow.tokens,
            new_token(account_id, "abc123"),
            new_token(account_id, "ABC123"),
        ),
        "uq_users_email": (
            lambda uow: uow.users,
            new_user("same@example.org"),
            new_user("Same@Example.org", role=Role.FINANCE),
        ),
        "uq_api_keys_prefix": (
            lambda uow: uow.api_keys,
            new_api_key("cl_dup01"),
            new_api_key("cl_dup01", name="Other"),
        ),
    }
    return pairs[constraint]


@pytest.mark.parametrize("constraint", sorted(tables.DUPLICATE_CODES))
async def test_unique_key_violation_is_a_duplicate_error_and_the_transaction_survives(
    runtime: Runtime, parents: Parents, constraint: str
) -> None:
    """Straight at the repository, no service pre-check: the database's own refusal must
    come out as DuplicateError with the constraint's stable code and field, inside a
    savepoint, so the rest of the unit of work can still commit."""
    repository, first, second = conflicting_pair(constraint, parents)
    code, field = tables.DUPLICATE_CODES[constraint]
    survivor = new_site("Written after the clash")
    async with runtime.uow() as uow:
        await repository(uow).add(first)
        with pytest.raises(DuplicateError) as info:
            await repository(uow).add(second)
        await uow.sites.add(survivor)
        await uow.commit()
    assert info.value.code == code
    assert info.value.field == field
    async with runtime.uow() as uow:
        assert await repository(uow).get(first.id) == first
        assert await repository(uow).get(second.id) is None
        assert await uow.sites.get(survivor.id) == survivor


async def test_update_onto_a_taken_key_is_a_duplicate_error(
    runtime: Runtime, parents: Parents
) -> None:
    other = new_station(parents.site.id, "CP-0002")
    async with runtime.uow() as uow:
        await uow.stations.add(other)
        await uow.commit()
    async with runtime.uow() as uow:
        with pytest.raises(DuplicateError) as info:
            await uow.stations.update(dataclasses.replace(other, charge_point_id="CP-0001"))
        await uow.commit()
    assert info.value.code == "duplicate_charge_point_id"
    async with runtime.uow() as uow:
        assert await uow.stations.get(other.id) == other


async def test_concurrent_creation_of_one_charge_point_id(
    runtime: Runtime, parents: Parents
) -> None:
    """Two requests register the same station at the same moment, both past any pre-check:
    exactly one is stored and the other gets the stable duplicate code, never a raw database
    error and never two rows."""
    for attempt in range(3):
        charge_point_id = f"CP-RACE-{attempt}"
        candidates = [
            new_station(parents.site.id, charge_point_id, vendor=v) for v in ("Left", "Right")
        ]
        # Both units of work hold their own connection before either writes, so the two
        # inserts really meet in the database (PostgreSQL: the second waits on the first's
        # uncommitted index entry; SQLite: on the first's write lock).
        both_open = asyncio.Barrier(len(candidates))

        async def register(station: Station, both_open: asyncio.Barrier = both_open) -> Station:
            async with runtime.uow() as uow:
                await both_open.wait()
                await uow.stations.add(station)
                await asyncio.sleep(0)
                await uow.commit()
            return station

        results = await asyncio.gather(*(register(s) for s in candidates), return_exceptions=True)
        stored = [r for r in results if isinstance(r, Station)]
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(stored) == 1, results
        assert len(failed) == 1, results
        assert isinstance(failed[0], DuplicateError), repr(failed[0])
        assert failed[0].code == "duplicate_charge_point_id"
        async with runtime.uow() as uow:
            found = await uow.stations.get_by_charge_point_id(charge_point_id)
            page = await uow.stations.list(site_id=parents.site.id, limit=100, offset=0)
        assert found == stored[0]
        assert [s.charge_point_id for s in page.items].count(charge_point_id) == 1


# --- foreign keys ------------------------------------------------------------------------


async def test_foreign_keys_are_enforced_on_delete(runtime: Runtime, parents: Parents) -> None:
    """SQLite ignores foreign keys unless told; a site with stations must not vanish under
    them, and the refusal is a project error the API can map (409), not a raw database one."""
    async with runtime.uow() as uow:
        with pytest.raises(ChargeledgerError) as info:
            await uow.sites.delete(parents.site.id)
        assert not isinstance(info.value, SQLAlchemyError)
        # The failed delete ran in a savepoint: the same unit of work can still write.
        await uow.sites.add(new_site("Still writable"))
        await uow.commit()
    assert isinstance(info.value, ConflictError)
    assert info.value.code == "reference_conflict"
    async with runtime.uow() as uow:
        assert await uow.sites.get(parents.site.id) == parents.site
        assert await uow.sites.count() == 2


async def test_an_account_with_tokens_cannot_be_deleted(runtime: Runtime, parents: Parents) -> None:
    async with runtime.uow() as uow:
        await uow.tokens.add(new_token(parents.account.id))
        await uow.commit()
        with pytest.raises(ConflictError) as info:
            await uow.accounts.delete(parents.account.id)
    assert info.value.code == "reference_conflict"


async def test_a_station_with_evses_cannot_be_deleted(runtime: Runtime, parents: Parents) -> None:
    async with runtime.uow() as uow:
        await uow.evses.add(new_evse(parents.station.id))
        await uow.commit()
        with pytest.raises(ConflictError) as info:
            await uow.stations.delete(parents.station.id)
    assert info.value.code == "reference_conflict"


async def test_a_reference_to_a_missing_row_is_refused(runtime: Runtime) -> None:
    orphan = new_station(uuid.uuid4(), "CP-ORPHAN")
    async with runtime.uow() as uow:
        with pytest.raises(ConflictError) as info:
            await uow.stations.add(orphan)
        await uow.commit()
    assert info.value.code == "reference_conflict"
    async with runtime.uow() as uow:
        assert await uow.stations.get(orphan.id) is None


# --- account listing ---------------------------------------------------------------------


@pytest.fixture
async def listed_accounts(runtime: Runtime) -> list[Account]:
    accounts = [
        new_account("Alpha Fleet", email="ops@alpha.example", reference="A-1"),
        new_account("Beta Logistics", email="billing@beta.example", reference="B-2"),
        new_account(
            "Gamma",
            kind=AccountKind.INDIVIDUAL,
            vat_id=None,
            email="gamma@example.org",
            reference="BETA-REF",
        ),
        new_account("Delta 100% Green", email="d@delta.example", vat_id=None),
        new_account("MÜLLER Flotten", email="info@mueller.example", vat_id=None),
    ]
    async with runtime.uow() as uow:
        for account in accounts:
            await uow.accounts.add(account)
        await uow.commit()
    return accounts


async def list_names(runtime: Runtime, **filters: Any) -> list[str]:
    arguments: dict[str, Any] = {
        "kind": None,
        "only_id": None,
        "search": None,
        "limit": 100,
        "offset": 0,
    }
    arguments.update(filters)
    async with runtime.uow() as uow:
        page = await uow.accounts.list(**arguments)
    return [account.name for account in page.items]


async def test_account_search_and_filters(runtime: Runtime, listed_accounts: list[Account]) -> None:
    """Operators find customers by any part of name, e-mail or reference, in any case."""
    assert await list_names(runtime, search="bEtA") == ["Beta Logistics", "Gamma"]
    assert await list_names(runtime, search="alpha.example") == ["Alpha Fleet"]
    assert await list_names(runtime, kind=AccountKind.INDIVIDUAL) == ["Gamma"]
    gamma = listed_accounts[2]
    assert await list_names(runtime, only_id=gamma.id, search="gamma") == ["Gamma"]
    assert await list_names(runtime, only_id=gamma.id, search="alpha") == []
    assert await list_names(runtime, limit=2, offset=2) == ["Delta 100% Green", "Gamma"]


async def test_account_search_treats_wildcards_literally(
    runtime: Runtime, listed_accounts: list[Account]
) -> None:
    assert await list_names(runtime, search="100%") == ["Delta 100% Green"]
    assert await list_names(runtime, search="_") == []


async def test_account_search_is_case_insensitive_beyond_ascii(
    runtime: Runtime, listed_accounts: list[Account]
) -> None:
    """Both back ends must find the same customers; German names are not ASCII.

    (PostgreSQL folds non-ASCII case under a UTF-8 ``lc_ctype`` such as the dev/CI server's
    C.UTF-8; under a plain "C" ctype it would not either.)
    """
    assert await list_names(runtime, search="müller") == ["MÜLLER Flotten"]


# --- EVSEs and their connectors ----------------------------------------------------------


async def test_evse_update_replaces_the_connector_set(runtime: Runtime, parents: Parents) -> None:
    """Connectors are part of the EVSE aggregate: an update states the whole new set, so a
    connector left out is gone and none is duplicated."""
    evse = new_evse(parents.station.id)  # connectors 1 (22.080 kW) and 2 (11 kW)
    async with runtime.uow() as uow:
        await uow.evses.add(evse)
        await uow.commit()
    replaced = dataclasses.replace(
        evse,
        connectors=(connector(3, "50", ConnectorStandard.CHADEMO), connector(2, "7.4")),
        updated_at=T0 + timedelta(hours=1),
    )
    async with uow_of(runtime) as uow:
        await uow.evses.update(replaced)
        await uow.commit()
    async with uow_of(runtime) as uow:
        loaded = await uow.evses.get(evse.id)
        assert await uow.evses.count_connectors() == 2
    assert loaded == replaced
    assert loaded is not None
    assert [(c.connector_id, c.max_power_kw, c.standard) for c in loaded.connectors] == [
        (2, Decimal("7.400"), ConnectorStandard.IEC_62196_T2),
        (3, Decimal("50.000"), ConnectorStandard.CHADEMO),
    ]


async def test_evse_delete_removes_its_connectors(runtime: Runtime, parents: Parents) -> None:
    evse = new_evse(parents.station.id)
    async with uow_of(runtime) as uow:
        await uow.evses.add(evse)
        await uow.commit()
    async with uow_of(runtime) as uow:
        await uow.evses.delete(evse.id)
        await uow.commit()
    async with uow_of(runtime) as uow:
        assert await uow.evses.get(evse.id) is None
        assert await uow.evses.count_connectors() == 0
        assert not await uow.evses.exists_for_station(parents.station.id)


# --- paging ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "offset", "expected_names", "next_offset"),
    [
        (2, 0, ["Site 1", "Site 2"], 2),
        (2, 2, ["Site 3", "Site 4"], 4),
        (2, 4, ["Site 5"], None),
        (5, 0, ["Site 1", "Site 2", "Site 3", "Site 4", "Site 5"], None),  # exactly all
        (4, 0, ["Site 1", "Site 2", "Site 3", "Site 4"], 4),  # one short of all
        (4, 1, ["Site 2", "Site 3", "Site 4", "Site 5"], None),  # ends on the last row
        (1, 5, [], None),  # past the end
    ],
)
async def test_site_paging_boundaries(
    runtime: Runtime,
    limit: int,
    offset: int,
    expected_names: list[str],
    next_offset: int | None,
) -> None:
    """``next_offset`` is None exactly when no row follows the page, so a client that
    follows it reads every row once and stops without an empty extra request."""
    async with runtime.uow() as uow:
        for number in (3, 1, 5, 2, 4):
            await uow.sites.add(new_site(f"Site {number}"))
        await uow.commit()
    async with runtime.uow() as uow:
        page = await uow.sites.list(limit=limit, offset=offset)
    assert [s.name for s in page.items] == expected_names
    assert page.next_offset == next_offset


async def test_evse_paging_boundaries(runtime: Runtime, parents: Parents) -> None:
    """EVSEs page through their own loader (rows plus connectors); same contract."""
    async with runtime.uow() as uow:
        for evse_id in (1, 2, 3, 4):
            await uow.evses.add(new_evse(parents.station.id, evse_id))
        await uow.commit()
    seen: list[int] = []
    async with runtime.uow() as uow:
        offset: int | None = 0
        while offset is not None:
            page = await uow.evses.list(station_id=parents.station.id, limit=2, offset=offset)
            seen.extend(e.evse_id for e in page.items)
            assert all(len(e.connectors) == 2 for e in page.items)
            offset = page.next_offset
        exact = await uow.evses.list(station_id=parents.station.id, limit=4, offset=0)
        other = await uow.evses.list(station_id=uuid.uuid4(), limit=4, offset=0)
    assert seen == [1, 2, 3, 4]
    assert exact.next_offset is None
    assert len(exact.items) == 4
    assert other.items == []
    assert other.next_offset is None


async def test_token_paging_and_filters(runtime: Runtime, parents: Parents) -> None:
    async with runtime.uow() as uow:
        for uid in ("T3", "T1", "T2"):
            await uow.tokens.add(new_token(parents.account.id, uid))
        await uow.tokens.add(new_token(parents.account.id, "T0", status=TokenStatus.BLOCKED))
        await uow.commit()
    async with runtime.uow() as uow:
        active = await uow.tokens.list(
            account_id=parents.account.id, status=TokenStatus.ACTIVE, limit=3, offset=0
        )
        first = await uow.tokens.list(account_id=None, status=None, limit=3, offset=0)
        rest = await uow.tokens.list(account_id=None, status=None, limit=3, offset=3)
    assert [t.uid for t in active.items] == ["T1", "T2", "T3"]
    assert active.next_offset is None
    assert [t.uid for t in first.items] == ["T0", "T1", "T2"]
    assert first.next_offset == 3
    assert [t.uid for t in rest.items] == ["T3"]
    assert rest.next_offset is None
