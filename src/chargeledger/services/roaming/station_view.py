"""What the station path needs of roaming on every message, read once in a while per process
rather than on each message: the registered partners (whom a connector's status goes to,
``notices``) and the uids of the tokens whose eMSP wants asking (``realtime``).

Measured (``bench/ocpp_ingest.py --message status|authorize``, README "Performance"): a read
per message cost a fifth of the StatusNotifications and near half of the Authorizes a
process answers. Read here at most once per ``FRESH_FOR``, and at once again after this
process changed either (``forget``: a handshake, a token pull or a partner's command). A
change made on another node of a cluster is seen here within ``FRESH_FOR``: meanwhile a
newly registered partner misses location news it can pull, and a token newly marked for
asking is decided by our registry alone (one that was never listed is still refused).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chargeledger.domain.roaming import RoamingPartner
from chargeledger.services.ports import UnitOfWork

FRESH_FOR = timedelta(seconds=30)
UidsReader = Callable[[], Awaitable[Collection[str]]]


@dataclass(eq=False)
class RoamingView:
    _partners: list[RoamingPartner] | None = None
    _partners_at: datetime | None = None
    _asked: frozenset[str] | None = None
    _asked_at: datetime | None = None
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock)

    def forget(self) -> None:
        """This process changed partners or tokens: read them again next time."""
        self._partners = self._asked = None

    async def partners(self, uow: UnitOfWork, now: datetime) -> list[RoamingPartner]:
        """Every partner (as ``uow.roaming.listed``), read with ``uow`` when stale."""
        if self._partners is None or self._stale(self._partners_at, now):
            self._partners, self._partners_at = await uow.roaming.listed(), now
        return self._partners

    async def asks_about(self, uids: UidsReader, uid: str, now: datetime) -> bool:
        """Whether ``uid`` is a token whose eMSP wants asking; ``uids`` reads them when the
        set is stale (one reader at a time, the others wait for its set)."""
        if self._asked is None or self._stale(self._asked_at, now):
            async with self._reading:
                if self._asked is None or self._stale(self._asked_at, now):
                    self._asked, self._asked_at = frozenset(await uids()), now
        return uid in self._asked

    @staticmethod
    def _stale(read_at: datetime | None, now: datetime) -> bool:
        return read_at is None or not read_at <= now < read_at + FRESH_FOR
