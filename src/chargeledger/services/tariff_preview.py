"""The price of a planned session under one tariff version, whatever it is assigned to (issue
16: the tariff page's price preview and ``POST /api/v1/tariffs/{id}/preview``).

A quote (``services.quotes``) answers "what would I pay at this station"; a preview answers
"what does this tariff charge for such a session", before the tariff is assigned anywhere. Both
build the CDR with ``planned_cdr`` and price it with the one pricing function ``price()``
(DESIGN §2), so a preview equals the bill of a session that does what the preview assumed. The
restrictions are read in the zone given (the operator's: a tariff has no place of its own).
The amounts are the tariff's own: no VAT of a place of supply is added.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from chargeledger.domain.tariffs import Cdr, PriceResult, price
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.domain.tariffs.periods import planned_cdr
from chargeledger.errors import InvalidInputError
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.quotes import MAX_QUOTE_KWH, MAX_QUOTE_MINUTES
from chargeledger.services.tariffs import get_tariff

MAX_PREVIEW_KW = Decimal(4000)  # above the megawatt charging system for trucks (3.75 MW)
# A session a week long must still end in a representable year (datetime stops at 9999).
FIRST_YEAR, LAST_YEAR = 2000, 2999


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """What the preview prices: ``kwh`` over ``charging`` from ``starts_at``, then ``idle``
    (parking), optionally at ``power_kw``."""

    starts_at: datetime
    kwh: Decimal
    charging: timedelta
    idle: timedelta = timedelta(0)
    power_kw: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    tariff: StoredTariff
    cdr: Cdr
    result: PriceResult
    time_zone: str


def checked(plan: PlannedSession) -> PlannedSession:
    """The plan, or InvalidInputError ``invalid_preview`` naming the field out of bounds (the
    bounds of a quote: at most a week and 10,000 kWh)."""
    longest = timedelta(minutes=MAX_QUOTE_MINUTES)

    def refuse(field: str, message: str) -> InvalidInputError:
        return InvalidInputError(message, code="invalid_preview", field=field)

    if plan.starts_at.tzinfo is None:
        raise refuse("start", "start: a time with its zone")
    if not FIRST_YEAR <= plan.starts_at.year <= LAST_YEAR:
        raise refuse("start", f"start: a time in the years {FIRST_YEAR} to {LAST_YEAR}")
    if not plan.kwh.is_finite() or not 0 <= plan.kwh <= MAX_QUOTE_KWH:
        raise refuse("kwh", f"energy: from 0 to {MAX_QUOTE_KWH} kWh")
    if not timedelta(0) <= plan.charging <= longest:
        raise refuse("minutes", "duration: from 0 minutes to a week")
    if not timedelta(0) <= plan.idle <= longest:
        raise refuse("idle_minutes", "idle minutes: from 0 to a week")
    if plan.kwh > 0 and not plan.charging:
        raise refuse("minutes", "energy needs charging minutes")
    if not plan.charging and not plan.idle:
        raise refuse("minutes", "a session needs a duration")
    power = plan.power_kw
    if power is not None and (not power.is_finite() or not 0 < power <= MAX_PREVIEW_KW):
        raise refuse("power_kw", f"max power: above 0 and at most {MAX_PREVIEW_KW} kW")
    return plan


async def preview_tariff(
    uow: UnitOfWork, tariff_id: uuid.UUID, plan: PlannedSession, time_zone: str
) -> Preview:
    """The CDR of ``plan`` under the tariff version ``tariff_id`` and its price."""
    plan = checked(plan)
    stored = await get_tariff(uow, tariff_id)
    cdr = planned_cdr(
        stored.tariff,
        plan.starts_at,
        kwh=plan.kwh,
        charging=plan.charging,
        idle=plan.idle,
        time_zone=time_zone,
        power_kw=plan.power_kw,
    )
    return Preview(stored, cdr, price(cdr, stored.tariff, time_zone), time_zone)
