"""A driver starts, watches and stops their own charge from the app (issue 16).

Start and stop are the operator's remote commands (OCPP 1.6 §5.11 RemoteStartTransaction,
§5.12 RemoteStopTransaction; 2.0.1 F01/F03 RequestStart/StopTransaction) sent through the same
``send_command`` path, but bound to what the caller owns: the idTag is one of the caller's own
active tokens, the session to stop is one of their own account's. Anything not theirs is "not
found" (DESIGN §6: deny by default, and never confirm that another's token or session exists).

An EVSE another driver has reserved is not started (``evse_reserved``); the driver who
reserved it starts it as any other, and the session then uses the reservation
(``reservation_claims``).

The live cost is the session cost endpoint's own figure (``session_pricing.price_session``,
the one ``price()`` of DESIGN §2) reduced to what the app shows while charging.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chargeledger.domain.accounts import Token, TokenStatus
from chargeledger.domain.billing import VatRates
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Principal
from chargeledger.domain.meter_checks import registers_in_order
from chargeledger.domain.station_link import CommandKind, CommandResult, StationCommand
from chargeledger.domain.tariffs.quantities import floor_ms
from chargeledger.errors import ConflictError, NotFoundError
from chargeledger.services.catalog import get_station
from chargeledger.services.charging import session_pricing
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.charging.station_commands import send_command
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.customers import get_token
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

ACCEPTED = "Accepted"


def usable(token: Token, now: datetime) -> bool:
    """A token the station would accept now (OCPP 1.6 §7.3 AuthorizationStatus Accepted)."""
    return token.status is TokenStatus.ACTIVE and (
        token.expires_at is None or token.expires_at > now
    )


async def _check_start(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    station_id: uuid.UUID,
    evse_id: int,
    token_id: uuid.UUID,
) -> Token:
    token = await get_token(uow, principal, token_id)  # another account's: token_not_found
    if not usable(token, clock.now()):
        raise ConflictError(
            f"token {token.uid} is {token.status.value}; start with an active one",
            code="token_not_active",
        )
    station = await check_evse_free(uow, station_id, evse_id)
    now = clock.now()
    for held in await uow.reservations.active_on_evse(station.id, evse_id):
        if held.holds(now) and held.id_tag != token.uid:
            raise ConflictError(f"EVSE {evse_id} is reserved", code="evse_reserved")
    return token


async def check_evse_free(uow: UnitOfWork, station_id: uuid.UUID, evse_id: int) -> Station:
    """The station, when it has ``evse_id`` and nothing charges there (``evse_not_found``,
    ``evse_busy``)."""
    station = await get_station(uow, station_id)
    if await uow.evses.get_by_station_evse(station.id, evse_id) is None:
        raise NotFoundError(
            f"EVSE {evse_id} of station {station_id} not found", code="evse_not_found"
        )
    if await uow.sessions.open_on_evse(station.id, evse_id) is not None:
        raise ConflictError(f"EVSE {evse_id} is charging already", code="evse_busy")
    return station


async def start_charge(
    uow_factory: UnitOfWorkFactory,
    bus: CommandBus,
    clock: Clock,
    principal: Principal,
    station_id: uuid.UUID,
    evse_id: int,
    token_id: uuid.UUID,
) -> CommandResult:
    """Ask the station to start ``evse_id`` for the caller's token. The station's answer is
    only that it will try (1.6 §5.11): the session exists once its StartTransaction comes.
    A Rejected answer is a 409 ``start_rejected``; an offline station ``station_offline``."""
    async with uow_factory() as uow:
        token = await _check_start(uow, clock, principal, station_id, evse_id, token_id)
    command = StationCommand(CommandKind.REMOTE_START, evse_id=evse_id, id_tag=token.uid)
    result = await send_command(uow_factory, bus, station_id, command)
    if result.status != ACCEPTED:
        raise ConflictError(
            f"the station answered {result.status} to the start", code="start_rejected"
        )
    return result


async def stop_charge(
    uow_factory: UnitOfWorkFactory, bus: CommandBus, principal: Principal, session_id: uuid.UUID
) -> CommandResult:
    """Ask the station to stop the caller's running session (its transaction reference is
    the 1.6 transactionId / 2.0.1 transactionId). The session closes when the station's
    StopTransaction / TransactionEvent Ended comes; a Rejected answer is ``stop_rejected``."""
    async with uow_factory() as uow:
        session = await get_session(uow, principal, session_id)
    if session.status is not SessionStatus.ACTIVE:
        raise ConflictError(f"session {session_id} is not running", code="session_not_running")
    command = StationCommand(
        CommandKind.REMOTE_STOP, evse_id=session.evse_id, transaction_ref=session.transaction_ref
    )
    result = await send_command(uow_factory, bus, session.station_id, command)
    if result.status != ACCEPTED:
        raise ConflictError(
            f"the station answered {result.status} to the stop", code="stop_rejected"
        )
    return result


@dataclass(frozen=True, slots=True)
class LiveCost:
    """What the charging view shows. ``status``: ``live`` while running, ``final`` once closed,
    ``under_review`` when quarantined (no amount, as the cost endpoint). Before the first
    meter reading after the start nothing is priced (an OCPI CDR needs a charging period):
    the amounts are None. ``duration_s`` is station time, start to latest reading or stop
    (the reservation time before it, which the cost includes, is not charging time)."""

    session_id: uuid.UUID
    status: str
    energy_kwh: Decimal
    duration_s: int
    currency: str | None = None
    cost_excl_vat: Decimal | None = None
    cost_incl_vat: Decimal | None = None

    @property
    def ended(self) -> bool:
        return self.status != "live"


async def live_mark(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID
) -> tuple[str, datetime | None]:
    """What moves whenever the live cost can: the session's status and its last write (every
    MeterValues, stop, release or correction writes it). A viewer re-prices only when it
    moved: this reads one row, pricing reads every sample."""
    session = await get_session(uow, principal, session_id)
    return session.status.value, session.updated_at


async def live_cost(
    uow: UnitOfWork, clock: Clock, principal: Principal, session_id: uuid.UUID, rates: VatRates
) -> LiveCost:
    session = await get_session(uow, principal, session_id)
    if session.status is SessionStatus.QUARANTINED:
        return LiveCost(session_id, "under_review", Decimal(0), 0)
    if session.is_open:
        readings = registers_in_order(await uow.sessions.samples(session.id))
        if not readings or readings[-1][0] <= session.started_at:
            return LiveCost(session_id, "live", Decimal(0), 0)
    priced = await session_pricing.price_session(uow, clock, principal, session_id, rates)
    stopped = priced.cdr.end_date_time
    return LiveCost(
        session_id,
        "live" if priced.live else "final",
        priced.result.total_energy,
        max(0, int((stopped - floor_ms(session.started_at)).total_seconds())),
        priced.billed.currency,
        priced.billed.net,
        priced.billed.gross,
    )
