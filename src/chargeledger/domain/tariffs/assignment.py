"""Which stored tariff applies to a session: the most specific assignment wins.

Issue 4: connector > station > site > operator default, with an override for an account (or,
when contracts arrive, a contract) above them all; a session of no known account (ad hoc: card
or QR payment) first looks for the ad hoc tariff of its site, then the operator's. The tariff
valid at session start is then frozen onto the session (DESIGN §2): a later tariff change never
re-prices it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chargeledger.domain.tariffs.model import Tariff


class TariffScope(StrEnum):
    ACCOUNT = "account"
    # EU AFIR art. 5: the price for ad hoc charging (card, QR code) without a contract; it
    # applies to sessions of no known account, per site or as the operator's default.
    AD_HOC = "ad_hoc"
    CONNECTOR = "connector"
    STATION = "station"
    SITE = "site"
    OPERATOR = "operator"


OPERATOR_SCOPE_ID = "default"


@dataclass(frozen=True, slots=True)
class StoredTariff:
    """A tariff version as imported; a new import of the same OCPI id is a new version."""

    id: uuid.UUID
    tariff: Tariff
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TariffAssignment:
    scope: TariffScope
    scope_id: str
    tariff_id: uuid.UUID
    assigned_at: datetime


def connector_scope_id(station_id: uuid.UUID, evse_id: int, connector_id: int) -> str:
    return f"{station_id}:{evse_id}:{connector_id}"


def lookup_order(
    *,
    account_id: uuid.UUID | None,
    site_id: uuid.UUID,
    station_id: uuid.UUID,
    evse_id: int,
    connector_id: int,
) -> list[tuple[TariffScope, str]]:
    """The scopes to try, most specific first."""
    order: list[tuple[TariffScope, str]] = []
    if account_id is not None:
        order.append((TariffScope.ACCOUNT, str(account_id)))
    else:
        order += [(TariffScope.AD_HOC, str(site_id)), (TariffScope.AD_HOC, OPERATOR_SCOPE_ID)]
    order += [
        (TariffScope.CONNECTOR, connector_scope_id(station_id, evse_id, connector_id)),
        (TariffScope.STATION, str(station_id)),
        (TariffScope.SITE, str(site_id)),
        (TariffScope.OPERATOR, OPERATOR_SCOPE_ID),
    ]
    return order
