"""Pushes to roaming partners, as the outbox delivers them (``Channel.OCPI``, issue 18).

A session's start and end (OCPI 2.2.1 §9.2.2, ``PUT`` of the whole Session object to the
eMSP's sessions receiver) are sent as the session stands when sent (``domain.ocpi_sessions``).

A connector's new status, or its station coming or going (§8.2.2), ``PUT``s the whole
Location of its station's site, as the locations module publishes it when sent
(``location_documents``).

A re-pricing of a partner's session POSTs a credit CDR of the CDR it stood at and a new CDR
(§10.1.1, ``credit_cdrs``).

A CDR (OCPI 2.2.1 §10.2.2, ``POST`` to the eMSP's CDRs receiver) is announced in the
transaction that charges its session (``notices``) and sent here, built from the stored
records when it is sent: the same figures the invoice bills. A partner that does not answer,
or answers with an OCPI error, is tried again with the outbox's backoff; one that is no longer
registered, or offers no CDRs receiver, never will be (the message is dead, for finance to
see in the outbox's dead letters). The CDR's ``id`` is the session's, so a partner that got a
CDR whose answer we missed recognises it when it comes again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from chargeledger.domain.billing import VatRates
from chargeledger.domain.ocpi_cdrs import OcpiParty, cdr_document
from chargeledger.domain.ocpi_sessions import session_document
from chargeledger.domain.roaming import InterfaceRole, ModuleId, PartnerStatus, RoamingPartner
from chargeledger.errors import ChargeledgerError
from chargeledger.services.billing.cdr_exports import charged_sessions
from chargeledger.services.notifications.ports import DeliveryFailedError
from chargeledger.services.roaming.credit_cdrs import RepricedCdrUnavailableError, repriced_cdrs
from chargeledger.services.roaming.handshake import Handshake
from chargeledger.services.roaming.location_documents import location_json
from chargeledger.services.roaming.publication import published_locations
from chargeledger.services.roaming.session_states import session_state

_PUSHED = (ModuleId.CDRS.value, ModuleId.SESSIONS.value, ModuleId.LOCATIONS.value)


class RoamingPushes:
    """The outbox's ``OcpiPusher``: ``cpo`` is our party (None: OCPI not configured)."""

    def __init__(self, hs: Handshake, rates: VatRates, cpo: OcpiParty | None) -> None:
        self._hs, self._rates, self._cpo = hs, rates, cpo

    async def push(self, destination: str, data: Mapping[str, object]) -> None:
        partner = await self._partner(destination)
        module = str(data.get("module"))
        if module not in _PUSHED:
            raise DeliveryFailedError(f"no push of {module!r}", permanent=True)
        url = partner.endpoint(ModuleId(module), InterfaceRole.RECEIVER)
        if url is None:
            raise DeliveryFailedError(f"{partner.party} takes no {module}", permanent=True)
        if module == ModuleId.LOCATIONS.value:
            location = await self._location(str(data.get("station_id")))
            path = f"{url.rstrip('/')}/{location['country_code']}/{location['party_id']}"
            await self._send(partner, "PUT", f"{path}/{location['id']}", location)
            return
        session_id = str(data.get("session_id"))
        if module == ModuleId.CDRS.value:
            version = data.get("repricing")
            if isinstance(version, int):  # a re-pricing's credit CDR, then its new CDR
                credit, current = await self._repriced(partner, session_id, version)
                document = credit if data.get("part") == "credit" else current
                await self._send(partner, "POST", url, document)
                return
            await self._send(partner, "POST", url, await self._cdr(partner, session_id))
            return
        document = await self._session(partner, session_id)
        path = f"{url.rstrip('/')}/{document['country_code']}/{document['party_id']}/{session_id}"
        await self._send(partner, "PUT", path, document)  # §9.2.2: the whole object

    async def _partner(self, destination: str) -> RoamingPartner:
        try:
            partner_id = uuid.UUID(destination)
        except ValueError:
            raise DeliveryFailedError(f"no partner {destination!r}", permanent=True) from None
        async with self._hs.uows() as uow:
            partner = await uow.roaming.get(partner_id)
        if partner is None or partner.status is not PartnerStatus.REGISTERED:
            raise DeliveryFailedError(f"partner {destination} is not registered", permanent=True)
        if self._cpo is None:
            raise DeliveryFailedError("our OCPI party is not configured", permanent=True)
        return partner

    async def _location(self, station_id: str) -> dict[str, Any]:
        assert self._cpo is not None  # checked with the partner
        async with self._hs.uows() as uow:
            station = await uow.stations.get(uuid.UUID(station_id))
            if station is None:
                raise DeliveryFailedError(f"no station {station_id}", permanent=True)
            found = await published_locations(uow, self._hs.clock, self._rates, [station.site_id])
        if not found:
            raise DeliveryFailedError(f"station {station_id} has no site", permanent=True)
        return location_json(found[0], self._cpo)

    async def _cdr(self, partner: RoamingPartner, session_id: str) -> dict[str, Any]:
        async with self._hs.uows() as uow:
            charge = await uow.billing.charge_for_session(uuid.UUID(session_id))
            if charge is None:
                raise DeliveryFailedError(f"session {session_id} has no charge", permanent=True)
            (charged,) = await charged_sessions(uow, [charge], self._rates)
        issuer = OcpiParty(partner.country_code, partner.party_id)
        return cdr_document(charged, cpo=self._cpo, issuer=issuer)

    async def _repriced(
        self, partner: RoamingPartner, session_id: str, version: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        assert self._cpo is not None  # checked with the partner
        issuer = OcpiParty(partner.country_code, partner.party_id)
        async with self._hs.uows() as uow:
            try:
                return await repriced_cdrs(
                    uow, self._rates, uuid.UUID(session_id), version, cpo=self._cpo, issuer=issuer
                )
            except RepricedCdrUnavailableError as exc:
                raise DeliveryFailedError(exc.message, permanent=True) from exc

    async def _session(self, partner: RoamingPartner, session_id: str) -> dict[str, Any]:
        async with self._hs.uows() as uow:
            session = await uow.sessions.get(uuid.UUID(session_id))
            if session is None:
                raise DeliveryFailedError(f"no session {session_id}", permanent=True)
            state = await session_state(uow, session, self._rates)
        if state is None or self._cpo is None:
            raise DeliveryFailedError(f"session {session_id} cannot be described", permanent=True)
        issuer = OcpiParty(partner.country_code, partner.party_id)
        return session_document(state, cpo=self._cpo, issuer=issuer)

    async def _send(self, partner: RoamingPartner, method: str, url: str, body: Any) -> None:
        if partner.outgoing_token is None:
            raise DeliveryFailedError(f"{partner.party} has no token of ours", permanent=True)
        try:
            await self._hs.peer.send(method, url, self._hs.box.open(partner.outgoing_token), body)
        except ChargeledgerError as exc:
            raise DeliveryFailedError(f"{exc.code}: {exc.message}") from exc
