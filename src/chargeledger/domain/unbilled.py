"""What is not invoiced yet (issue 13): charges waiting for their invoice, with their value,
and sessions that have no price yet, quarantined or waiting to be charged.

A charge's value is the gross it accrued (``Assets:Receivable:Unbilled:C…``, DESIGN §5), and so
is a re-pricing's correction waiting for its invoice (issue 15: the difference it accrued, kWh
and value, negative when lower, no session of its own), so the total per currency is that
account family's balance. A session under review has no price
anywhere a driver sees or the ledger books until it is released (issue 3: never billed
blindly): it is counted with the energy its station reported and, for finance, valued as
reported (``PendingValue``: an estimate, apart from the totals that reconcile to the ledger).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.billing import Billed, Charge
from chargeledger.domain.repricing import Repricing
from chargeledger.money import ZERO, Currency

AD_HOC_NAME = "ad hoc"


class Pending(StrEnum):
    QUARANTINED = "quarantined"  # held for review (meter data checks)
    NOT_CHARGED = "not_charged"  # completed, not priced yet (the next charge run)


@dataclass(frozen=True, slots=True)
class UnbilledLine:
    account_id: uuid.UUID | None
    account_name: str
    currency: Currency
    sessions: int
    energy_kwh: Decimal
    value: Decimal  # gross, as accrued


@dataclass(frozen=True, slots=True)
class PendingSessions:
    state: Pending
    sessions: int
    energy_kwh: Decimal  # as the stations reported it


@dataclass(frozen=True, slots=True)
class PendingValue:
    """What sessions without a charge would cost as their stations reported them, per
    currency (an estimate: nothing is booked for them yet, and the readings of a session
    under review are what is in doubt); ``currency`` None: sessions that cannot be priced."""

    state: Pending
    currency: Currency | None
    sessions: int
    value: Decimal | None


@dataclass(frozen=True, slots=True)
class UnbilledReport:
    lines: tuple[UnbilledLine, ...]
    totals: tuple[UnbilledLine, ...]
    pending: tuple[PendingSessions, ...]
    pending_values: tuple[PendingValue, ...] = ()


def pending_values(state: Pending, estimates: Iterable[Billed | None]) -> list[PendingValue]:
    """The estimates of one kind of pending sessions summed per currency (in code order),
    then the count of those that could not be priced."""
    sums: dict[Currency, tuple[int, Decimal]] = {}
    unpriced = 0
    for estimate in estimates:
        if estimate is None:
            unpriced += 1
            continue
        count, total = sums.get(estimate.currency, (0, ZERO))
        sums[estimate.currency] = (count + 1, total + estimate.gross)
    found = [
        PendingValue(state, currency, count, total)
        for currency, (count, total) in sorted(sums.items(), key=lambda item: item[0].code)
    ]
    if unpriced:
        found.append(PendingValue(state, None, unpriced, None))
    return found


def _line(
    account_id: uuid.UUID | None,
    name: str,
    currency: Currency,
    charges: list[Charge],
    corrections: list[Repricing],
) -> UnbilledLine:
    return UnbilledLine(
        account_id,
        name,
        currency,
        len(charges),
        sum((c.energy_kwh for c in charges), ZERO)
        + sum((r.after.energy_kwh - r.before.energy_kwh for r in corrections), ZERO),
        sum((c.gross for c in charges), ZERO)
        + sum((r.difference_net + r.correction_tax for r in corrections), ZERO),
    )


def unbilled_report(
    charges: Iterable[Charge],
    names: Mapping[uuid.UUID, str],
    pending: Iterable[PendingSessions],
    values: Iterable[PendingValue] = (),
    corrections: Iterable[Repricing] = (),
) -> UnbilledReport:
    """Charges (and re-pricings' corrections) on no invoice or receipt per (account,
    currency), by account name."""
    groups: dict[tuple[uuid.UUID | None, Currency], tuple[list[Charge], list[Repricing]]] = {}
    for charge in charges:
        groups.setdefault((charge.account_id, charge.currency), ([], []))[0].append(charge)
    for correction in corrections:
        key = (correction.account_id, correction.currency)
        groups.setdefault(key, ([], []))[1].append(correction)

    def name(account: uuid.UUID | None) -> str:
        return names.get(account, AD_HOC_NAME) if account else AD_HOC_NAME

    lines = sorted(
        (_line(account, name(account), cur, *group) for (account, cur), group in groups.items()),
        key=lambda line: (line.currency, line.account_name.casefold()),
    )
    totals = [
        _line(
            None,
            "total",
            currency,
            [c for (_, cur), g in groups.items() if cur == currency for c in g[0]],
            [r for (_, cur), g in groups.items() if cur == currency for r in g[1]],
        )
        for currency in sorted({currency for _, currency in groups})
    ]
    return UnbilledReport(tuple(lines), tuple(totals), tuple(pending), tuple(values))
