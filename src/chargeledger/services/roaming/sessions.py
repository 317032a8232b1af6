"""A roaming partner's sessions at our stations (OCPI 2.2.1 §9), as the CPO.

Pulled (§9.2.1, the sender interface): the sessions of the partner's billing account
(``RoamingPartner.account_id``, as for CDRs: never another partner's, never our own
drivers'), those whose ``last_updated`` (the latest of start, reading and end:
``domain.ocpi_sessions.last_change``) is in ``date_from``/``date_to`` (inclusive/exclusive),
oldest start first with the id breaking ties (stable from one page to the next). Each is the
Session object as it stands now (``domain.ocpi_sessions``). Query only.

Pushed while running (§9.2.2: "the CPO pushes each update"): a session's start and end are
announced in the transaction of the station's message (``notices``); between them, the
periodic job here announces each running partner session whose latest reading is newer than
the last one announced, one outbox message keyed by the session and that reading's moment.
So a partner hears of a session's progress at most once per job interval
(``CHARGELEDGER_OCPI_SESSION_UPDATE_SECONDS``) and never twice for one reading, whichever node
runs the job (DESIGN §2 exactly once: the key makes a second announcement a no-op), while the
station path pays nothing for it. The push sends the session as it stands when sent
(``pushes``): a late update never takes a partner back to an older state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.exact_json import utc_text
from chargeledger.domain.ocpi_cdrs import OcpiParty
from chargeledger.domain.ocpi_sessions import SessionState
from chargeledger.domain.roaming import InterfaceRole, ModuleId, PartnerStatus, RoamingPartner
from chargeledger.domain.station_link import SessionCursor, SessionFilter
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.roaming.notices import SESSION_TOPIC, partner_notice
from chargeledger.services.roaming.session_states import session_state

_SCAN_PAGE = 500


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of a partner's sessions, how many there are in all (§4.1.5
    ``X-Total-Count``) and whose tokens they were started with (the partner's party)."""

    items: list[SessionState]
    total: int
    issuer: OcpiParty


async def partner_sessions(
    uow: UnitOfWork,
    partner: RoamingPartner,
    rates: VatRates,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    offset: int,
    limit: int,
) -> SessionPage:
    """The page of ``partner``'s sessions at ``offset`` (module docstring). A session whose
    EVSE has left the catalog cannot be described and is left out of the page."""
    issuer = OcpiParty(partner.country_code, partner.party_id)
    if partner.account_id is None:
        return SessionPage([], 0, issuer)
    found, total = await uow.sessions.changed_of_account(
        partner.account_id, date_from, date_to, limit=limit, offset=offset
    )
    states = []
    for session in found:
        state = await session_state(uow, session, rates)
        if state is not None:
            states.append(state)
    return SessionPage(states, total, issuer)


async def announce_session_updates(uow: UnitOfWork, clock: Clock) -> int:
    """Announce the new readings of every running session of a registered partner that takes
    session pushes (module docstring); how many updates were announced."""
    announced = 0
    for partner in await uow.roaming.listed():
        if (
            partner.status is not PartnerStatus.REGISTERED
            or partner.account_id is None
            or partner.endpoint(ModuleId.SESSIONS, InterfaceRole.RECEIVER) is None
        ):
            continue
        criteria = SessionFilter(account_id=partner.account_id, status=SessionStatus.ACTIVE)
        after: SessionCursor | None = None
        while True:
            page = await uow.sessions.search(criteria, limit=_SCAN_PAGE, after=after)
            for session in page.items:
                reading = session.last_sample_at
                if reading is None or reading <= session.started_at:
                    continue  # nothing since the start, which was announced with it
                moment = utc_text(reading)
                notice = partner_notice(
                    partner,
                    SESSION_TOPIC,
                    f"ocpi:session:{session.id}:reading:{moment}",
                    f"session {session.id} (reading of {moment})",
                    {"module": ModuleId.SESSIONS.value, "session_id": str(session.id)},
                )
                announced += await announce(uow, clock, notice)
            if page.next_offset is None or not page.items:
                break
            last = page.items[-1]
            after = SessionCursor(last.started_at, last.id)
    return announced
