"""Use cases of tariffs: import a version, list, show, assign, and find the one a session
starts under (its snapshot, DESIGN §2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.catalog import Station
from chargeledger.domain.tariffs import parse_tariff
from chargeledger.domain.tariffs.assignment import (
    OPERATOR_SCOPE_ID,
    StoredTariff,
    TariffScope,
    lookup_order,
)
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.services.common import page_bounds
from chargeledger.services.ports import Clock, Page, UnitOfWork


async def import_tariff(uow: UnitOfWork, clock: Clock, document: Any) -> StoredTariff:
    """Store a new tariff version from OCPI 2.2.1 JSON. Versions are never changed in place,
    so a session keeps the version it started under. Its display texts are free text a
    person wrote: no card numbers in them (DESIGN §2)."""
    tariff = parse_tariff(document)
    for index, alt_text in enumerate(tariff.tariff_alt_text):
        refuse_card_data(alt_text.text, f"tariff_alt_text[{index}].text")
    stored = StoredTariff(id=uuid.uuid4(), tariff=tariff, created_at=clock.now())
    await uow.tariffs.add(stored)
    await uow.commit()
    return stored


async def get_tariff(uow: UnitOfWork, tariff_id: uuid.UUID) -> StoredTariff:
    stored = await uow.tariffs.get(tariff_id)
    if stored is None:
        raise NotFoundError(f"tariff {tariff_id} not found", code="tariff_not_found")
    return stored


async def list_tariffs(uow: UnitOfWork, *, limit: int = 100, offset: int = 0) -> Page[StoredTariff]:
    limit, offset = page_bounds(limit, offset)
    return await uow.tariffs.list(limit=limit, offset=offset)


async def assign_tariff(
    uow: UnitOfWork, clock: Clock, tariff_id: uuid.UUID, scope: TariffScope, scope_id: str | None
) -> None:
    """Make a tariff apply to a connector, station, site, account, or the whole operator."""
    await get_tariff(uow, tariff_id)
    if scope is TariffScope.OPERATOR or (scope is TariffScope.AD_HOC and not scope_id):
        scope_id = OPERATOR_SCOPE_ID
    if not scope_id:
        raise InvalidInputError(
            f"a {scope.value} tariff needs the {scope.value} it applies to",
            code="missing_field",
            field="scope_id",
        )
    await uow.tariffs.assign(scope, scope_id, tariff_id, clock.now())
    await uow.commit()


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
