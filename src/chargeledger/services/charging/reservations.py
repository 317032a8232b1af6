"""A driver reserves an EVSE from the app, cancels it, or uses it by charging there (issue 16;
OCPP 1.6 §5.13 ReserveNow and §5.4 CancelReservation, 2.0.1 H01/H02; ``domain.reservations``).

Bound to what the caller owns, as ``driver_charging``: the token is one of their own active
ones and the reservation one of their account's (another's is "not found", DESIGN §6). One
active reservation per account at a time, and none on an EVSE that is charging or already
held: a driver cannot keep several chargers from others.

The station is the judge of its own state: the reservation is stored only once the station
answered Accepted (Occupied, Faulted, Unavailable or Rejected are a 409 ``reserve_rejected``
with the station's word), and a cancellation is written once it accepted it (an unknown
reservation there means it ended on its own: the record then ends as cancelled too). The
station's command goes out with no transaction open (``send_command``).

Use: when the reserving token starts on the reserved EVSE (with the reservation's number in
the 1.6 StartTransaction.req, or without it — some firmware leaves it out), the session claims
it in the start's own transaction (``reservation_claims``), and the reservation time from then
on is part of the session's CDR (``session_pricing``). A reservation that runs out is written
down by the periodic job ``expire_reservations``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from chargeledger.domain import reservations as booking
from chargeledger.domain.accounts import Token
from chargeledger.domain.identity import Principal
from chargeledger.domain.reservations import Reservation
from chargeledger.domain.station_link import CommandKind, StationCommand
from chargeledger.errors import ConflictError, DuplicateError, NotFoundError
from chargeledger.services.charging.driver_charging import ACCEPTED, check_evse_free, usable
from chargeledger.services.charging.station_commands import send_command
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.customers import get_token
from chargeledger.services.locking import exclusive
from chargeledger.services.ports import Clock, Locks, UnitOfWork, UnitOfWorkFactory

EXPIRY_BATCH = 500
LOCK_WAIT_S = 2.0
_BUSY = {"code": "reservation_busy", "what": "reserving"}


async def reserve(
    uow_factory: UnitOfWorkFactory,
    bus: CommandBus,
    clock: Clock,
    locks: Locks,
    principal: Principal,
    station_id: uuid.UUID,
    evse_id: int,
    token_id: uuid.UUID,
    minutes: int,
) -> Reservation:
    """Hold ``evse_id`` for the caller's token for ``minutes`` (1-30).

    Two requests at once (two taps with different keys, two phones) must not both pass the
    checks: the account's and then the EVSE's lock are held (always in that order) from the
    checks until the reservation is stored; one that is busy is refused at once
    (``reservation_busy``, 409: nothing was done, try again)."""
    booking.expiry(clock.now(), minutes)  # a length out of bounds is refused before all else
    async with uow_factory() as uow:
        token = await get_token(uow, principal, token_id)  # another account's: not found
    async with (
        exclusive(locks, f"reserve:account:{token.account_id}", LOCK_WAIT_S, **_BUSY),
        exclusive(locks, f"reserve:evse:{station_id}:{evse_id}", LOCK_WAIT_S, **_BUSY),
    ):
        expires_at = booking.expiry(clock.now(), minutes)  # from when the locks were had
        return await reserve_evse(uow_factory, bus, clock, token, station_id, evse_id, expires_at)


async def reserve_evse(
    uow_factory: UnitOfWorkFactory,
    bus: CommandBus,
    clock: Clock,
    token: Token,
    station_id: uuid.UUID,
    evse_id: int,
    expires_at: datetime,
    *,
    external_ref: str | None = None,
) -> Reservation:
    """Reserve under the caller's locks (``reserve``; a roaming partner's: ``roaming``).
    One active reservation per account, or per token for a reservation a roaming partner
    made (``external_ref``: its id of it), since a partner's account holds all its drivers."""
    now = clock.now()
    async with uow_factory() as uow:
        if not usable(token, now):
            raise ConflictError(
                f"token {token.uid} is {token.status.value}; reserve with an active one",
                code="token_not_active",
            )
        station = await check_evse_free(uow, station_id, evse_id)
        held = await uow.reservations.active_on_evse(station.id, evse_id)
        if any(r.holds(now) for r in held):
            raise ConflictError(f"EVSE {evse_id} is reserved already", code="evse_reserved")
        mine = await uow.reservations.active_of_account(token.account_id)
        if external_ref is not None:
            mine = [r for r in mine if r.token_id == token.id]
        if any(r.holds(now) for r in mine):
            raise ConflictError(
                "you have an active reservation; cancel it before reserving another",
                code="reservation_exists",
            )
    reservation = Reservation(
        number=booking.new_number(),
        station_id=station_id,
        evse_id=evse_id,
        account_id=token.account_id,
        token_id=token.id,
        id_tag=token.uid,
        created_at=now,
        expires_at=expires_at,
        external_ref=external_ref,
    )
    await reserve_at_station(uow_factory, bus, reservation)
    return await _store(uow_factory, reservation)


class StationRefusedError(ConflictError):
    """The station did not accept a ReserveNow; ``station_status`` is its word (1.6 §7.38
    ReservationStatus: Faulted, Occupied, Rejected, Unavailable)."""

    def __init__(self, station_status: str) -> None:
        super().__init__(
            f"the station answered {station_status} to the reservation", code="reserve_rejected"
        )
        self.station_status = station_status


async def reserve_at_station(
    uow_factory: UnitOfWorkFactory, bus: CommandBus, reservation: Reservation
) -> None:
    """ReserveNow for ``reservation`` (the same number again replaces it there, OCPP 1.6
    §5.13); ``StationRefusedError`` unless the station accepts."""
    command = StationCommand(
        CommandKind.RESERVE_NOW,
        evse_id=reservation.evse_id,
        id_tag=reservation.id_tag,
        reservation_id=reservation.number,
        expires_at=reservation.expires_at,
    )
    result = await send_command(uow_factory, bus, reservation.station_id, command)
    if result.status != ACCEPTED:
        raise StationRefusedError(result.status)


async def _store(uow_factory: UnitOfWorkFactory, reservation: Reservation) -> Reservation:
    """Write the accepted reservation. Its number was random; in the rare case the station
    already had a stored reservation of that number (an old, ended one), the record keeps the
    station's acceptance but the clash is reported rather than hidden."""
    async with uow_factory() as uow:
        try:
            await uow.reservations.add(reservation)
        except DuplicateError as exc:
            raise ConflictError(
                "a reservation number was used twice; cancel at the station and try again",
                code="reservation_number_taken",
            ) from exc
        await uow.commit()
    return reservation


async def get_reservation(
    uow: UnitOfWork, principal: Principal, reservation_id: uuid.UUID
) -> Reservation:
    found = await uow.reservations.get(reservation_id)
    if found is None or (principal.is_account_bound and found.account_id != principal.account_id):
        raise NotFoundError(f"reservation {reservation_id} not found", code="reservation_not_found")
    return found


async def my_reservations(
    uow: UnitOfWork, principal: Principal, limit: int = 50
) -> list[Reservation]:
    """The caller's account's reservations, newest first."""
    if principal.account_id is None:
        return []
    return await uow.reservations.of_account(principal.account_id, limit)


async def cancel(
    uow_factory: UnitOfWorkFactory,
    bus: CommandBus,
    clock: Clock,
    principal: Principal,
    reservation_id: uuid.UUID,
) -> Reservation:
    """Cancel the caller's active reservation at the station, then in the record. Cancelling
    one that is already cancelled answers it again (a repeated request changes nothing)."""
    async with uow_factory() as uow:
        found = await get_reservation(uow, principal, reservation_id)
    return await cancel_at_station(uow_factory, bus, clock, found)


async def cancel_at_station(
    uow_factory: UnitOfWorkFactory, bus: CommandBus, clock: Clock, found: Reservation
) -> Reservation:
    """Cancel ``found`` (one the caller may cancel) at its station, then in the record."""
    if found.status is booking.ReservationStatus.CANCELLED:
        return found
    booking.cancel(found, clock.now())  # refuses one that is no longer active
    command = StationCommand(CommandKind.CANCEL_RESERVATION, reservation_id=found.number)
    result = await send_command(uow_factory, bus, found.station_id, command)
    if result.status not in (ACCEPTED, "Rejected"):
        raise ConflictError(
            f"the station answered {result.status} to the cancellation", code="cancel_rejected"
        )
    # Rejected: the station holds no such reservation any more (1.6 §5.4), so it is over.
    async with uow_factory() as uow:
        current = await uow.reservations.get(found.id)
        if current is None:
            return found
        if not current.holds(clock.now()):
            return current  # used or written down meanwhile
        ended = booking.cancel(current, clock.now())
        await uow.reservations.update(ended)
        await uow.commit()
    return ended


async def expire_reservations(uow: UnitOfWork, clock: Clock) -> int:
    """Write down the reservations that ran out (the periodic job); the station lets them go
    on its own at ``expiryDate`` (1.6 §5.13)."""
    run_out = await uow.reservations.run_out(clock.now(), EXPIRY_BATCH)
    for reservation in run_out:
        await uow.reservations.update(booking.expire(reservation))
    return len(run_out)
