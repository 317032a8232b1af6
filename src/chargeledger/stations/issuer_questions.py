"""Asking a roaming token's eMSP before the station's message is applied (OCPI 2.2.1
§12.2.1.2, ``services.roaming.realtime``): the messages that authorise a token are found here,
and the question goes out before the message's transaction opens, so no transaction (and, on
SQLite, no writer) waits on another platform.

The messages: OCPP 1.6 Authorize and StartTransaction (§4.2, §4.8: ``idTag``), and 2.0.1
Authorize and a TransactionEvent that starts a transaction or reports an authorisation
(C01, E01/E02: ``idToken``, eventType Started or triggerReason Authorized). A stop's idTag is
not asked about: the charge is over, and its idTagInfo changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.messages import Call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.services.roaming.realtime import ask_issuer

log = logging.getLogger("chargeledger.stations")


def authorised_tag(call: Call) -> str | None:
    """The idTag (1.6) or idToken (2.0.1) ``call`` authorises, if it authorises one."""
    payload: Any = call.payload
    if not isinstance(payload, dict):
        return None
    if call.action in ("Authorize", "StartTransaction") and "idTag" in payload:
        tag = payload.get("idTag")
    elif call.action == "Authorize" or (
        call.action == "TransactionEvent"
        and (payload.get("eventType") == "Started" or payload.get("triggerReason") == "Authorized")
    ):
        token = payload.get("idToken")
        tag = token.get("idToken") if isinstance(token, dict) else None
    else:
        return None
    return tag if isinstance(tag, str) and tag else None


async def ask_issuer_first(runtime: Runtime, station: Station, call: Call) -> None:
    """Ask the eMSP of the token ``call`` authorises, when it is a roaming token that wants
    asking. A failure here is logged, never the station's: without an answer the message's
    own check refuses a token that must be asked, and lets one through that need not be."""
    tag = authorised_tag(call)
    if tag is None:
        return
    try:
        await ask_issuer(runtime.roaming, tag, station.id)
    except Exception:
        log.exception("asking a token's eMSP failed", extra={"station": station.charge_point_id})
