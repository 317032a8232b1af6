"""OCPP 2.0.1 CSMS handlers (OCPP 2.0.1 Part 2: B01 boot, G02 heartbeat, G01 status,
C01 authorize, E01-E15 transactions, J01 meter values, F01/F03 remote start/stop, H01 reserve,
B11/B12 reset)."""

from __future__ import annotations

import functools
import itertools
from datetime import datetime
from typing import Any

from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action, RegistrationStatusEnumType

from chargeledger.domain.station_link import (
    CommandKind,
    CommandResult,
    ConnectorState,
    ResetType,
    StationCommand,
    TransactionEvent,
)
from chargeledger.services.charging.authorization import Authorization, authorize_token
from chargeledger.services.charging.station_messages import open_session_on
from chargeledger.services.charging.station_status import (
    record_boot,
    record_clock_offset,
    record_connector_status,
)
from chargeledger.services.charging.transaction_events import EventReport, apply_transaction_event
from chargeledger.services.payments.session_follow_up import (
    after_samples,
    after_start_or_stop,
    record_samples,
)
from chargeledger.stations.charging_states import charging_state_201
from chargeledger.stations.link import ExactlyOnce, handles
from chargeledger.stations.meter_key_reading import (
    read_meter_keys,
    readings_from_variables,
    variables_request,
)
from chargeledger.stations.values import meter_samples, wire_time
from chargeledger.stations.values import timestamp as parse_time

CLOCK_OFFSET_TOLERANCE_S = 5
_remote_start_ids = itertools.count(1)


def _id_token_info(auth: Authorization) -> dict[str, Any]:
    info: dict[str, Any] = {"status": auth.status.value}
    if auth.expires_at is not None:
        info["cacheExpiryDateTime"] = wire_time(auth.expires_at)
    return info


class Csms201(ExactlyOnce, ChargePoint201):  # type: ignore[misc]
    _known_actions = frozenset(a.value for a in Action)

    @handles(Action.boot_notification)
    async def on_boot(
        self, charging_station: dict[str, Any], reason: str, **_: Any
    ) -> call_result.BootNotification:
        """B01; once accepted, the station is asked for its fiscal meters' keys (after the
        answer, in the background: ``stations/meter_key_reading.py``)."""
        firmware = charging_station.get("firmware_version")
        epoch = await record_boot(self.uow, self.runtime.clock, self.station, "2.0.1", firmware)
        self.after_answer(
            functools.partial(
                read_meter_keys, self, variables_request, readings_from_variables, None
            )
        )
        return call_result.BootNotification(
            **self.accept_boot(epoch), status=RegistrationStatusEnumType.accepted
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=await self.beat())

    @handles(Action.status_notification)
    async def on_status(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_: Any
    ) -> call_result.StatusNotification:
        state = ConnectorState(
            self.station.id, evse_id, connector_id, connector_status, parse_time(timestamp)
        )
        await record_connector_status(
            self.uow, self.runtime.clock, self.station, state, roaming=self.runtime.roaming.view
        )
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        auth = await authorize_token(
            self.uow, self.runtime.clock, str(id_token["id_token"]), wallet_floor=self.wallet_floor
        )
        return call_result.Authorize(id_token_info=_id_token_info(auth))

    @handles(Action.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **details: Any,
    ) -> call_result.TransactionEvent:
        at = parse_time(timestamp)
        offline = bool(details.get("offline", False))
        if not offline:
            await self._note_clock_offset(at)
        samples, signed = meter_samples(details.get("meter_value") or [])
        evse = details.get("evse") or {}
        token = details.get("id_token") or {}
        id_tag = str(token["id_token"]).upper() if token.get("id_token") else None
        report = EventReport(
            transaction_ref=str(transaction_info["transaction_id"]),
            event=TransactionEvent(seq_no, event_type, at, trigger_reason, offline),
            evse_id=evse.get("id"),
            connector_id=evse.get("connector_id"),
            id_tag=id_tag,
            charging_state=charging_state_201(transaction_info.get("charging_state")),
            stopped_reason=transaction_info.get("stopped_reason"),
            samples=samples,
            signed_values=signed,
        )
        held = self.held_sessions.get(report.transaction_ref)
        session = await apply_transaction_event(
            self.uow, self.runtime.clock, self.station, report, held
        )
        self.held_sessions.stage(session)
        payments = self.runtime.payments
        if session.is_open and event_type != "Started":  # Updated: the hot path
            self.after_commit(*await after_samples(self.uow, payments, session))
        else:
            self.after_commit(*await after_start_or_stop(self.uow, payments, session))
        if id_tag is None:
            return call_result.TransactionEvent()
        auth = await authorize_token(
            self.uow, self.runtime.clock, id_tag, wallet_floor=self.wallet_floor
        )
        return call_result.TransactionEvent(id_token_info=_id_token_info(auth))

    async def _note_clock_offset(self, station_time: datetime) -> None:
        """How far the station's clock is off ours, from live (not replayed) events; stored
        only when it moves by more than the tolerance, to keep it off the hot path."""
        offset = int((station_time - self.runtime.clock.now()).total_seconds())
        known = getattr(self, "_clock_offset", None)
        if known is None or abs(offset - known) > CLOCK_OFFSET_TOLERANCE_S:
            self._clock_offset = offset
            await record_clock_offset(self.uow, self.runtime.clock, self.station, offset)

    @handles(Action.meter_values)
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call_result.MeterValues:
        """J01: meter values outside a TransactionEvent belong to the EVSE's open session."""
        samples, signed = meter_samples(meter_value)
        session = await open_session_on(self.uow, self.station.id, evse_id)
        if session is not None:
            clock, payments = self.runtime.clock, self.runtime.payments
            jobs, session = await record_samples(
                self.uow, clock, payments, session, samples, signed
            )
            self.held_sessions.stage(session)
            self.after_commit(*jobs)
        return call_result.MeterValues()

    async def execute(self, command: StationCommand) -> CommandResult:
        answer = await self.ask(_outgoing(command))
        return CommandResult(status=str(getattr(answer, "status", "Accepted")))


def _id_token(command: StationCommand) -> dict[str, str]:
    return {"idToken": command.id_tag or "", "type": "Central"}


def _outgoing(command: StationCommand) -> Any:
    kind = command.kind
    if kind is CommandKind.REMOTE_START:
        return call.RequestStartTransaction(
            id_token=_id_token(command),
            remote_start_id=next(_remote_start_ids),
            evse_id=command.evse_id,
        )
    if kind is CommandKind.REMOTE_STOP:
        return call.RequestStopTransaction(transaction_id=command.transaction_ref or "")
    if kind is CommandKind.RESERVE_NOW:
        assert command.expires_at is not None
        return call.ReserveNow(
            id=command.reservation_id or 0,
            expiry_date_time=wire_time(command.expires_at),
            id_token=_id_token(command),
            evse_id=command.evse_id,
        )
    if kind is CommandKind.CANCEL_RESERVATION:
        return call.CancelReservation(reservation_id=command.reservation_id or 0)
    if kind is CommandKind.CHANGE_AVAILABILITY:
        return call.ChangeAvailability(
            operational_status="Operative" if command.operative else "Inoperative",
            evse={"id": command.evse_id} if command.evse_id else None,
        )
    if kind is CommandKind.RESET:  # B11/B12: hard is Immediate, soft waits until idle
        return call.Reset(
            type="Immediate" if command.reset_type is ResetType.HARD else "OnIdle",
            evse_id=command.evse_id,
        )
    if kind is CommandKind.UNLOCK_CONNECTOR:  # F05
        return call.UnlockConnector(
            evse_id=command.evse_id or 0, connector_id=command.connector_id or 1
        )
    return call.TriggerMessage(
        requested_message=command.message or "StatusNotification",
        evse={"id": command.evse_id} if command.evse_id else None,
    )
