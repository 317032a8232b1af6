"""How a contract prices a session (issue 14), the one pricing function unchanged (DESIGN §2).

At the session's start the contract version valid on its local day is frozen onto it, like
its tariff: a price book with a tariff override makes that tariff the session's snapshot; a
discount book is applied when the session is priced, to the tariff it started under
(``domain.contract_money.contract_tariff``), and ``price()`` prices the result. Versions
are never changed (an amendment is a new version), so a session prices the same forever;
a session that started before an amendment keeps the version it started under.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.catalog import Site, Station
from chargeledger.domain.charging import Session
from chargeledger.domain.contract_money import applies_at, contract_tariff
from chargeledger.domain.contract_records import ContractRecord, StoredVersion
from chargeledger.domain.contract_terms import PriceBook
from chargeledger.domain.contract_terms_json import terms_from_json
from chargeledger.domain.tariffs import Tariff
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.services.catalog import get_site
from chargeledger.services.contracts.records import version_among
from chargeledger.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class ContractAtStart:
    """The contract version a session starts under and the tariff it makes the snapshot."""

    record: ContractRecord
    version: StoredVersion
    tariff: StoredTariff | None  # the override, when its book has one and it applies


def price_book(record: ContractRecord, version: StoredVersion) -> PriceBook | None:
    return terms_from_json(version.terms, record.currency).price_book


async def contract_at_start(
    uow: UnitOfWork,
    account_id: uuid.UUID | None,
    station: Station,
    evse_id: int,
    connector_id: int,
    started_at: datetime,
) -> ContractAtStart | None:
    """The contract and version that govern a session of ``account_id`` starting now at
    ``station`` (the version valid on its site's local day), with its override tariff when
    it has one valid at the start; None without a contract. An account under no contract
    costs one indexed query (this runs on every StartTransaction)."""
    if account_id is None:
        return None
    candidates = await uow.contracts.covering(account_id)
    if not candidates:
        return None
    site = await get_site(uow, station.site_id)
    day = started_at.astimezone(ZoneInfo(site.time_zone)).date()
    found = await version_among(uow, candidates, day)
    if found is None:
        return None
    record, version = found
    book = price_book(record, version)
    override = None
    if book is not None and book.tariff_id is not None:
        power = await book_power(uow, book, station.id, evse_id, connector_id)
        stored = await uow.tariffs.get(book.tariff_id)
        if (
            stored is not None
            and stored.tariff.valid_at(started_at)
            and applies_at(book, site.id, power)
        ):
            override = stored
    return ContractAtStart(record, version, override)


async def book_power(
    uow: UnitOfWork, book: PriceBook, station_id: uuid.UUID, evse_id: int, connector_id: int
) -> Decimal | None:
    """The connector's power when the book has a power class to read it against; no query
    otherwise (this runs whenever a session under contract is priced, the live cost too)."""
    if book.min_power_kw is None and book.max_power_kw is None:
        return None
    return await connector_power(uow, station_id, evse_id, connector_id)


async def connector_power(
    uow: UnitOfWork, station_id: uuid.UUID, evse_id: int, connector_id: int
) -> Decimal | None:
    """The rated power of the connector a session uses (its EVSE's when the connector is not
    known): what a price book's power class is read against."""
    evse = await uow.evses.get_by_station_evse(station_id, evse_id)
    if evse is None:
        return None
    for connector in evse.connectors:
        if connector.connector_id == connector_id:
            return connector.max_power_kw
    return evse.max_power_kw


async def contract_priced_tariff(
    uow: UnitOfWork, tariff: Tariff, session: Session, site: Site
) -> Tariff:
    """The tariff ``price()`` prices a session with: its snapshot, discounted by the price
    book of the contract version frozen at its start where that book applies."""
    contract_version_id = session.contract_version_id
    if contract_version_id is None:
        return tariff
    version = (await uow.contracts.versions_by_id([contract_version_id])).get(contract_version_id)
    record = None if version is None else await uow.contracts.get(version.contract_id)
    if version is None or record is None:
        return tariff
    book = price_book(record, version)
    if book is None or book.discount is None:
        return tariff
    power = await book_power(uow, book, session.station_id, session.evse_id, session.connector_id)
    return discounted(tariff, book, site, power)


def discounted(tariff: Tariff, book: PriceBook | None, site: Site, power: Decimal | None) -> Tariff:
    """``tariff`` under a discount book that applies at ``site`` and ``power``, else as is."""
    if book is None or book.discount is None or not applies_at(book, site.id, power):
        return tariff
    return contract_tariff(tariff, book)
