"""Real-time authorisation of a roaming partner's token (OCPI 2.2.1 §12.2.1.2): the CPO asks
the token's eMSP, ``POST {tokens}/{uid}/authorize?type=...``, whether it may charge here now.

Whom: tokens pulled with a whitelist of NEVER or ALLOWED_OFFLINE (``IssuerCheck``, set by
``tokens``). The eMSP is the partner whose billing account holds the token; unknown tokens are
not sent to every partner (a token uid is not broadcast to platforms that did not issue it).

When: the station edge asks (:func:`ask_issuer`) before it opens the transaction of an
Authorize, a StartTransaction or a 2.0.1 TransactionEvent that authorises, so no database
transaction waits on another platform; the answer is kept (``domain.issuer_answers``) and the
message's own transaction reads it (``charging.authorization``). One arrival at a station
(Authorize, then the start) asks once: an answer younger than ``ASK_AGAIN_AFTER`` is used
again.

What the answer does: ALLOWED lets the usual checks go on (the partner account's dunning and
credit limit); BLOCKED, EXPIRED and NO_CREDIT say so; NOT_ALLOWED (not at this location) is
Invalid. No answer (the eMSP is down, slow past ``CHARGELEDGER_OCPI_TIMEOUT_SECONDS``, or says
something we cannot read) refuses a NEVER token and lets an ALLOWED_OFFLINE one be decided by
our registry, as §12.4.6 defines them. The session it let start (the partner's next session
with that token, within ``STARTED_WITHIN``, noted in the start's transaction) carries the
answer's ``authorization_reference`` and ``auth_method`` AUTH_REQUEST
(:func:`session_authorization`); a START_SESSION command is kept the same way, as a yes of
kind COMMAND (``commands``).
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote

from chargeledger.domain.accounts import Token, TokenStatus
from chargeledger.domain.charging import Session
from chargeledger.domain.issuer_answers import (
    ASK_AGAIN_AFTER,
    Allowed,
    IssuerAnswer,
    read_authorization_info,
)
from chargeledger.domain.ocpi_cdrs import ocpi_token_type
from chargeledger.domain.roaming import InterfaceRole, ModuleId, RoamingPartner
from chargeledger.errors import ChargeledgerError
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.roaming.handshake import Handshake

log = logging.getLogger("chargeledger.roaming")


async def ask_issuer(
    hs: Handshake, id_tag: str, station_id: uuid.UUID | None = None
) -> IssuerAnswer | None:
    """Ask the eMSP of ``id_tag`` (when it is a token that wants asking) and keep its answer;
    None when there is nothing to ask. Outside any transaction; never raises for the
    partner's sake (an unreachable eMSP is kept as no answer)."""
    uid = id_tag.strip().upper()
    now = hs.clock.now()

    async def asked_uids() -> list[str]:
        async with hs.uows() as uow:
            return await uow.tokens.asking_issuer()

    if not uid or not await hs.view.asks_about(asked_uids, uid, now):
        return None  # the common case: no read at all (``station_view``)
    async with hs.uows() as uow:
        token = await uow.tokens.get_by_uid(uid)
        if token is None or token.issuer_check is None or token.status is not TokenStatus.ACTIVE:
            return None
        recent = await uow.roaming.latest_answer(uid, now - ASK_AGAIN_AFTER, now)
        if recent is not None and recent.allowed is Allowed.ALLOWED:
            return recent  # the start after an Authorize; a refusal is asked again
        partner = (await uow.roaming.registered_for_accounts([token.account_id])).get(
            token.account_id
        )
        station = None if station_id is None else await uow.stations.get(station_id)
    if partner is None:
        return None  # no registered eMSP holds it any more: nobody to ask, nothing to keep
    location = None if station is None else str(station.site_id)
    answer = await _ask(hs, partner, token, location)
    async with hs.uows() as uow:
        await uow.roaming.add_answer(answer)
        await uow.commit()
    return answer


async def _ask(
    hs: Handshake, partner: RoamingPartner, token: Token, location_id: str | None
) -> IssuerAnswer:
    url = partner.endpoint(ModuleId.TOKENS, InterfaceRole.SENDER)
    allowed = reference = None
    if url is not None and partner.outgoing_token is not None:
        kind = ocpi_token_type(token).value
        target = f"{url.rstrip('/')}/{quote(token.uid, safe='')}/authorize?type={kind}"
        body = None if location_id is None else {"location_id": location_id}
        try:
            raw = await hs.peer.send("POST", target, hs.box.open(partner.outgoing_token), body)
        except ChargeledgerError as exc:
            log.warning(
                "real-time authorisation failed",
                extra={"partner": partner.party, "code": exc.code, "error": exc.message},
            )
        else:
            read = read_authorization_info(raw)
            if read is None:
                log.warning("unreadable AuthorizationInfo", extra={"partner": partner.party})
            else:
                allowed, reference = read
    return IssuerAnswer(token.uid, partner.id, hs.clock.now(), allowed, reference)


async def session_authorization(
    uow: UnitOfWork, session: Session, token: Token | None
) -> IssuerAnswer | None:
    """The partner's yes that let ``session`` start (a real-time answer or its START_SESSION
    command, noted in the start's transaction, ``notices.announce_partner_session``); None
    for a session no token of ours started. A batch reads them at once
    (``uow.roaming.answers_of_sessions``, as ``billing.cdr_exports`` does)."""
    if token is None:
        return None
    return (await uow.roaming.answers_of_sessions([session.id])).get(session.id)
