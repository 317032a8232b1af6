"""Use cases of tariffs: import a version, list, show, assign, and find the one a session
starts under (its snapshot, DESIGN §2)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import VatRates, supply_vat
from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.catalog import Site, Station
from chargeledger.domain.ids import new_id
from chargeledger.domain.tariff_vat import VatDue, check_tariff_vat, stated_vat
from chargeledger.domain.tariffs import parse_tariff
from chargeledger.domain.tariffs.assignment import (
    OPERATOR_SCOPE_ID,
    StoredTariff,
    TariffAssignment,
    TariffScope,
    lookup_order,
)
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.common import page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork


async def import_tariff(uow: UnitOfWork, clock: Clock, document: Any) -> StoredTariff:
    """Store a new tariff version from OCPI 2.2.1 JSON. Versions are never changed in place,
    so a session keeps the version it started under. Its display texts are free text a
    person wrote: no card numbers in them (DESIGN §2)."""
    tariff = parse_tariff(document)
    for index, alt_text in enumerate(tariff.tariff_alt_text):
        refuse_card_data(alt_text.text, f"tariff_alt_text[{index}].text")
    stored = StoredTariff(id=new_id(), tariff=tariff, created_at=clock.now())
    await uow.tariffs.add(stored)
    return stored


async def get_tariff(uow: UnitOfWork, tariff_id: uuid.UUID) -> StoredTariff:
    stored = await uow.tariffs.get(tariff_id)
    if stored is None:
        raise NotFoundError(f"tariff {tariff_id} not found", code="tariff_not_found")
    return stored


async def list_tariffs(
    uow: UnitOfWork,
    *,
    limit: int = 100,
    offset: int = 0,
    search: str | None = None,
    ocpi_id: str | None = None,
) -> Page[StoredTariff]:
    """Tariff versions by OCPI id then age; ``search`` finds a part of the OCPI id or the
    currency, ``ocpi_id`` keeps the versions of one tariff (issue 16: the office's list)."""
    limit, offset = page_bounds(limit, offset)
    needle = (search or "").strip() or None
    return await uow.tariffs.list(limit=limit, offset=offset, search=needle, ocpi_id=ocpi_id)


async def tariff_assignments(uow: UnitOfWork, tariff_id: uuid.UUID) -> Sequence[TariffAssignment]:
    """Where a tariff version applies now (each scope names one version: a later assignment
    of the scope replaced this one's there)."""
    await get_tariff(uow, tariff_id)
    return await uow.tariffs.assignments_of(tariff_id)


async def assign_tariff(
    uow: UnitOfWork,
    clock: Clock,
    tariff_id: uuid.UUID,
    scope: TariffScope,
    scope_id: str | None,
    rates: VatRates,
) -> TariffAssignment:
    """Make a tariff apply to a connector, station, site, account, or the whole operator.
    The scope must exist, and a tariff that states VAT must state the VAT due wherever it
    applies (``domain.tariff_vat``), else ``tariff_vat_mismatch`` and nothing is assigned."""
    stored = await get_tariff(uow, tariff_id)
    if scope is TariffScope.OPERATOR or (scope is TariffScope.AD_HOC and not scope_id):
        scope_id = OPERATOR_SCOPE_ID
    if not scope_id:
        raise InvalidInputError(
            f"a {scope.value} tariff needs the {scope.value} it applies to",
            code="missing_field",
            field="scope_id",
        )
    sites, buyer = await _applies_to(uow, scope, scope_id)
    if stated_vat(stored.tariff):
        effective = max(clock.now(), stored.tariff.start_date_time or clock.now())
        due = [
            VatDue(
                site.name,
                site.address.country,
                supply_vat(rates, site.address.country, site.time_zone, effective, buyer),
            )
            for site in sites
        ]
        check_tariff_vat(stored.tariff, due)
    assignment = TariffAssignment(scope, scope_id, tariff_id, clock.now())
    await uow.tariffs.assign(scope, scope_id, tariff_id, assignment.assigned_at)
    return assignment


async def _applies_to(
    uow: UnitOfWork, scope: TariffScope, scope_id: str
) -> tuple[list[Site], Account | None]:
    """The sites where a tariff of this scope would price sessions, and the account whose
    sessions it prices (account scope); unknown scopes are refused."""
    if scope_id == OPERATOR_SCOPE_ID and scope in (TariffScope.OPERATOR, TariffScope.AD_HOC):
        return await all_sites(uow), None
    if scope is TariffScope.ACCOUNT:
        account = await uow.accounts.get(_uuid(scope_id))
        if account is None:
            raise NotFoundError(f"account {scope_id} not found", code="account_not_found")
        return await all_sites(uow), account
    if scope in (TariffScope.SITE, TariffScope.AD_HOC):
        return [await get_site(uow, _uuid(scope_id))], None
    station_ref = scope_id.split(":")[0] if scope is TariffScope.CONNECTOR else scope_id
    if scope is TariffScope.CONNECTOR and len(scope_id.split(":")) != 3:
        raise InvalidInputError(
            "a connector is STATION_ID:EVSE:CONNECTOR", code="invalid_scope_id", field="scope_id"
        )
    station = await get_station(uow, _uuid(station_ref))
    return [await get_site(uow, station.site_id)], None


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInputError(
            f"{text!r} is not an id", code="invalid_scope_id", field="scope_id"
        ) from None


async def all_sites(uow: UnitOfWork) -> list[Site]:
    """Every site of the catalog, in pages of a thousand."""
    found: list[Site] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.sites.list(limit=1000, offset=offset)
        found += page.items
        offset = page.next_offset
    return found


async def tariff_for_session(
    uow: UnitOfWork,
    station: Station,
    evse_id: int,
    connector_id: int,
    account_id: uuid.UUID | None,
    started_at: datetime,
) -> StoredTariff | None:
    """The tariff a session starts under: the most specific assignment whose tariff is valid
    at the start (OCPI 2.2.1 §11.3.1 start/end_date_time)."""
    for scope, scope_id in lookup_order(
        account_id=account_id,
        site_id=station.site_id,
        station_id=station.id,
        evse_id=evse_id,
        connector_id=connector_id,
    ):
        tariff_id = await uow.tariffs.assigned(scope, scope_id)
        if tariff_id is None:
            continue
        stored = await uow.tariffs.get(tariff_id)
        if stored is not None and stored.tariff.valid_at(started_at):
            return stored
    return None
