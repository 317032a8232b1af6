"""Reservations' rules (issue 16, ``domain.reservations``) and their time in a session's CDR
(``domain.cdrs.session_cdr``: OCPI 2.2.1 §10.4.1 and §11.4.5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.domain import reservations as booking
from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.reservations import Reservation, ReservationStatus
from chargeledger.domain.tariffs import price
from chargeledger.domain.tariffs.cdr import DimensionType
from chargeledger.domain.tariffs.ocpi_json import parse_tariff
from chargeledger.errors import ConflictError, InvalidInputError

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def reservation(minutes: int = 15) -> Reservation:
    return Reservation(
        number=booking.new_number(),
        station_id=uuid.uuid4(),
        evse_id=1,
        account_id=uuid.uuid4(),
        token_id=uuid.uuid4(),
        id_tag="04AABBCC",
        created_at=T0,
        expires_at=booking.expiry(T0, minutes),
    )


@pytest.mark.parametrize("minutes", [0, -1, 31, 24 * 60])
def test_a_reservation_lasts_one_to_thirty_minutes(minutes: int) -> None:
    with pytest.raises(InvalidInputError) as refused:
        booking.expiry(T0, minutes)
    assert refused.value.code == "invalid_reservation_length"


def test_numbers_are_positive_ocpp_integers() -> None:
    assert all(0 < booking.new_number() < 2**31 for _ in range(1000))


def test_it_runs_out_at_its_expiry_whether_or_not_written_down() -> None:
    held = reservation(15)
    assert held.status_at(T0 + timedelta(minutes=14, seconds=59)) is ReservationStatus.ACTIVE
    assert held.status_at(T0 + timedelta(minutes=15)) is ReservationStatus.EXPIRED
    with pytest.raises(ConflictError) as late:
        booking.cancel(held, T0 + timedelta(minutes=15))
    assert late.value.code == "reservation_not_active"
    assert booking.expire(held).ended_at == held.expires_at


def test_the_time_held_by_a_used_one_ends_at_its_expiry_at_the_latest() -> None:
    held = reservation(15)
    session_id = uuid.uuid4()
    used = booking.use(held, session_id, T0 + timedelta(minutes=10))
    assert (used.status, used.session_id) == (ReservationStatus.USED, session_id)
    assert booking.held(used) == timedelta(minutes=10)
    replayed = booking.use(held, session_id, T0 + timedelta(hours=3))  # a late offline start
    assert booking.held(replayed) == timedelta(minutes=15)
    with pytest.raises(ConflictError):
        booking.cancel(used, T0 + timedelta(minutes=11))


TARIFF = parse_tariff(
    {
        "id": "RES",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [{"type": "TIME", "price": "6.00", "step_size": 60}],
                "restrictions": {"reservation": "RESERVATION"},
            },
            {"price_components": [{"type": "ENERGY", "price": "0.40", "step_size": 1}]},
        ],
    }
)


def session() -> Session:
    return Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="1",
        ocpp_version="1.6",
        started_at=T0,
        meter_start_wh=Decimal(0),
        status=SessionStatus.COMPLETED,
        stopped_at=T0 + timedelta(minutes=30),
        meter_stop_wh=Decimal(5000),
        payment_route=PaymentRoute.INVOICE,
    )


def test_the_reservation_time_comes_first_in_the_sessions_cdr() -> None:
    plain = session_cdr(session(), [], [], TARIFF, "UTC")
    reserved = session_cdr(session(), [], [], TARIFF, "UTC", timedelta(minutes=10))
    assert reserved.start_date_time == T0 - timedelta(minutes=10)
    first = reserved.charging_periods[0]
    assert first.dimensions == ()
    assert first.millis(DimensionType.RESERVATION_TIME) == 600_000
    assert reserved.charging_periods[1:] == plain.charging_periods
    assert reserved.end_date_time == plain.end_date_time
    assert price(plain, TARIFF).total_cost.excl_vat == Decimal("2.00")
    result = price(reserved, TARIFF)
    assert result.total_reservation_cost.excl_vat == Decimal("1.00")
    assert result.total_cost.excl_vat == Decimal("3.00")


def test_no_reservation_leaves_the_cdr_as_it_was() -> None:
    charged = session()
    assert session_cdr(charged, [], [], TARIFF, "UTC", timedelta(0)) == session_cdr(
        charged, [], [], TARIFF, "UTC"
    )
