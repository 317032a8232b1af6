"""Reads of the catalog for many stations at once (issue 17): the handshakes and boots of a
reconnect storm read their stations and EVSEs in one query for many (``services.batching``).
Part of the station and EVSE repositories (``services/ports.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chargeledger.domain.catalog import Station


class StationBatchReads(Protocol):
    async def by_charge_point_ids(self, charge_point_ids: Collection[str]) -> dict[str, Station]:
        """The stations of ``charge_point_ids`` that exist, by charge point id (one read for
        the handshakes of many stations)."""
        ...


class EvseIdReads(Protocol):
    async def evse_ids(
        self, station_ids: Collection[uuid.UUID], limit: int
    ) -> dict[uuid.UUID, Sequence[int]]:
        """The first ``limit`` EVSE ids of each of ``station_ids`` that has any, in order
        (ids only, no aggregates: one read for the boots of many stations)."""
        ...
