"""What every payment use case shares: the PSPs, the clock, the locks and the policies, built
once by the composition root (``bootstrap.py``) and handed to each use case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.billing import VatRates
from chargeledger.domain.invoicing import Party
from chargeledger.domain.wallets import DEFAULT_WALLET_FLOOR
from chargeledger.errors import ConfigurationError
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.payments.gateway import PaymentGateway
from chargeledger.services.ports import Clock, Locks, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """How much to hold on a card for a session: the quote of ``kwh`` over ``minutes``
    first, raised by ``step`` as the live cost approaches the hold, never above ``ceiling``."""

    kwh: Decimal = Decimal(40)
    minutes: int = 90
    step: Decimal = Decimal(20)
    ceiling: Decimal = Decimal(300)


@dataclass
class PaymentContext:
    """What payment use cases share; built once by the composition root."""

    uow: UnitOfWorkFactory
    clock: Clock
    gateways: Mapping[str, PaymentGateway]
    default_gateway: str
    time_zone: str
    rates: VatRates
    locks: Locks
    seller: Party | None = None
    hold: HoldPolicy = HoldPolicy()
    bus: CommandBus | None = None
    lock_wait: float = 30.0  # seconds a money operation waits for its payment's lock
    wallet_floor: Decimal = DEFAULT_WALLET_FLOOR  # of accounts without a floor of their own

    def gateway(self, name: str | None = None) -> PaymentGateway:
        found = self.gateways.get(name or self.default_gateway)
        if found is None:
            raise ConfigurationError(
                f"payment gateway {name!r} is not configured", code="gateway_not_configured"
            )
        return found

    @property
    def seller_email(self) -> str | None:
        """Where the operator's staff are told of cases (the operator's own address)."""
        return None if self.seller is None else self.seller.email

    def today(self) -> date:
        """The operator's calendar day now (its time zone, not UTC)."""
        return self.clock.now().astimezone(ZoneInfo(self.time_zone)).date()
