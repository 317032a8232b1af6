"""The port of the back office's overview (issue 16): aggregates only, summed by the database
(``adapters/db/repositories/overview.py``), never rows loaded to be added up in Python."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChargedBucket:
    """Charges that stopped in one bucket of the asked edges, per currency and payment route."""

    bucket: int  # index i: stopped in [edges[i], edges[i + 1])
    currency: str
    payment_route: str
    sessions: int
    energy_kwh: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class SiteBucket:
    """Charges of one site, payment route and currency that stopped in a window (the site's
    current name, else the one its charges carry)."""

    site_id: uuid.UUID
    site_name: str
    payment_route: str
    currency: str
    sessions: int
    energy_kwh: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class NetworkState:
    stations: int
    online: int
    faulted: int
    live_sessions: int
    quarantined_sessions: int


@dataclass(frozen=True, slots=True)
class Overdue:
    currency: str
    invoices: int
    outstanding: Decimal


class OverviewRepository(Protocol):
    async def charged_buckets(self, edges: Sequence[datetime]) -> list[ChargedBucket]:
        """Charges whose session stopped in ``[edges[0], edges[-1])``, summed per bucket,
        currency and payment route; ``vat`` sums each charge's VAT rounded half-up to its
        currency's minor unit."""
        ...

    async def charged_by_site(self, since: datetime, until: datetime) -> list[SiteBucket]:
        """Charges whose session stopped in ``[since, until)``, summed per site, payment route
        and currency (one scan serves both the by-site and the by-method figures)."""
        ...

    async def network_state(self) -> NetworkState: ...

    async def failed_payments(self, since: datetime, until: datetime) -> int:
        """Payments with a declined hold or a failed capture learnt in ``[since, until)``."""
        ...

    async def open_disputes(self) -> int: ...

    async def overdue(self, today: date) -> list[Overdue]:
        """Issued invoices still (partly) unpaid whose due date is before ``today``."""
        ...
