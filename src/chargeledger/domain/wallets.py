"""Prepaid wallets: whose minimum applies, and live credit control of a running session.

Two minimums guard a wallet. The operator's **floor** is credit policy: finance sets it per
account, or the account follows the operator-wide default. The driver's **own minimum** is a
personal cushion that a driver or fleet manager may set, but only at or above the floor. The
wallet is held to the higher of the two (``effective_minimum``): Authorize is refused below it
(OCPP 2.0.1 C01 NoCredit, 1.6 Blocked) and a running session is stopped before crossing it.

Live credit control checks a running session's cost, from the same ``price()`` as the final
charge, on every meter value, as a card hold is watched. It looks one meter interval ahead:
the session is stopped when its cost *at the next meter value* — the last interval repeated
at the power of the last interval — would be more than the wallet can pay above its minimum,
after what the account's other sessions take that the balance does not show yet (running
ones by their own next meter value, finished ones until their debit is booked).

The guarantee: a session that the station stops when told, before its next meter value,
leaves the wallet at most **one meter interval's cost** below its minimum — the cost of the
interval in which the power rose above the projection, or of the first interval (no power is
known before the first meter value); at steady power, not below it at all. What a station
delivers after it was told to stop is outside that bound, and is recorded: the stop keeps
the session's cost when it was asked (``StopRequest.cost``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency, within_minor_units

DEFAULT_WALLET_FLOOR = Decimal("5.00")  # the operator-wide floor unless configured otherwise
WALLET_LIMIT = Decimal(10_000)  # no floor, minimum or threshold above this (DESIGN §6: bounds)
MAX_TOP_UP = Decimal(500)  # one top-up, by hand or automatic


@dataclass(frozen=True, slots=True)
class WalletSettings:
    """A prepaid account's rules: the operator's ``floor`` (None: the operator-wide default),
    the driver's own ``minimum_balance`` (None: none of their own), and auto top-up — a
    balance below ``top_up_below`` is topped up by ``top_up_amount`` from the default card."""

    account_id: uuid.UUID
    currency: Currency
    minimum_balance: Decimal | None = None
    auto_top_up: bool = False
    top_up_below: Decimal = Decimal("10.00")
    top_up_amount: Decimal = Decimal("25.00")
    floor: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))
        currency = self.currency
        quantum = currency.quantum
        limits = {
            "minimum_balance": (self.minimum_balance, ZERO, WALLET_LIMIT),
            "floor": (self.floor, ZERO, WALLET_LIMIT),
            "top_up_below": (self.top_up_below, ZERO, WALLET_LIMIT),
            "top_up_amount": (self.top_up_amount, quantum, MAX_TOP_UP),
        }
        for name, (value, low, high) in limits.items():
            if value is None:
                continue
            # Minor units first: that check also refuses NaN, which cannot be compared.
            if not within_minor_units(value, currency) or not low <= value <= high:
                raise InvalidInputError(
                    f"{name} must be {low} to {high} {self.currency} in whole minor units",
                    code="invalid_wallet_settings",
                    field=name,
                )

    def floor_or(self, default_floor: Decimal) -> Decimal:
        """The floor that applies: the account's own, or the operator-wide default."""
        return default_floor if self.floor is None else self.floor

    def effective_minimum(self, default_floor: Decimal) -> Decimal:
        """The higher of the operator's floor and the driver's own minimum."""
        return max(self.floor_or(default_floor), self.minimum_balance or ZERO)


def check_own_minimum(settings: WalletSettings, default_floor: Decimal) -> None:
    """A driver may raise their minimum, never lower it under the operator's floor."""
    floor = settings.floor_or(default_floor)
    if settings.minimum_balance is not None and settings.minimum_balance < floor:
        raise InvalidInputError(
            f"the minimum balance may not be below the operator's floor of {floor} "
            f"{settings.currency}",
            code="minimum_below_floor",
            field="minimum_balance",
            details={"floor": str(floor)},
        )


Reading = tuple[datetime, Decimal]


def next_reading(start: Reading, readings: Sequence[Reading]) -> Reading | None:
    """The register one meter interval after the latest reading, at the power of the latest
    interval: the last interval repeated. None before the first meter value (no power yet)."""
    points = sorted([start, *(r for r in readings if r[0] >= start[0])], key=lambda r: r[0])
    last_at, last_wh = points[-1]
    earlier = [r for r in points if r[0] < last_at]
    if not earlier:
        return None
    before_at, before_wh = earlier[-1]
    return last_at + (last_at - before_at), last_wh + max(last_wh - before_wh, ZERO)


@dataclass(frozen=True, slots=True)
class CreditCheck:
    """One running session against its wallet, all amounts including VAT.

    ``committed`` is what the account's other sessions take that the balance does not show
    yet: two sessions of one wallet share its credit (a family's two cards)."""

    balance: Decimal
    minimum: Decimal
    committed: Decimal
    live: Decimal  # this session's cost up to its latest meter value
    ahead: Decimal  # this session's cost at its next meter value at the current power

    @property
    def available(self) -> Decimal:
        """What this session may cost before the wallet crosses its minimum."""
        return self.balance - self.minimum - self.committed

    @property
    def affordable(self) -> bool:
        return self.ahead <= self.available

    def explain(self) -> str:
        return (
            f"cost {self.live:.2f}, {self.ahead:.2f} by the next meter value; "
            f"balance {self.balance:.2f}, minimum {self.minimum:.2f}, "
            f"other sessions {self.committed:.2f}"
        )


class StopReason(StrEnum):
    """Why we asked a station to stop a session for payment."""

    WALLET_CREDIT = "wallet_credit"  # the wallet would cross its minimum


STOP_ACCEPTED = "Accepted"  # the station's answer (1.6 RemoteStartStopStatus, 2.0.1 F03)


@dataclass(frozen=True, slots=True)
class StopRequest:
    """A stop we asked of a station, kept once per session so that it is asked once: again
    only when the station refused it, could not be reached, or never answered."""

    session_id: uuid.UUID
    reason: StopReason
    detail: str
    cost: Decimal  # the session's cost (incl. VAT) when the stop was first asked
    attempts: int
    requested_at: datetime
    answer: str | None = None  # Accepted, Rejected, station_offline, station_timeout, ...
    answered_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", StopReason(self.reason))
