"""Reservations of an EVSE by a driver (issue 16; OCPP 1.6 §5.13 ReserveNow, §5.4
CancelReservation; OCPP 2.0.1 H01/H02) and what they cost (OCPI 2.2.1 §11.4.5).

A reservation holds one EVSE for one of the driver's tokens until ``expires_at``. It ends in
one of three ways: the driver starts charging there with that token (``used``: the time from
the reservation to the start is reservation time in that session's CDR, priced by the
tariff's RESERVATION elements — OCPI's CDR ``start_date_time`` is then the reservation's start,
§10.4.1), the driver cancels it (``cancelled``) or it runs out (``expired``). A reservation
that is never used is not billed: a charge is a session's (DESIGN §2), and pricing an unused
one (RESERVATION_EXPIRES elements) needs a charge of its own, which does not exist yet.

The number is the OCPP ``reservationId`` (a positive 32-bit integer, unique per station):
random, so it cannot be guessed across stations and needs no counter shared by writers.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from chargeledger.domain.ids import new_id
from chargeledger.domain.tariffs.cdr import ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.quantities import floor_ms, millis_between
from chargeledger.errors import ConflictError, InvalidInputError

SHORTEST = timedelta(minutes=1)
LONGEST = timedelta(minutes=30)  # what an operator lets one driver keep others from charging
_NUMBERS = 2**31 - 1  # OCPP reservationId: integer (1.6 §7.x; 2.0.1 "id", int32)


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Reservation:
    number: int
    station_id: uuid.UUID
    evse_id: int
    account_id: uuid.UUID
    token_id: uuid.UUID
    id_tag: str
    created_at: datetime
    expires_at: datetime
    status: ReservationStatus = ReservationStatus.ACTIVE
    ended_at: datetime | None = None
    session_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=new_id)
    external_ref: str | None = None  # a roaming partner's id of it (OCPI 2.2.1 §13.3.5)

    def status_at(self, now: datetime) -> ReservationStatus:
        """An active reservation past its expiry has expired, whether or not the periodic
        job has written it down yet."""
        if self.status is ReservationStatus.ACTIVE and now >= self.expires_at:
            return ReservationStatus.EXPIRED
        return self.status

    def holds(self, now: datetime) -> bool:
        return self.status_at(now) is ReservationStatus.ACTIVE


def new_number() -> int:
    return secrets.randbelow(_NUMBERS) + 1


def expiry(now: datetime, minutes: int) -> datetime:
    """When a reservation asked for ``minutes`` now ends; ``invalid_reservation_length``
    outside SHORTEST..LONGEST."""
    length = timedelta(minutes=minutes)
    if not SHORTEST <= length <= LONGEST:
        raise InvalidInputError(
            f"a reservation lasts {SHORTEST.seconds // 60} to {LONGEST.seconds // 60} minutes",
            code="invalid_reservation_length",
            field="minutes",
        )
    return now + length


def use(reservation: Reservation, session_id: uuid.UUID, now: datetime) -> Reservation:
    """The reserving token started on the reserved EVSE; the start reached us ``now``.

    The reservation ends there, and at its expiry at the latest: the station's start time is
    on the station's clock and ours on the server's, so the time held is measured on ours
    alone (``held``) and the session's CDR places it just before the station's start."""
    return replace(
        reservation,
        status=ReservationStatus.USED,
        ended_at=max(min(now, reservation.expires_at), reservation.created_at),
        session_id=session_id,
    )


def held(reservation: Reservation) -> timedelta:
    """How long a used reservation held its EVSE (server time)."""
    if reservation.ended_at is None:
        return timedelta(0)
    return reservation.ended_at - reservation.created_at


def cancel(reservation: Reservation, now: datetime) -> Reservation:
    if not reservation.holds(now):
        raise ConflictError(
            f"the reservation is {reservation.status_at(now).value}; only an active one can "
            "be cancelled",
            code="reservation_not_active",
        )
    return replace(reservation, status=ReservationStatus.CANCELLED, ended_at=now)


def expire(reservation: Reservation) -> Reservation:
    return replace(reservation, status=ReservationStatus.EXPIRED, ended_at=reservation.expires_at)


def reservation_period(since: datetime, until: datetime) -> ChargingPeriod:
    """The period before charging that a used reservation adds to its session's CDR: only
    RESERVATION_TIME (OCPI 2.2.1 §10.4.7), no energy, so only reservation elements price it."""
    begin = floor_ms(since)
    return ChargingPeriod(
        start_date_time=begin,
        dimensions=(),
        durations=((DimensionType.RESERVATION_TIME, millis_between(begin, floor_ms(until))),),
    )
