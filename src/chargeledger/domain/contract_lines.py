"""The lines a contract adds to its account's invoice for a billing period (issue 14): the
volume-tier adjustment, the fixed fees and the minimum-commitment shortfall.

The sessions on the invoice were each priced under the contract version valid at their start
(``services.contracts.pricing``); the period's terms (tiers, fees, commitment) are those of the
version valid on the period's last covered day, the day the period is settled.

- **Tiers** re-price the period's energy: the kWh of the contract's sessions in the period
  under the tiers (``contract_money.tiered_energy``) less what their Energy components were
  charged; the difference is one line (negative: a discount), revenue component Energy.
- **Fees** are monthly: per card (the account's active tokens), per vehicle (the tokens that
  charged in the period: a fleet card per vehicle), per site (the contract's sites), flat.
- **Commitment**: the period's net after the tier adjustment (what the customer buys) below
  the monthly commitment, prorated by the days the contract covers in the period, is billed
  as a shortfall line. Fees do not count towards it.

VAT: a line follows the supply it adjusts. The tier line is split over the VAT groups of
the charges in proportion to their kWh (largest remainder to the cent), so each group's
energy is adjusted where it was taxed; fees and shortfall take the VAT of the group with
the most net (the place most of the supply happened), or ``fallback`` when the period had no
charges (Directive 2006/112/EC art. 45: the supplier's place for a service to a business
in general, else art. 58 / the operator's country for the fee itself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from chargeledger.domain.billing import Charge, ComponentAmount, VatCategory
from chargeledger.domain.contract_money import (
    commitment_shortfall,
    fee_lines,
    tier_adjustment,
)
from chargeledger.domain.contract_terms import FeeBasis, Terms
from chargeledger.domain.invoicing import InvoiceLine
from chargeledger.domain.ledger import CONTRACT_FEES
from chargeledger.domain.text import quantity_text
from chargeledger.money import ZERO, Currency

ENERGY = "Energy"


@dataclass(frozen=True, slots=True)
class VatGroup:
    """Where and how a line is taxed: the category, rate and country of a supply."""

    category: VatCategory
    percent: Decimal
    country: str
    note: str | None = field(default=None, compare=False)  # e.g. reverse charge's mention


@dataclass(frozen=True, slots=True)
class PeriodUse:
    """What the contract's sessions did in the period and what the fees count."""

    charges: Sequence[Charge]
    counts: Mapping[FeeBasis, int]
    commitment: Decimal | None  # the period's, prorated; None: no commitment
    fallback: VatGroup  # the VAT of fees and shortfall in a period without charges


def _group(charge: Charge) -> VatGroup:
    return VatGroup(charge.vat.category, charge.vat.percent, charge.country)


def _energy(charge: Charge) -> Decimal:
    return sum((a for name, a in charge.components if name == ENERGY), ZERO)


def _split(
    amount: Decimal, weights: Mapping[VatGroup, Decimal], currency: Currency
) -> dict[VatGroup, Decimal]:
    """``amount`` over ``weights`` to the minor unit, largest remainders first, summing to
    ``amount`` exactly."""
    total = sum(weights.values(), ZERO)
    if not total:
        first = next(iter(weights))
        return {first: amount}
    quantum = currency.quantum
    sign = -1 if amount < 0 else 1
    exact = {g: abs(amount) * w / total for g, w in weights.items()}
    shares = {g: v.quantize(quantum, rounding=ROUND_DOWN) for g, v in exact.items()}
    left = abs(amount) - sum(shares.values(), ZERO)
    for group in sorted(exact, key=lambda g: exact[g] - shares[g], reverse=True):
        if left <= 0:
            break
        shares[group] += quantum
        left -= quantum
    return {g: sign * v for g, v in shares.items() if v}


def _line(
    position: int, description: str, net: Decimal, group: VatGroup, component: str
) -> InvoiceLine:
    return InvoiceLine(
        position=position,
        description=description,
        net=net,
        vat_category=group.category,
        vat_percent=group.percent,
        components=(ComponentAmount(component, net),),
        country=group.country,
    )


def contract_lines(
    terms: Terms, contract_number: str, use: PeriodUse, first_position: int, currency: Currency
) -> tuple[InvoiceLine, ...]:
    """The contract's lines for the period, numbered from ``first_position``."""
    lines: list[InvoiceLine] = []
    position = first_position
    nets: dict[VatGroup, Decimal] = defaultdict(lambda: ZERO)
    for charge in use.charges:
        nets[_group(charge)] += charge.net
    main = max(nets, key=lambda g: nets[g]) if nets else use.fallback
    adjustment = ZERO
    if terms.tiers is not None and use.charges:
        kwh = sum((c.energy_kwh for c in use.charges), ZERO)
        charged = sum((_energy(c) for c in use.charges), ZERO)
        adjustment = tier_adjustment(terms.tiers, kwh, charged, currency)
        kwh_by_group: dict[VatGroup, Decimal] = defaultdict(lambda: ZERO)
        for charge in use.charges:
            kwh_by_group[_group(charge)] += charge.energy_kwh
        text = (
            f"Volume tiers ({terms.tiers.model.value}), contract {contract_number}: "
            f"{quantity_text(kwh, 'kWh')} in the period"
        )
        for group, net in _split(adjustment, kwh_by_group, currency).items():
            lines.append(_line(position, text, net, group, ENERGY))
            position += 1
    for fee in fee_lines(terms.fixed_fees, use.counts):
        text = f"{fee.description} ({fee.quantity} × {fee.unit_amount} {currency.code})"
        lines.append(_line(position, text, fee.net, main, CONTRACT_FEES))
        position += 1
    if use.commitment is not None:
        bought = sum(nets.values(), ZERO) + adjustment
        shortfall = commitment_shortfall(use.commitment, bought, currency)
        if shortfall:
            text = (
                f"Minimum commitment {use.commitment} {currency.code}, contract "
                f"{contract_number}: shortfall"
            )
            lines.append(_line(position, text, shortfall, main, CONTRACT_FEES))
    return tuple(lines)
