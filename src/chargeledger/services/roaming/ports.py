"""What the roaming use cases need from outside: storage of partners, an OCPI client to call a
partner's platform, and a box that seals the tokens we call partners with."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from chargeledger.domain.issuer_answers import IssuerAnswer
from chargeledger.domain.roaming import PartnerStatus, PartyRole, RoamingPartner


class RoamingPartnerRepository(Protocol):
    async def add(self, partner: RoamingPartner) -> None:
        """``DuplicateError`` when the party (country code, party id, role) is already one."""
        ...

    async def get(self, partner_id: uuid.UUID) -> RoamingPartner | None: ...

    async def by_party(
        self, country_code: str, party_id: str, role: PartyRole
    ) -> RoamingPartner | None: ...

    async def by_incoming_digest(self, digest: str) -> RoamingPartner | None:
        """The partner whose token hashes to ``digest`` (the caller of an OCPI request)."""
        ...

    async def replace_if(
        self, partner: RoamingPartner, status: PartnerStatus, incoming_digest: str | None
    ) -> bool:
        """Write ``partner`` only if its stored row still has ``status`` and
        ``incoming_digest``: two handshakes racing on one token, one wins, the other is told."""
        ...

    async def listed(self) -> list[RoamingPartner]: ...

    async def registered_for_accounts(
        self, account_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, RoamingPartner]:
        """The registered partners whose billing account is one of ``account_ids``, by it."""
        ...

    async def note_tokens_pulled(self, partner_id: uuid.UUID, at: datetime) -> None:
        """The partner's tokens were pulled in full ``at`` (the periodic pull's record)."""
        ...

    async def tokens_due(self, pulled_before: datetime) -> list[RoamingPartner]:
        """Registered partners whose tokens were never pulled or last before
        ``pulled_before``, the longest waiting first."""
        ...

    async def add_answer(self, answer: IssuerAnswer) -> None:
        """Keep an eMSP's real-time authorisation answer (append-only)."""
        ...

    async def latest_answer(
        self, uid: str, asked_from: datetime, asked_until: datetime
    ) -> IssuerAnswer | None:
        """The latest answer about ``uid`` asked in the window (both ends inclusive)."""
        ...

    async def link_answer(
        self, uid: str, session_id: uuid.UUID, asked_from: datetime, asked_until: datetime
    ) -> IssuerAnswer | None:
        """Note the latest answer that allowed ``uid`` in the window, and let no session
        start yet, as the one that let ``session_id`` start; that answer, if any."""
        ...

    async def answers_of_sessions(
        self, session_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, IssuerAnswer]:
        """The answers that let these sessions start, by session (one read for a batch)."""
        ...


class OcpiPeer(Protocol):
    """An OCPI 2.2.1 client of a partner's platform. Each call sends ``token`` as
    ``Authorization: Token <base64>`` (§4.1.3) and returns the envelope's ``data`` once the
    envelope said ``status_code`` 1000; else ``PartnerCallError``."""

    async def get(self, url: str, token: str) -> Any: ...

    async def get_all(self, url: str, token: str, max_pages: int) -> list[Any]:
        """The items of every page of a paginated list, following its ``Link`` headers."""
        ...

    async def send(self, method: str, url: str, token: str, body: Any) -> Any: ...


class TokenBox(Protocol):
    """Seals a token we present to partners so a copy of the database alone does not hold it."""

    def seal(self, token: str) -> str: ...

    def open(self, sealed: str) -> str: ...
