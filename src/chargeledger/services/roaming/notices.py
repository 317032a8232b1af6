"""What a roaming partner is owed, announced in the transaction of what it reports.

Sessions (OCPI 2.2.1 §9.2.2, the CPO pushes each change of a partner's session): its start
and its end are announced in the transaction of the station's message that started or ended
it (``ocpi.session``, keyed by the session and the change), its readings in between by the
periodic job of ``sessions``, and sent with the session as it stands when sent (``pushes``).
Its start also notes which of the partner's yeses let it start (a real-time answer or a
START_SESSION, ``realtime``), for its ``authorization_reference``.

CDRs:
OCPI 2.2.1 §10.2.2: the CPO POSTs each CDR to the eMSP's CDRs receiver once the session is
over and priced. Charging a session whose account is a registered partner's writes an outbox
notice (``ocpi.cdr``) in the same transaction as the charge (DESIGN §2 exactly once: a charge
rolled back announces nothing, one committed announces once, keyed by the session); the
outbox worker then pushes it (``pushes``) and retries until the partner has it. The notice
holds only which partner and which session: the CDR is built when it is sent, from the same
stored records the invoice bills. A re-pricing of the session announces, in its own
transaction, a credit CDR of the CDR it stood at and a new CDR (§10.1.1, ``credit_cdrs``).

Locations (§8.2.2, the CPO pushes each change of a Location, EVSE or Connector): a
connector's new status, and a station's link going down or coming back (its EVSEs' status is
UNKNOWN while it is away, as the locations module publishes them), are announced in the
transaction that records them to each registered partner that offers a locations receiver
(keyed by partner, station, change and moment: a repeated notification announces nothing
twice). The push PUTs the whole Location as it stands when sent, so a partner that missed a
push, or never pulled the location, is whole again with the next one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from chargeledger.domain.billing import Charge
from chargeledger.domain.charging import Session
from chargeledger.domain.issuer_answers import STARTED_WITHIN
from chargeledger.domain.outbox import Notice
from chargeledger.domain.repricing import Repricing
from chargeledger.domain.roaming import InterfaceRole, ModuleId, PartnerStatus, RoamingPartner
from chargeledger.domain.station_link import ConnectorState
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.roaming.station_view import RoamingView

CDR_TOPIC = "ocpi.cdr"
SESSION_TOPIC = "ocpi.session"
LOCATION_TOPIC = "ocpi.location"


def partner_notice(
    partner: RoamingPartner, topic: str, key: str, subject: str, data: dict[str, object]
) -> Notice:
    """An outbox notice of a push to ``partner`` (``Channel.OCPI``, sent by ``pushes``)."""
    return Notice(
        topic=topic,
        key=key,
        subject=f"{subject} for {partner.party}",
        text="",
        data={"partner_id": str(partner.id), **data},
    )


async def announce_partner_cdrs(uow: UnitOfWork, clock: Clock, charges: Sequence[Charge]) -> int:
    """Announce the CDRs of ``charges`` that belong to a registered partner; how many."""
    accounts = {charge.account_id for charge in charges if charge.account_id is not None}
    if not accounts:
        return 0
    partners = await uow.roaming.registered_for_accounts(accounts)
    announced = 0
    for charge in charges:
        partner = partners.get(charge.account_id) if charge.account_id else None
        if partner is None:
            continue
        notice = partner_notice(
            partner,
            CDR_TOPIC,
            f"ocpi:cdr:{charge.session_id}",
            f"CDR of session {charge.session_id}",
            {"module": "cdrs", "session_id": str(charge.session_id)},
        )
        announced += await announce(uow, clock, notice)
    return announced


async def announce_partner_repricing(uow: UnitOfWork, clock: Clock, repricing: Repricing) -> int:
    """A re-pricing of a registered partner's session (OCPI 2.2.1 §10.1.1): a credit CDR of
    the CDR it stood at, and a new CDR, announced in the re-pricing's transaction (keyed by
    session, re-pricing and part); how many (none for anyone else's session)."""
    if repricing.account_id is None:
        return 0
    partner = (await uow.roaming.registered_for_accounts([repricing.account_id])).get(
        repricing.account_id
    )
    if partner is None:
        return 0
    announced = 0
    for part in ("credit", "cdr"):
        key = f"ocpi:cdr:{repricing.session_id}:repricing:{repricing.sequence}:{part}"
        notice = partner_notice(
            partner,
            CDR_TOPIC,
            key,
            f"{part} of re-pricing {repricing.sequence} of {repricing.session_id}",
            {
                "module": "cdrs",
                "session_id": str(repricing.session_id),
                "repricing": repricing.sequence,
                "part": part,
            },
        )
        announced += await announce(uow, clock, notice)
    return announced


async def announce_partner_session(uow: UnitOfWork, clock: Clock, session: Session) -> bool:
    """Announce a start or an end of ``session`` if it is a registered partner's; whether it
    is (announced now or before), so the caller asks no second time."""
    if session.account_id is None:
        return False
    partners = await uow.roaming.registered_for_accounts([session.account_id])
    partner = partners.get(session.account_id)
    if partner is None:
        return False
    change = "start" if session.is_open else "end"
    if session.is_open and session.id_tag:  # the real-time answer that let it start, if any
        now = clock.now()
        await uow.roaming.link_answer(session.id_tag, session.id, now - STARTED_WITHIN, now)
    notice = partner_notice(
        partner,
        SESSION_TOPIC,
        f"ocpi:session:{session.id}:{change}",
        f"session {session.id} ({change})",
        {"module": "sessions", "session_id": str(session.id)},
    )
    await announce(uow, clock, notice)
    return True


async def announce_location_changes(
    uow: UnitOfWork,
    clock: Clock,
    changes: Sequence[tuple[uuid.UUID, str, datetime]],
    view: RoamingView | None = None,
) -> int:
    """Announce changes of stations' availability, each ``(station id, what changed, when)``,
    to every partner that takes location pushes; how many were announced. The station path
    passes the process's ``view`` of the partners (read once in a while, ``station_view``);
    without it they are read now."""
    if not changes:
        return 0
    known = await uow.roaming.listed() if view is None else await view.partners(uow, clock.now())
    partners = [
        partner
        for partner in known
        if partner.status is PartnerStatus.REGISTERED
        and partner.endpoint(ModuleId.LOCATIONS, InterfaceRole.RECEIVER) is not None
    ]
    announced = 0
    for partner in partners:
        for station_id, what, moment in changes:
            notice = partner_notice(
                partner,
                LOCATION_TOPIC,
                f"ocpi:location:{partner.id}:{station_id}:{what}:{moment.isoformat()}",
                f"station {station_id}: {what}",
                {"module": ModuleId.LOCATIONS.value, "station_id": str(station_id)},
            )
            announced += await announce(uow, clock, notice)
    return announced


async def announce_status_change(
    uow: UnitOfWork, clock: Clock, state: ConnectorState, view: RoamingView | None = None
) -> int:
    """A connector's new status (StatusNotification), as :func:`announce_location_changes`."""
    what = f"{state.evse_id}/{state.connector_id} {state.status}"
    changes = [(state.station_id, what, state.status_at)]
    return await announce_location_changes(uow, clock, changes, view)
