"""Asking a booting station for its meters' public keys (issue 15), in the background.

Where stations keep them (OCA application note "Signed Meter Values in OCPP" v1.0,
2025-02-10; ``domain/configured_keys.py``):

- OCPP 1.6: GetConfiguration (1.6 §5.8) of ``MeterPublicKey<connectorId>`` (the note §3.3.1,
  read-only; EVerest's libocpp answers it so today) for each EVSE the catalog lists, which
  1.6 addresses as a connector here. libocpp before 2024 spelled it ``MeterPublicKey[<id>]``,
  so that is asked too: a key a station does not have only comes back in ``unknownKey``. Not
  asked: libocpp's ``MeterPublicKeys`` (its internal store, which it answers as the
  per-connector keys) and a bare ``MeterPublicKey`` (the note names the per-connector key
  only; libocpp answers it as unknown).
- OCPP 2.0.1: GetVariables (Part 2 B06) of ``FiscalMetering`` ``PublicKey`` (the note §4.3.2;
  OCPP 2.1 Part 2 §2.9.26) and ``SerialNumber`` instance ``Meter`` (2.0.1 Part 2 Appendix
  §3.2.32) at the station tier and at each EVSE.

Nothing here delays the BootNotification's answer or ends the connection: the request goes out
after the answer (``ExactlyOnce.after_answer``); a CALLERROR, an answer we cannot read, unknown
keys or no answer at all (the library's response timeout, or the station leaving) record
nothing, and each outcome is logged (``meter_key_read`` on the record: ``recorded``, ``none``,
``refused``, ``no_answer`` or ``failed``).
"""

from __future__ import annotations

import logging
import re
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargeledger.bootstrap import Runtime
from chargeledger.domain.configured_keys import KeyReading
from chargeledger.errors import ConflictError
from chargeledger.services.batching import Batcher
from chargeledger.services.charging.configured_keys import (
    meter_key_places_of,
    record_configured_keys,
)
from chargeledger.services.transactions import in_transaction
from chargeledger.stations.link import ExactlyOnce

log = logging.getLogger("chargeledger.stations")

FISCAL_METERING = "FiscalMetering"
PUBLIC_KEY, SERIAL_NUMBER, METER = "PublicKey", "SerialNumber", "Meter"
_KEY_NAME = re.compile(r"MeterPublicKey(?:(\d+)|\[(\d+)\])")

Readings = Callable[[Any], list[KeyReading]]
Request = Callable[[tuple[int, ...]], Any]  # the request that asks about these EVSEs


def configuration_request(evse_ids: Iterable[int]) -> call16.GetConfiguration:
    """OCPP 1.6 GetConfiguration.req of both spellings of each EVSE's key."""
    keys = [
        name for evse in evse_ids for name in (f"MeterPublicKey{evse}", f"MeterPublicKey[{evse}]")
    ]
    return call16.GetConfiguration(key=keys)


def readings_from_configuration(answer: Any) -> list[KeyReading]:
    """The keys of a GetConfiguration.conf: every ``MeterPublicKey<n>`` with a value, connector
    0 (the charge point as a whole, 1.6 §7.17) read as the station tier."""
    readings = []
    for entry in answer.configuration_key or []:
        name, value = entry.get("key"), entry.get("value")
        matched = _KEY_NAME.fullmatch(name) if isinstance(name, str) else None
        if matched is None or not isinstance(value, str) or not value.strip():
            continue
        connector = int(matched.group(1) or matched.group(2))
        readings.append(KeyReading(connector or None, value, name))
    return readings


def variables_request(evse_ids: Iterable[int]) -> call201.GetVariables:
    """OCPP 2.0.1 GetVariablesRequest: the fiscal meter's key and serial, station tier first."""
    tiers: list[dict[str, Any]] = [{"name": FISCAL_METERING}]
    tiers += [{"name": FISCAL_METERING, "evse": {"id": evse}} for evse in evse_ids]
    variables = [{"name": PUBLIC_KEY}, {"name": SERIAL_NUMBER, "instance": METER}]
    return call201.GetVariables(
        get_variable_data=[{"component": c, "variable": v} for c in tiers for v in variables]
    )


def readings_from_variables(answer: Any) -> list[KeyReading]:
    """The keys of a GetVariablesResponse: each tier's accepted ``PublicKey`` with the same
    tier's accepted ``SerialNumber[Meter]``."""
    keys: dict[int | None, str] = {}
    serials: dict[int | None, str] = {}
    for result in answer.get_variable_result or []:
        component, variable = result.get("component") or {}, result.get("variable") or {}
        value = result.get("attribute_value")
        accepted = result.get("attribute_status") == "Accepted"
        if not accepted or component.get("name") != FISCAL_METERING or not value:
            continue
        tier = (component.get("evse") or {}).get("id") or None
        if variable.get("name") == PUBLIC_KEY and not variable.get("instance"):
            keys[tier] = str(value)
        elif variable.get("name") == SERIAL_NUMBER and variable.get("instance") == METER:
            serials[tier] = str(value)
    return [
        KeyReading(tier, key, _variable_name(tier), serials.get(tier)) for tier, key in keys.items()
    ]


async def read_meter_keys(
    link: ExactlyOnce, request_of: Request, readings_of: Readings, boot_serial: str | None
) -> None:
    """Ask, read the answer, and record what it states in a transaction of its own. Which
    EVSEs to ask about is read here, read-only, not in the BootNotification's transaction: in a
    reconnect storm that transaction is shared with thousands of boots and holds the writer;
    and read with the other boots of the moment, in one query (``services.batching``)."""
    cpid = link.id
    try:
        places = await _places(link.runtime).submit(link.station.id)
        readings = readings_of(await link.ask(request_of(places)))
    except ConflictError as refused:  # a CALLERROR, or an answer the library refused
        _logged(cpid, "refused", "station %s did not tell its meter keys: %s", refused.message)
        return
    except TimeoutError:
        _logged(cpid, "no_answer", "station %s did not answer for its meter keys", None)
        return
    except Exception as failed:  # an answer we cannot take apart, or the station went away
        _logged(cpid, "failed", "asking station %s for its meter keys failed: %r", failed)
        return
    if not readings:
        _logged(cpid, "none", "station %s states no meter key in its configuration", None)
        return
    link.runtime.spawn(_record(link.runtime, link, readings, boot_serial))


async def _record(
    runtime: Runtime, link: ExactlyOnce, readings: list[KeyReading], boot_serial: str | None
) -> None:
    changes = await in_transaction(
        runtime.uow, record_configured_keys, runtime.clock, link.station.id, readings, boot_serial
    )
    _logged(
        link.id,
        "recorded",
        "station %s states %s",
        f"{len(readings)} meter key value(s): {len(changes.added)} new reported key(s), "
        f"{len(changes.retired)} retired",
    )


_places_of: weakref.WeakKeyDictionary[object, Batcher[uuid.UUID, tuple[int, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _places(runtime: Runtime) -> Batcher[uuid.UUID, tuple[int, ...]]:
    """The EVSEs to ask booting stations about, read for many stations at once."""
    places = _places_of.get(runtime.uow)
    if places is None:
        uows = runtime.uow

        async def read(station_ids: Sequence[uuid.UUID]) -> list[tuple[int, ...]]:
            async with uows(read_only=True) as uow:
                return await meter_key_places_of(uow, station_ids)

        places = _places_of[uows] = Batcher(read)
    return places


def _variable_name(tier: int | None) -> str:
    return (
        f"{FISCAL_METERING}.{PUBLIC_KEY}"
        if tier is None
        else (f"{FISCAL_METERING}[EVSE {tier}].{PUBLIC_KEY}")
    )


def _logged(cpid: str, outcome: str, message: str, detail: object) -> None:
    arguments = (cpid,) if detail is None else (cpid, detail)
    log.info(message, *arguments, extra={"charge_point_id": cpid, "meter_key_read": outcome})
