"""Prices before the start (a quote) from the one pricing function (DESIGN §2, EU AFIR)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from chargeledger.domain.billing import Billed, VatRates, billed_amounts, supply_vat, vat_note
from chargeledger.domain.identity import Principal
from chargeledger.domain.tariffs import PriceResult, price
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.domain.tariffs.display import price_display
from chargeledger.domain.tariffs.periods import planned_cdr
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.contracts.pricing import (
    book_power,
    contract_at_start,
    discounted,
    price_book,
)
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.tariffs import tariff_for_session

MAX_QUOTE_MINUTES = 7 * 24 * 60
MAX_QUOTE_KWH = Decimal(10_000)  # a week at the strongest connector is far less


@dataclass(frozen=True, slots=True)
class Quote:
    tariff: StoredTariff
    result: PriceResult
    display: list[str]
    starts_at: datetime
    time_zone: str
    billed: Billed  # the gross the session would be charged, VAT of the caller's supply


async def quote_station(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    station_id: uuid.UUID,
    rates: VatRates,
    *,
    kwh: Decimal,
    charging: timedelta,
    idle: timedelta = timedelta(0),
    evse_id: int = 1,
    starts_at: datetime | None = None,
) -> Quote:
    """What a session of ``kwh`` over ``charging`` then ``idle`` would cost, under the tariff
    the driver would get (their account's override, if any), with the VAT their charge
    would carry (the site's, or reverse charge for their business account)."""
    longest = timedelta(minutes=MAX_QUOTE_MINUTES)
    if (
        not kwh.is_finite()
        or not 0 <= kwh <= MAX_QUOTE_KWH
        or not timedelta(0) <= charging <= longest
        or not timedelta(0) <= idle <= longest
    ):
        raise InvalidInputError(
            f"kWh (at most {MAX_QUOTE_KWH}), charging and idle time must be positive and at "
            "most a week",
            code="invalid_quote",
        )
    if kwh > 0 and not charging:
        raise InvalidInputError(
            "energy needs charging minutes", code="invalid_quote", field="minutes"
        )
    station = await get_station(uow, station_id)
    site = await get_site(uow, station.site_id)
    start = starts_at or clock.now()
    account = principal.account_id if principal.is_account_bound else None
    stored = await tariff_for_session(uow, station, evse_id, 1, account, start)
    # A driver under contract is quoted the contract's price (issue 14), as they will pay it.
    contract = await contract_at_start(uow, account, station, evse_id, 1, start)
    if contract is not None and contract.tariff is not None:
        stored = contract.tariff
    if stored is None:
        raise NotFoundError("no tariff applies to this station", code="no_tariff")
    tariff = stored.tariff
    if contract is not None:
        book = price_book(contract.record, contract.version)
        power = None if book is None else await book_power(uow, book, station.id, evse_id, 1)
        tariff = discounted(tariff, book, site, power)
    cdr = planned_cdr(
        tariff,
        start,
        kwh=kwh,
        charging=charging,
        idle=idle,
        time_zone=site.time_zone,
    )
    result = price(cdr, tariff, site.time_zone)
    buyer = None if account is None else await uow.accounts.get(account)
    vat = supply_vat(rates, site.address.country, site.time_zone, start, buyer)
    display = price_display(tariff, vat.percent, vat_note(vat))
    snapshot = replace(stored, tariff=tariff)  # the contract's price, as it will be charged
    return Quote(snapshot, result, display, start, site.time_zone, billed_amounts(result, vat))
