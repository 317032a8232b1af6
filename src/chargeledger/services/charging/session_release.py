"""An operator's release of a quarantined session, as reported or with corrected readings.

Released means billable: the readings to be billed pass the very checks the station's own
readings go through (``reading_issues``: never negative, never backwards, no more energy
than the EVSE's maximum power over the session's time), the session has a tariff (the one
valid at its start when it never got one: a stop for a transaction we never saw start), and it
prices. Otherwise the release is refused with the reason's stable code and nothing changes.
The station's own readings stay as evidence next to the correction (DESIGN §2).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from chargeledger.domain import session_lifecycle as lifecycle
from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import QuarantineReason, Session
from chargeledger.domain.identity import Principal
from chargeledger.domain.meter_checks import max_plausible_wh, reading_issues
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.services.catalog import get_station
from chargeledger.services.charging.session_capture import max_power_kw
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.tariffs import tariff_for_session

START, STOP = "corrected_meter_start_wh", "corrected_meter_stop_wh"


async def resolve_session(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    session_id: uuid.UUID,
    rates: VatRates,
    *,
    note: str,
    corrected_meter_start_wh: Decimal | None = None,
    corrected_meter_stop_wh: Decimal | None = None,
) -> Session:
    """Release a quarantined session (see the module docstring); the caller commits."""
    session = await get_session(uow, principal, session_id)
    released = lifecycle.release(
        session,
        by=principal.subject,
        note=note,
        corrected_meter_start_wh=corrected_meter_start_wh,
        corrected_meter_stop_wh=corrected_meter_stop_wh,
        now=clock.now(),
    )
    await check_readings(uow, released)
    released = await _with_tariff(uow, released)
    await price_captured_session(uow, released, rates)  # priceable, or refused here
    await uow.sessions.update(released)
    return released


async def check_readings(uow: UnitOfWork, session: Session) -> None:
    """The readings to be billed pass the station readings' checks, or the release (or a
    re-pricing with corrected readings, ``session_repricing``) is refused with the first
    failing check's code (``negative_meter_reading``, ``negative_energy``,
    ``zero_start_lifetime_stop``, ``energy_above_max_power``)."""
    start, stop = session.billed_meter_start_wh, session.billed_meter_stop_wh
    assert session.stopped_at is not None
    if stop is None:
        raise InvalidInputError(
            "the session has no stop reading: give the corrected one",
            code="missing_field",
            field=STOP,
        )
    power = await max_power_kw(uow, session)
    reasons = reading_issues(
        meter_start_wh=start,
        meter_stop_wh=stop,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        max_power_kw=power,
    )
    if not reasons:
        return
    first = reasons[0]
    ceiling = max_plausible_wh(power, session.started_at, session.stopped_at)
    raise InvalidInputError(
        _why(first, start, stop, ceiling, power),
        code=first.value,
        field=_field(first, session),
        details={
            "reasons": [r.value for r in reasons],
            "max_plausible_wh": _plain(ceiling.quantize(Decimal(1))),
        },
    )


def _why(
    reason: QuarantineReason, start: Decimal, stop: Decimal, ceiling: Decimal, power: Decimal
) -> str:
    if reason is QuarantineReason.NEGATIVE_METER_READING:
        return f"meter readings are never negative (start {_wh(start)}, stop {_wh(stop)})"
    if reason is QuarantineReason.NEGATIVE_ENERGY:
        return f"the readings give negative energy: stop {_wh(stop)} is below start {_wh(start)}"
    return (
        f"the readings give {_wh(stop - start)}, more than the EVSE delivers in the session's "
        f"time at {_plain(power)} kW (at most {_wh(ceiling)} with the meter tolerance)"
    )


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def _wh(number: Decimal) -> str:
    return f"{_plain(number.quantize(Decimal(1)))} Wh"


def _field(reason: QuarantineReason, session: Session) -> str:
    """The corrected reading to look at (the stop unless only the start was corrected)."""
    resolution = session.resolution
    assert resolution is not None
    if reason is QuarantineReason.NEGATIVE_METER_READING and session.billed_meter_start_wh < 0:
        return START
    if (
        resolution.corrected_meter_stop_wh is None
        and resolution.corrected_meter_start_wh is not None
    ):
        return START
    return STOP


async def _with_tariff(uow: UnitOfWork, session: Session) -> Session:
    """A session that never got a tariff snapshot (a stop for a transaction never started)
    takes the one that applied at its start, as if it had started normally (DESIGN §2)."""
    if session.tariff_id is not None:
        return session
    station = await get_station(uow, session.station_id)
    stored = await tariff_for_session(
        uow,
        station,
        session.evse_id,
        session.connector_id,
        session.account_id,
        session.started_at,
    )
    if stored is None:
        raise ConflictError(
            "no tariff applies to this session at its start: assign one, then release it",
            code="no_tariff",
        )
    return lifecycle.assign_tariff(session, stored.id)
