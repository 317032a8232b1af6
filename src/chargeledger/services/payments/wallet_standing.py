"""Where a prepaid wallet stands against its minimum, with the figures that explain it: the
guarantee of live credit control (``domain.wallets``) held against what happened.

A wallet may end below its minimum by at most one meter interval's cost, plus what stations
delivered after the meter value that called for their stop (a station that charges on when
told to stop, or whose messages reach us after the session is over). ``one_interval`` is the
most one meter interval can cost at this wallet's sessions: the EVSE's full power for the
interval, under the wallet's tariff at the session's start (the same ``price()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import Session
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.station_link import SessionFilter
from chargeledger.errors import ChargeledgerError
from chargeledger.money import ZERO
from chargeledger.services.catalog import list_evses
from chargeledger.services.payments.wallets import view_wallet
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.quotes import quote_station

HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class WalletStanding:
    account: Account
    balance: Decimal
    minimum: Decimal
    stops: int  # sessions told to stop for credit
    after_stops: Decimal  # billed for what came after the meter value that called for a stop
    one_interval: Decimal

    @property
    def below(self) -> Decimal:
        return max(self.minimum - self.balance, ZERO)

    @property
    def within_bound(self) -> bool:
        return self.below <= self.one_interval + self.after_stops


async def wallet_standing(
    uow: UnitOfWork,
    clock: Clock,
    account: Account,
    default_floor: Decimal,
    interval: timedelta,
    rates: VatRates,
) -> WalletStanding:
    view = await view_wallet(uow, account, default_floor)
    page = await uow.sessions.search(SessionFilter(account_id=account.id), limit=1000, offset=0)
    stops, after, worst = 0, ZERO, ZERO
    for session in page.items:
        worst = max(worst, await _one_interval(uow, clock, account, session, interval, rates))
        asked = await uow.payments.stop_request(session.id)
        if asked is None:
            continue
        stops += 1
        charge = await uow.billing.charge_for_session(session.id)
        if charge is not None:
            after += max(charge.gross - asked.cost, ZERO)
    return WalletStanding(account, view.balance, view.minimum, stops, after, worst)


async def _one_interval(
    uow: UnitOfWork,
    clock: Clock,
    account: Account,
    session: Session,
    interval: timedelta,
    rates: VatRates,
) -> Decimal:
    evses = (await list_evses(uow, station_id=session.station_id, limit=100)).items
    powers = [c.max_power_kw for e in evses if e.evse_id == session.evse_id for c in e.connectors]
    if not powers:
        return ZERO
    kwh = max(powers) * Decimal(interval.total_seconds()) / HOUR
    driver = Principal(subject="wallet-standing", role=Role.DRIVER, account_id=account.id)
    try:
        quote = await quote_station(
            uow,
            clock,
            driver,
            session.station_id,
            rates,
            kwh=kwh,
            charging=interval,
            evse_id=session.evse_id,
            starts_at=session.started_at,
        )
    except ChargeledgerError:
        return ZERO
    return quote.billed.gross
