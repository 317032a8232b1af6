"""What charging a batch of captured sessions reads (issue 17): everything pricing needs for
every session of the batch, read in a few set queries instead of ~8 reads per session.
Implemented by ``adapters/db/repositories/captured_reads.py``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from chargeledger.domain.accounts import Account
from chargeledger.domain.catalog import Site, Station
from chargeledger.domain.charging import MeterSample, Session, StateChange
from chargeledger.domain.reservations import Reservation
from chargeledger.domain.tariffs.assignment import StoredTariff


@dataclass(frozen=True, slots=True)
class CapturedBatch:
    """The batch's sessions and what pricing reads for them, by id. ``charged`` names the
    sessions that have a charge already (skipped: the charge is unique per session)."""

    sessions: dict[uuid.UUID, Session]
    charged: frozenset[uuid.UUID]
    samples: dict[uuid.UUID, list[MeterSample]]
    changes: dict[uuid.UUID, list[StateChange]]
    reservations: dict[uuid.UUID, Reservation]  # by the session that used it
    tariffs: dict[uuid.UUID, StoredTariff]
    stations: dict[uuid.UUID, Station]
    sites: dict[uuid.UUID, Site]
    accounts: dict[uuid.UUID, Account]


@dataclass(slots=True)
class TariffVersions:
    """Tariff versions read so far in a charging run, by id. A version never changes
    (DESIGN §2: a session prices under the snapshot it started with), so one parse serves the
    whole run and the compiled plan kept on the tariff (``domain/tariffs/plan.py``) is built
    once per version rather than once per session."""

    known: dict[uuid.UUID, StoredTariff] = field(default_factory=dict)
