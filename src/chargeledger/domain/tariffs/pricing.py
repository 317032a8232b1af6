"""``price(cdr, tariff)``: the one pricing function (DESIGN §2), OCPI 2.2.1 §11.

For every charging period and every dimension the first element (in list order) that has a
component of that dimension and whose restrictions all hold prices it (§11.4.6; the note
``ocpi-tariff-rules.md`` §3). FLAT is charged once per session. step_size applies once per
session to the total of a dimension, with the step of the last period that priced it, the
extra priced at that period's price (§11.4.3); TIME is rounded only when no parking was
priced, otherwise the paid parking is. VAT per component; min/max price clamp the total,
excl and incl independently. Amounts stay exact: rounding is the caller's named step.

Durations are whole milliseconds (:mod:`.quantities`): a period's time costs price × ms / 3.6e6,
their sums are exact and step rounding of TIME, PARKING_TIME and reservation time is an
integer ceiling; energy step rounding reads the session total on a 1 mWh grid. Neither can bill
an extra step from the way a duration or energy share was written.

Speed: the tariff is compiled once into a :class:`~chargeledger.domain.tariffs.plan.TariffPlan`
(kept on the tariff version itself), with a week table for time-of-use tariffs (a period's
piece found from the first start's, :mod:`.local_week`, instead of testing every guard); each
priced use is a plain tuple, and the walk adds it to its category's running sums as it makes
it, so the totals need no second pass. Every amount and total is computed eagerly, with the
same Decimal operations in the same order as the reference implementation of the tests
(integers where a quantity is a whole number of ms or mWh), while the :class:`PriceLine`
objects and their explanation texts are built on first access to ``PriceResult.lines``,
since most callers (invoice runs, live cost) read only the totals. ``bench/pricing.py``
measures both.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from chargeledger.domain.tariffs.cdr import Cdr
from chargeledger.domain.tariffs.model import Tariff
from chargeledger.domain.tariffs.plan import TariffPlan, plan_for
from chargeledger.domain.tariffs.priced import (
    NOTHING,
    Amount,
    LimitAdjustment,
    PricedUse,
    PriceResult,
    StepRounding,
    Sums,
    Volume,
    duration_use,
)
from chargeledger.domain.tariffs.quantities import (
    MS_PER_SECOND,
    energy_for_steps,
    steps_up,
)
from chargeledger.domain.tariffs.walk import delivered, priced_uses
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO

# 10⁶ mWh per kWh, written as 1000 thousands: a count of mWh divided by it keeps the exponent
# (−3 where the quotient allows) of the Wh on the grid divided by 1000.
_MWH_PER_KWH = Decimal("1000E+3")
_MWH_IN_KWH = Decimal("1E+6")  # coefficient 1: a product with it is always exact


def price(cdr: Cdr, tariff: Tariff, time_zone: str = "UTC") -> PriceResult:
    """The price of ``cdr`` under ``tariff``, restrictions read in ``time_zone`` (the
    location's): each period's uses priced and summed (:func:`.walk.priced_uses`), each
    category's step rounding added, the total clamped to min/max price."""
    periods = cdr.charging_periods
    if not periods:
        raise InvalidInputError(
            "a CDR needs charging periods", code="invalid_cdr", field="charging_periods"
        )
    plan = tariff.compiled_plan
    uses = priced_uses(periods, plan if type(plan) is TariffPlan else plan_for(tariff), time_zone)
    energy = _category(uses.energy, uses.energy_sums, ZERO, _energy_rounding)
    # TIME is step-rounded only when no parking was priced; otherwise the parking is.
    time = (
        _category(uses.time, uses.time_sums, 0, None if uses.parking_priced else _duration_rounding)
        if uses.time
        else NOTHING
    )
    parking = (
        _category(uses.parking, uses.parking_sums, 0, _duration_rounding)
        if uses.parking
        else NOTHING
    )
    reservation = (
        _reservation_cost(uses.reservation_time, uses.reservation_flat)
        if uses.reservation_time or uses.reservation_flat
        else NOTHING
    )
    fixed = NOTHING
    if uses.fixed:
        fee = uses.fixed[0]
        fixed = _amount(Amount, (ZERO + fee[3], ZERO + fee[4]))
    # ZERO + each category, in this order; an absent one (ZERO) changes neither the value nor
    # the exponent of a sum that started at ZERO, so it is not added.
    excl = incl = ZERO
    for category in (energy, time, parking, fixed, reservation):
        if category is not NOTHING:
            excl += category[0]
            incl += category[1]
    total = _amount(Amount, (excl, incl))
    adjustments: list[LimitAdjustment] = []
    if tariff.min_price is not None or tariff.max_price is not None:
        total = _clamp(tariff, total, adjustments)
    if total[0] < 0 or total[1] < 0:
        # Unreachable from parsed tariffs and checked CDRs (prices and volumes are never
        # negative); kept so that no construction of either can ever yield a negative bill.
        raise InvalidInputError("a price is never negative", code="negative_price")
    return PriceResult(  # by position: a call by keyword costs a tenth of a CDR's pricing
        tariff.id,
        tariff.currency,
        total,  # total_cost
        energy,
        time,
        parking,
        fixed,
        reservation,
        uses.kwh,  # total_energy
        periods[0].start_date_time,  # total_time is read from here
        cdr.end_date_time,  # to here
        uses.parking_ms,  # total_parking_time
        (  # the order of priced.USE_GROUPS
            uses.energy,
            uses.time,
            uses.parking,
            uses.reservation_time,
            uses.reservation_flat,
            uses.fixed,
        ),
        adjustments,
    )


# -- each category's cost: its lines, then the step rounding of its session total ----------

Rounding = Callable[[Volume, PricedUse[Volume]], "PricedUse[Volume] | None"]
# ``Amount(excl, incl)`` without the named tuple's ``__new__``, a Python function: the result
# builds six amounts per CDR. The same for a :class:`StepRounding`.
_amount = _new_tuple = tuple.__new__


def _category(
    uses: list[PricedUse[Volume]],
    sums: Sums[Volume],
    nothing: Volume,
    step_rounding: Rounding[Volume] | None,
) -> Amount:
    """A category's lines summed (``sums``, taken in the walk), then its step rounding
    (§11.4.3), if any, added to ``uses``: of the paid volume at the last paid period's
    component, or where nothing was paid of all the volume at the last period's (the free
    periods carry the rounding)."""
    if not uses:
        return NOTHING
    excl, incl, paid, last_paid = sums
    if step_rounding is None:
        return _amount(Amount, (excl, incl))
    if last_paid is None:
        last_paid = next((use for use in reversed(uses) if use[0] > nothing), None)
        paid = delivered(uses, nothing)
    if last_paid is None or last_paid[1].component.step_size <= 0:
        return _amount(Amount, (excl, incl))
    rounding = step_rounding(paid, last_paid)
    if rounding is None:
        return _amount(Amount, (excl, incl))
    uses.append(rounding)
    return _amount(Amount, (excl + rounding[3], incl + rounding[4]))


def _cost(
    uses: list[PricedUse[Volume]], nothing: Volume, step_rounding: Rounding[Volume] | None
) -> Amount:
    """:func:`_category` for the uses of reservations, which the walk does not sum (few
    sessions have any)."""
    if not uses:
        return NOTHING
    excl = incl = ZERO
    paid = nothing
    last_paid = None
    for use in uses:
        volume, candidate, _, use_excl, use_incl, _ = use
        excl += use_excl
        incl += use_incl
        if volume > nothing and candidate.paid:
            paid += volume
            last_paid = use
    return _category(uses, (excl, incl, paid, last_paid), nothing, step_rounding)


def _energy_rounding(paid: Decimal, last: PricedUse[Decimal]) -> PricedUse[Decimal] | None:
    """The extra energy up to whole steps (Wh) of the session total, read on the 1 mWh grid:
    an integer ceiling of mWh, as the grid makes the total a whole number of them."""
    candidate, period = last[1], last[2]
    step = candidate.component.step_size * 1000
    in_mwh = paid * _MWH_IN_KWH  # exact: only the exponent moves
    total = int(in_mwh)
    if total != in_mwh:  # off the 1 mWh grid: rounded onto it
        total = int(energy_for_steps(paid).scaleb(3))
    billed = -(-total // step) * step
    if billed <= total:
        return None
    # kWh: the Decimal that (billed − total Wh on the grid) / 1000 is, exponent included.
    extra = (billed - total) / _MWH_PER_KWH
    excl = extra * candidate.price
    vat = candidate.vat_factor
    why = _new_tuple(StepRounding, (total, billed, "Wh"))
    return (extra, candidate, period, excl, excl if vat is None else excl * vat, why)


def _duration_rounding(paid: int, last: PricedUse[int]) -> PricedUse[int] | None:
    """The extra time up to whole steps (s) of the session total: an integer ceiling of ms."""
    candidate, period = last[1], last[2]
    billed = steps_up(paid, candidate.component.step_size * MS_PER_SECOND)
    if billed <= paid:
        return None
    why = _new_tuple(StepRounding, (paid, billed, "s"))  # ms: thousandths of a second
    return duration_use(billed - paid, candidate, period, why)


def _reservation_cost(
    time_uses: list[PricedUse[int]], flat_uses: list[PricedUse[Decimal]]
) -> Amount:
    """Reservation time is step-rounded like any duration; its flat fee is added once."""
    if not time_uses and not flat_uses:
        return NOTHING
    time, flat = _cost(time_uses, 0, _duration_rounding), _cost(flat_uses, ZERO, None)
    return Amount(time.excl_vat + flat.excl_vat, time.incl_vat + flat.incl_vat)


def _clamp(tariff: Tariff, total: Amount, adjustments: list[LimitAdjustment]) -> Amount:
    """OCPI 2.2.1 §11.3.1 min_price/max_price, applied to excl and incl independently; each
    raise is explained on a min_price line and each cut on a max_price line (added to
    ``adjustments``)."""
    if tariff.min_price is None and tariff.max_price is None:
        return total
    excl, incl = total.excl_vat, total.incl_vat
    if tariff.min_price is not None:
        excl = max(excl, tariff.min_price.excl_vat)
        if tariff.min_price.incl_vat is not None:
            incl = max(incl, tariff.min_price.incl_vat)
    if tariff.max_price is not None:
        excl = min(excl, tariff.max_price.excl_vat)
        if tariff.max_price.incl_vat is not None:
            incl = min(incl, tariff.max_price.incl_vat)
    excl_change, incl_change = excl - total.excl_vat, incl - total.incl_vat
    for category, excl_part, incl_part in (
        ("min_price", max(excl_change, ZERO), max(incl_change, ZERO)),
        ("max_price", min(excl_change, ZERO), min(incl_change, ZERO)),
    ):
        if excl_part or incl_part:
            adjustments.append(LimitAdjustment(category, excl_part, incl_part))
    return Amount(excl, incl)
