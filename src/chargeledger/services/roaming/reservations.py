"""Reservations by a roaming partner's drivers (OCPI 2.2.1 §13.3.5 ReserveNow, §13.3.1
CancelReservation), carried out as the partner's CommandResult (``commands``).

A partner's account holds all its drivers, so its reservations count per token (one active
each), not per account as a driver's own do (``charging.reservations.reserve_evse``). The
partner names a reservation with its own ``reservation_id``, kept as the reservation's
``external_ref`` (unique per account): a RESERVE_NOW with an id that is still active replaces
it (§13.3.5), on the same EVSE by sending the station its number again with the new expiry
(OCPP 1.6 §5.13: the same reservationId replaces it there); on another EVSE it is refused,
cancel first. An id once used stays that reservation's. The expiry is the partner's
``expiry_date``, within our bounds (1 to 30 minutes from now, ``domain.reservations``). Two
commands for one token or one EVSE at once: the second waits for the first's locks, or is
refused when busy.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from chargeledger.domain import reservations as booking
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
from chargeledger.services.charging.reservations import (
    cancel_at_station,
    reserve_at_station,
    reserve_evse,
)
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.locking import exclusive
from chargeledger.services.ports import Locks
from chargeledger.services.roaming.handshake import Handshake

LOCK_WAIT_S = 5.0
_BUSY = {"code": "reservation_busy", "what": "reserving"}


async def reserve_for_partner(
    hs: Handshake,
    bus: CommandBus,
    locks: Locks,
    account_id: uuid.UUID,
    token_uid: str,
    target: tuple[uuid.UUID, int],
    expires_at: datetime,
    ref: str,
) -> booking.Reservation:
    """Reserve ``target`` (station id, EVSE number) for the partner's token until
    ``expires_at`` under the partner's ``ref``; the station's refusal or ours raises."""
    station_id, evse_id = target
    length = expires_at - hs.clock.now()
    if not booking.SHORTEST <= length <= booking.LONGEST:
        raise InvalidInputError(
            "expiry_date must be 1 to 30 minutes from now", code="invalid_reservation_length"
        )
    async with hs.uows() as uow:
        token = await uow.tokens.get_by_uid(token_uid)
    if token is None or token.account_id != account_id:
        raise NotFoundError(f"token {token_uid} is not the partner's", code="token_not_found")
    async with (
        exclusive(locks, f"reserve:token:{token.id}", LOCK_WAIT_S, **_BUSY),
        exclusive(locks, f"reserve:evse:{station_id}:{evse_id}", LOCK_WAIT_S, **_BUSY),
    ):
        async with hs.uows() as uow:
            known = await uow.reservations.by_external_ref(account_id, ref)
        if known is None:
            return await reserve_evse(
                hs.uows, bus, hs.clock, token, station_id, evse_id, expires_at, external_ref=ref
            )
        if not known.holds(hs.clock.now()) or (known.station_id, known.evse_id) != target:
            raise ConflictError(
                f"reservation {ref} is {known.status_at(hs.clock.now()).value} or elsewhere",
                code="reservation_exists",
            )
        replaced = dataclasses.replace(known, expires_at=expires_at)
        await reserve_at_station(hs.uows, bus, replaced)
        async with hs.uows() as uow:
            await uow.reservations.update(replaced)
            await uow.commit()
        return replaced


async def cancel_for_partner(
    hs: Handshake, bus: CommandBus, account_id: uuid.UUID, ref: str
) -> booking.Reservation:
    """Cancel the partner's active reservation ``ref``: ``unknown_reservation`` when it has
    none active by that id."""
    async with hs.uows() as uow:
        known = await uow.reservations.by_external_ref(account_id, ref)
    if known is None or not known.holds(hs.clock.now()):
        raise NotFoundError(f"no active reservation {ref}", code="unknown_reservation")
    return await cancel_at_station(hs.uows, bus, hs.clock, known)
