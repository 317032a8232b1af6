"""OCPI 2.2.1 CDRs (§10.3.1) of charged sessions: for roaming partners (``GET
/ocpi/2.2.1/cdrs``, ``services.roaming.cdrs``) and for ``chargeledger export cdrs``.

Each CDR is priced again from the session's frozen tariff (DESIGN §2: one pricing function)
and carries the amounts as booked; the document itself is ``domain.ocpi_cdrs``. Read only:
handed an open unit of work, commits nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chargeledger.domain.billing import Charge, VatRates
from chargeledger.domain.catalog import Evse, Site, Station
from chargeledger.domain.ocpi_cdrs import ChargedSession, OcpiParty, cdr_document
from chargeledger.errors import ChargeledgerError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.ports import UnitOfWork


class CdrUnavailableError(ChargeledgerError):
    """A charged session whose CDR cannot name what OCPI requires (its EVSE or connector was
    removed from the catalog since): told, never published with a guess (DESIGN §2: nothing
    silent). A fault of our data, not of the caller."""

    default_code = "cdr_unavailable"
    http_status = 500


class _Catalog:
    """The stations, sites and EVSEs a page of CDRs names, each read once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._stations: dict[uuid.UUID, Station] = {}
        self._sites: dict[uuid.UUID, Site] = {}
        self._evses: dict[tuple[uuid.UUID, int], Evse | None] = {}

    async def station(self, station_id: uuid.UUID) -> Station:
        if station_id not in self._stations:
            self._stations[station_id] = await get_station(self._uow, station_id)
        return self._stations[station_id]

    async def site(self, site_id: uuid.UUID) -> Site:
        if site_id not in self._sites:
            self._sites[site_id] = await get_site(self._uow, site_id)
        return self._sites[site_id]

    async def evse(self, station_id: uuid.UUID, evse_id: int) -> Evse | None:
        key = (station_id, evse_id)
        if key not in self._evses:
            self._evses[key] = await self._uow.evses.get_by_station_evse(station_id, evse_id)
        return self._evses[key]


async def charged_sessions(
    uow: UnitOfWork, charges: Sequence[Charge], rates: VatRates
) -> list[ChargedSession]:
    """What the CDRs of ``charges`` are made of, in their order. The location is the charge's
    site (where the session charged), the EVSE and connector the session's; a connector id
    the EVSE does not have (an OCPP 1.6 session names its EVSE only) is its first one."""
    catalog = _Catalog(uow)
    # Which roaming partner's yes let each session start: one read for the batch.
    answers = await uow.roaming.answers_of_sessions([charge.session_id for charge in charges])
    found = []
    for charge in charges:
        session = await uow.sessions.get(charge.session_id)
        if session is None:  # a charge keeps its session (foreign key): never here
            raise CdrUnavailableError(f"the session of charge {charge.id} is gone")
        priced = await price_captured_session(uow, session, rates)
        station = await catalog.station(session.station_id)
        evse = await catalog.evse(station.id, session.evse_id)
        if evse is None:
            raise CdrUnavailableError(
                f"session {session.id}: EVSE {session.evse_id} of {station.charge_point_id} "
                "is no longer in the catalog, so its CDR cannot name it (OCPI 2.2.1 §10.4.4)"
            )
        connector = next(
            (c for c in evse.connectors if c.connector_id == session.connector_id),
            evse.connectors[0],
        )
        tariff_id = charge.tariff_id or session.tariff_id
        stored = None if tariff_id is None else await uow.tariffs.get(tariff_id)
        token = await uow.tokens.get_by_uid(session.id_tag) if session.id_tag else None
        if token is not None and token.account_id != session.account_id:
            token = None  # the uid was given to another account since
        authorization = None if token is None else answers.get(session.id)
        found.append(
            ChargedSession(
                session=session,
                charge=charge,
                cdr=priced.cdr,
                result=priced.result,
                site=await catalog.site(charge.site_id),
                station=station,
                evse=evse,
                connector=connector,
                token=token,
                tariff_recorded_at=session.started_at if stored is None else stored.created_at,
                authorization=authorization,
            )
        )
    return found


async def token_issuers(uow: UnitOfWork) -> dict[uuid.UUID, OcpiParty]:
    """Whose tokens an account holds: the roaming partner billed through it (its drivers'
    tokens, §10.4.5), the first by party where several share one account."""
    issuers: dict[uuid.UUID, OcpiParty] = {}
    for partner in await uow.roaming.listed():
        if partner.account_id is not None and partner.account_id not in issuers:
            issuers[partner.account_id] = OcpiParty(partner.country_code, partner.party_id)
    return issuers


async def cdrs_between(
    uow: UnitOfWork,
    started_from: datetime,
    started_before: datetime,
    rates: VatRates,
    *,
    cpo: OcpiParty | None = None,
) -> list[dict[str, Any]]:
    """The complete CDRs, as OCPI JSON objects, of sessions charged that started in the
    window, whoever paid them. ``cpo``: our party (``CHARGELEDGER_OCPI_*``); when it is not
    configured the CDRs leave out ``country_code`` and ``party_id`` (theirs and our tokens'
    and tariffs'), and ``cdr_location.evse_id`` is the EVSE's uid, as there is no eMI3 id
    without our party: nothing is invented."""
    charges = await uow.billing.charges_between(started_from, started_before)
    issuers = await token_issuers(uow)
    return [
        cdr_document(
            charged,
            cpo=cpo,
            issuer=None
            if charged.charge.account_id is None
            else issuers.get(charged.charge.account_id),
        )
        for charged in await charged_sessions(uow, charges, rates)
    ]
