"""Commands a roaming partner sends to our stations (OCPI 2.2.1 §13, CPO receiver interface).

A command is answered twice (§13.1): at once with a CommandResponse (ACCEPTED when we will
pass it to the station, REJECTED / UNKNOWN_SESSION / NOT_SUPPORTED when we will not), and later
with a CommandResult POSTed to the partner's ``response_url`` carrying the station's own
verdict. ``plan_command`` checks the request and finds the station; ``carry_out`` sends it over
the command bus (to whichever node holds the station) and reports the result.

- START_SESSION (§13.3.5): the token the partner sends is put into our registry under its
  billing account first (as a pull would), so the session the station starts is the
  partner's; an invalid token is REJECTED. The command is kept as the partner's yes to that
  session: it says ``auth_method`` COMMAND with the command's ``authorization_reference``.
- STOP_SESSION (§13.3.6): only a running session of the partner's own account; another is
  UNKNOWN_SESSION.
- UNLOCK_CONNECTOR (§13.3.7).
- RESERVE_NOW (§13.3.5), with its token stored as for a start, and CANCEL_RESERVATION
  (§13.3.1): a partner's reservations count per token and go by the partner's own
  ``reservation_id`` (``reservations``).

``response_url`` must be on the partner's own host: a token never goes anywhere else, and a
partner cannot make us POST into another network.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.issuer_answers import Allowed, AnswerKind, IssuerAnswer
from chargeledger.domain.roaming import RoamingPartner, ocpi_url
from chargeledger.domain.station_link import CommandKind, StationCommand
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.services.charging.reservations import StationRefusedError
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.ports import Locks
from chargeledger.services.roaming.handshake import Handshake
from chargeledger.services.roaming.publication import published_locations
from chargeledger.services.roaming.reservations import cancel_for_partner, reserve_for_partner
from chargeledger.services.roaming.tokens import TokenPull, read_token, store_tokens

log = logging.getLogger(__name__)
RESULT_TIMEOUT_S = 60  # §13.3.2 CommandResponse.timeout: how long the partner should wait
STATION_WAIT_S = 30.0


class CommandType(StrEnum):
    """§13.4.4 CommandType."""

    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


# A command carried out by a use case rather than sent as it is: it returns the station's word.
Carrying = Callable[[CommandBus, Locks], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class CommandPlan:
    """What to answer at once (§13.4.2 CommandResponseType) and, when accepted, what to send
    to which station (or what to ``run``) and where the result goes."""

    response: str
    message: str
    charge_point_id: str | None = None
    station_command: StationCommand | None = None
    response_url: str | None = None
    run: Carrying | None = None

    @property
    def accepted(self) -> bool:
        return self.response_url is not None and (
            self.run is not None or self.station_command is not None
        )


# The station's word (1.6 and 2.0.1) -> §13.4.3 CommandResultType.
_RESULTS = {
    "Accepted": "ACCEPTED",
    "Unlocked": "ACCEPTED",
    "Rejected": "REJECTED",
    "OngoingAuthorizedTransaction": "REJECTED",
    "UnlockFailed": "FAILED",
    "UnknownConnector": "FAILED",
    "NotSupported": "NOT_SUPPORTED",
    "station_timeout": "TIMEOUT",
    # ReserveNow (1.6 §7.38 ReservationStatus, 2.0.1 ReserveNowStatusEnumType) and ours.
    "Occupied": "EVSE_OCCUPIED",
    "Faulted": "EVSE_INOPERATIVE",
    "Unavailable": "EVSE_INOPERATIVE",
    "evse_busy": "EVSE_OCCUPIED",
    "evse_reserved": "EVSE_OCCUPIED",
    "unknown_reservation": "UNKNOWN_RESERVATION",
    "reservation_exists": "REJECTED",
    "reservation_busy": "REJECTED",
    "invalid_reservation_length": "REJECTED",
    "token_not_active": "REJECTED",
}


def _text(body: Mapping[str, Any], name: str, longest: int = 36) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise InvalidInputError(f"{name} must be 1-{longest} characters", field=name)
    return value


def _response_url(body: Mapping[str, Any], partner: RoamingPartner) -> str:
    url = ocpi_url(body.get("response_url"), "response_url")
    home = urlsplit(partner.versions_url or "")
    if urlsplit(url).netloc != home.netloc:
        raise InvalidInputError(
            "response_url must be on the partner's own host", field="response_url"
        )
    return url


async def plan_command(
    hs: Handshake, rates: VatRates, partner: RoamingPartner, name: str, body: Any
) -> CommandPlan:
    """Check a command; ``InvalidInputError`` for a request we cannot read (§13.2.2: 2001)."""
    try:
        command = CommandType(name)
    except ValueError:
        raise InvalidInputError(f"unknown command {name!r}", field="command") from None
    if not isinstance(body, Mapping):
        raise InvalidInputError("the command must be an object", field="body")
    response_url = _response_url(body, partner)
    if command is CommandType.STOP_SESSION:
        return await _plan_stop(hs, partner, _text(body, "session_id"), response_url)
    if command is CommandType.CANCEL_RESERVATION:
        ref = _text(body, "reservation_id")
        if partner.account_id is None:
            return CommandPlan("REJECTED", f"{partner.party} has no reservations here")
        owner: uuid.UUID = partner.account_id

        async def cancel(bus: CommandBus, _: Locks) -> str:
            await cancel_for_partner(hs, bus, owner, ref)
            return "Accepted"

        return _running(cancel, response_url)
    location_id = _text(body, "location_id")
    evse_uid = _text(body, "evse_uid") if command is CommandType.UNLOCK_CONNECTOR else None
    if command is not CommandType.UNLOCK_CONNECTOR and body.get("evse_uid") is not None:
        evse_uid = _text(body, "evse_uid")
    target = await _find_evse(hs, rates, location_id, evse_uid)
    if target is None:
        return CommandPlan("REJECTED", f"no EVSE {evse_uid or '(any)'} at {location_id}")
    charge_point_id, evse_id, station_id = target
    if command is CommandType.UNLOCK_CONNECTOR:
        connector = _text(body, "connector_id")
        if not connector.isdigit():
            return CommandPlan("REJECTED", f"no connector {connector}")
        unlock = StationCommand(
            CommandKind.UNLOCK_CONNECTOR, evse_id=evse_id, connector_id=int(connector)
        )
        return CommandPlan("ACCEPTED", "sent to the station", charge_point_id, unlock, response_url)
    token = read_token(body.get("token"), partner)
    account_id = partner.account_id
    if account_id is None:
        return CommandPlan("REJECTED", f"{partner.party} has no billing account here")
    stored = await store_tokens(hs, account_id, [token], TokenPull())
    if stored.conflicts or token.status.value != "active":
        return CommandPlan("REJECTED", f"token {token.uid} cannot charge here")
    if command is CommandType.RESERVE_NOW:
        ref, until = _text(body, "reservation_id"), _moment(body, "expiry_date")

        async def reserve(bus: CommandBus, locks: Locks) -> str:
            where = (station_id, evse_id)
            await reserve_for_partner(hs, bus, locks, account_id, token.uid, where, until, ref)
            return "Accepted"

        return CommandPlan(
            "ACCEPTED", "sent to the station", response_url=response_url, run=reserve
        )
    await _note_commanded_start(hs, partner, token.uid, body.get("authorization_reference"))
    start = StationCommand(CommandKind.REMOTE_START, evse_id=evse_id, id_tag=token.uid)
    return CommandPlan("ACCEPTED", "sent to the station", charge_point_id, start, response_url)


async def _note_commanded_start(
    hs: Handshake, partner: RoamingPartner, uid: str, reference: Any
) -> None:
    """The partner's START_SESSION is its yes to the session it starts (§13.3.5): kept as an
    answer of kind COMMAND, so the session names its ``authorization_reference`` and says
    ``auth_method`` COMMAND (``realtime.session_authorization``), and the station's start
    does not ask the eMSP again."""
    if reference is not None and (not isinstance(reference, str) or not 0 < len(reference) <= 36):
        raise InvalidInputError(
            "authorization_reference must be 1-36 characters", field="authorization_reference"
        )
    answer = IssuerAnswer(
        uid, partner.id, hs.clock.now(), Allowed.ALLOWED, reference, kind=AnswerKind.COMMAND
    )
    async with hs.uows() as uow:
        await uow.roaming.add_answer(answer)
        await uow.commit()


def _running(run: Carrying, response_url: str) -> CommandPlan:
    return CommandPlan("ACCEPTED", "sent to the station", response_url=response_url, run=run)


def _moment(body: Mapping[str, Any], name: str) -> datetime:
    """§16.2 DateTime: RFC 3339 in UTC."""
    value = body.get(name)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{name} must be an RFC 3339 date-time", field=name) from None
    if moment.tzinfo is None:
        raise InvalidInputError(f"{name} must say its time zone (UTC: Z)", field=name)
    return moment


async def _plan_stop(
    hs: Handshake, partner: RoamingPartner, session_id: str, response_url: str
) -> CommandPlan:
    try:
        wanted = uuid.UUID(session_id)
    except ValueError:
        return CommandPlan("UNKNOWN_SESSION", f"no session {session_id}")
    async with hs.uows() as uow:
        session = await uow.sessions.get(wanted)
        station = None if session is None else await uow.stations.get(session.station_id)
    if (
        session is None
        or station is None
        or partner.account_id is None
        or session.account_id != partner.account_id
        or session.status is not SessionStatus.ACTIVE
    ):
        return CommandPlan("UNKNOWN_SESSION", f"no running session {session_id} of yours")
    stop = StationCommand(CommandKind.REMOTE_STOP, transaction_ref=session.transaction_ref)
    return CommandPlan(
        "ACCEPTED", "sent to the station", station.charge_point_id, stop, response_url
    )


async def _find_evse(
    hs: Handshake, rates: VatRates, location_id: str, evse_uid: str | None
) -> tuple[str, int, uuid.UUID] | None:
    """The station (charge point id), EVSE number and station id of a published EVSE (the
    first one when none is named)."""
    try:
        site_id = uuid.UUID(location_id)
    except ValueError:
        return None
    async with hs.uows() as uow:
        found = await published_locations(uow, hs.clock, rates, [site_id])
    for location in found:
        for station in location.stations:
            for evse in station.evses:
                uid = evse.evse.evse_uid or str(evse.evse.id)
                if evse_uid is None or uid == evse_uid:
                    found_station = station.station
                    return found_station.charge_point_id, evse.evse.evse_id, found_station.id
    return None


async def carry_out(
    hs: Handshake, bus: CommandBus, locks: Locks, partner: RoamingPartner, plan: CommandPlan
) -> str:
    """Send the accepted command to the station (or run it) and POST its result (§13.3.4);
    the result sent is returned. A partner that cannot be reached is logged: the station has
    acted."""
    if not plan.accepted or plan.response_url is None:
        raise ValueError("only an accepted command is carried out")
    try:
        if plan.run is not None:
            word, detail = await plan.run(bus, locks), None
        elif plan.charge_point_id is not None and plan.station_command is not None:
            answer = await bus.send(plan.charge_point_id, plan.station_command, STATION_WAIT_S)
            word, detail = answer.status, answer.detail
        else:
            raise ValueError("an accepted command names its station")
    except StationRefusedError as exc:  # a reservation the station did not take
        word, detail = exc.station_status, exc.message
    except ChargeledgerError as exc:  # station_offline, station_timeout, ours
        word, detail = exc.code, exc.message
    result = _RESULTS.get(word, "FAILED")
    said = f"{word}: {detail or ''}"[:512]
    body = {"result": result, "message": [{"language": "en", "text": said}]}
    if partner.outgoing_token is None:
        log.warning("command result not sent: %s is no longer registered", partner.party)
        return result
    try:
        await hs.peer.send("POST", plan.response_url, hs.box.open(partner.outgoing_token), body)
    except ChargeledgerError:
        log.exception("command result not delivered to %s", partner.party)
    return result
