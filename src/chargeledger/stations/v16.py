"""OCPP 1.6J central-system handlers (OCPP 1.6 edition 2, §4 and §5)."""

from __future__ import annotations

import functools
import json
from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, RegistrationStatus

from chargeledger.domain.charging import ReadingContext
from chargeledger.domain.station_link import (
    CommandKind,
    CommandResult,
    ConnectorState,
    ResetType,
    SignedMeterValue,
    StationCommand,
)
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.charging.authorization import (
    Authorization,
    AuthorizationStatus,
    authorize_token,
)
from chargeledger.services.charging.station_messages import open_session_on, session_of_transaction
from chargeledger.services.charging.station_status import (
    record_boot,
    record_connector_status,
)
from chargeledger.services.payments.session_follow_up import after_start_or_stop, record_samples
from chargeledger.stations.charging_states import charging_state_16
from chargeledger.stations.link import ExactlyOnce, handles
from chargeledger.stations.meter_key_reading import (
    configuration_request,
    read_meter_keys,
    readings_from_configuration,
)
from chargeledger.stations.values import meter_samples, number, wire_time
from chargeledger.stations.values import timestamp as parse_time


def _id_tag_info(auth: Authorization) -> dict[str, Any]:
    # 1.6 has no NoCredit (2.0.1 only): a known token that may not charge now is Blocked.
    status = "Blocked" if auth.status is AuthorizationStatus.NO_CREDIT else auth.status.value
    info: dict[str, Any] = {"status": status}
    if auth.expires_at is not None:
        info["expiryDate"] = wire_time(auth.expires_at)
    return info


class CentralSystem16(ExactlyOnce, ChargePoint16):  # type: ignore[misc]
    """Error codes are spelled as OCPP-J 1.6 §4.2.3 has them (``stations/frames.py``)."""

    _known_actions = frozenset(a.value for a in Action)

    @handles(Action.boot_notification)
    async def on_boot(
        self, charge_point_vendor: str, charge_point_model: str, **details: Any
    ) -> call_result.BootNotification:
        """1.6 §4.2; once accepted, the station is asked for its meters' keys (after the
        answer, in the background: ``stations/meter_key_reading.py``)."""
        serial = details.get("meter_serial_number")
        firmware = details.get("firmware_version")
        epoch = await record_boot(
            self.uow, self.runtime.clock, self.station, "1.6", firmware, serial
        )
        self.after_answer(
            functools.partial(
                read_meter_keys, self, configuration_request, readings_from_configuration, serial
            )
        )
        return call_result.BootNotification(
            **self.accept_boot(epoch), status=RegistrationStatus.accepted
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=await self.beat())

    @handles(Action.status_notification)
    async def on_status(
        self, connector_id: int, error_code: str, status: str, **details: Any
    ) -> call_result.StatusNotification:
        reported = details.get("timestamp")
        at = parse_time(reported) if reported else self.runtime.clock.now()
        error = None if error_code == "NoError" else error_code
        state = ConnectorState(self.station.id, connector_id, 1, status, at, error)
        charging = charging_state_16(status)
        await record_connector_status(
            self.uow, self.runtime.clock, self.station, state, charging, self.runtime.roaming.view
        )
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        auth = await authorize_token(
            self.uow, self.runtime.clock, id_tag, wallet_floor=self.wallet_floor
        )
        return call_result.Authorize(id_tag_info=_id_tag_info(auth))

    @handles(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **details: Any
    ) -> call_result.StartTransaction:
        auth = await authorize_token(
            self.uow, self.runtime.clock, id_tag, wallet_floor=self.wallet_floor
        )
        request = capture.StartRequest(
            evse_id=connector_id,
            connector_id=1,
            id_tag=id_tag.upper(),
            started_at=parse_time(timestamp),
            meter_start_wh=number(meter_start, "meterStart"),
            reservation_number=details.get("reservation_id"),
        )
        session = await capture.start_session(self.uow, self.runtime.clock, self.station, request)
        self.held_sessions.stage(session)
        self.after_commit(*await after_start_or_stop(self.uow, self.runtime.payments, session))
        return call_result.StartTransaction(
            transaction_id=int(session.transaction_ref), id_tag_info=_id_tag_info(auth)
        )

    @handles(Action.meter_values)
    async def on_meter_values(
        self,
        connector_id: int,
        meter_value: list[dict[str, Any]],
        transaction_id: int | None = None,
    ) -> call_result.MeterValues:
        samples, signed = meter_samples(meter_value)
        if transaction_id is not None:
            ref = str(transaction_id)
            session = self.held_sessions.get(ref) or await session_of_transaction(
                self.uow, self.station.id, ref
            )
        else:
            session = await open_session_on(self.uow, self.station.id, connector_id)
        if session is not None:
            clock, payments = self.runtime.clock, self.runtime.payments
            jobs, session = await record_samples(
                self.uow, clock, payments, session, samples, signed
            )
            self.held_sessions.stage(session)
            self.after_commit(*jobs)
        elif transaction_id is not None:
            raise _unknown_transaction(transaction_id)
        return call_result.MeterValues()

    @handles(Action.stop_transaction)
    async def on_stop(
        self, meter_stop: int, timestamp: str, transaction_id: int, **details: Any
    ) -> call_result.StopTransaction:
        samples, signed = meter_samples(details.get("transaction_data") or [])
        id_tag = details.get("id_tag")
        reason = details.get("reason") or "Local"
        session = await session_of_transaction(self.uow, self.station.id, str(transaction_id))
        clock, stopped_at, meter_stop_wh = (
            self.runtime.clock,
            parse_time(timestamp),
            number(meter_stop, "meterStop"),
        )
        if session is None:
            session = await capture.stop_unknown_transaction(
                self.uow,
                clock,
                self.station,
                transaction_ref=str(transaction_id),
                stopped_at=stopped_at,
                meter_stop_wh=meter_stop_wh,
                reason=reason,
                id_tag=id_tag.upper() if id_tag else None,
                samples=samples,
            )
        else:
            session = await capture.stop_session(
                self.uow,
                clock,
                session,
                stopped_at=stopped_at,
                meter_stop_wh=meter_stop_wh,
                reason=reason,
                samples=samples,
            )
        session = await capture.keep_signed_values(self.uow, clock, session, signed)
        self.held_sessions.stage(session)  # closed: no longer held once this commits
        self.after_commit(*await after_start_or_stop(self.uow, self.runtime.payments, session))
        if not id_tag:
            return call_result.StopTransaction()
        auth = await authorize_token(self.uow, clock, id_tag, wallet_floor=self.wallet_floor)
        return call_result.StopTransaction(id_tag_info=_id_tag_info(auth))

    @handles(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **details: Any) -> call_result.DataTransfer:
        """Signed meter data sent by DataTransfer (a vendor convention in 1.6): ``data`` is
        JSON with ``transactionId`` and ``signedMeterData`` (an OCMF string), optionally the
        meter's ``publicKey``."""
        try:
            body = json.loads(details.get("data") or "")
            ref = str(body["transactionId"])
            data = str(body["signedMeterData"])
            key = body.get("publicKey")
        except (ValueError, KeyError, TypeError, AttributeError):
            return call_result.DataTransfer(status="UnknownMessageId")
        session = await session_of_transaction(self.uow, self.station.id, ref)
        if session is None:
            return call_result.DataTransfer(status="Rejected")
        value = SignedMeterValue(
            timestamp=self.runtime.clock.now(),
            context=ReadingContext.TRANSACTION_END,
            format="OCMF" if data.startswith("OCMF|") else "other",
            data=data,
            public_key=str(key) if key else None,
        )
        await capture.keep_signed_values(self.uow, self.runtime.clock, session, [value])
        return call_result.DataTransfer(status="Accepted")

    # --- operator-initiated (§5) ---------------------------------------------------------

    async def execute(self, command: StationCommand) -> CommandResult:
        payload = _outgoing(command)
        answer = await self.ask(payload)
        return CommandResult(status=str(getattr(answer, "status", "Accepted")))


def _unknown_transaction(transaction_id: int) -> PropertyConstraintViolationError:
    return PropertyConstraintViolationError(
        description=f"transaction {transaction_id} is not known to the central system"
    )


def _outgoing(command: StationCommand) -> Any:
    kind = command.kind
    if kind is CommandKind.REMOTE_START:
        return call.RemoteStartTransaction(
            id_tag=command.id_tag or "", connector_id=command.evse_id
        )
    if kind is CommandKind.REMOTE_STOP:
        return call.RemoteStopTransaction(transaction_id=int(command.transaction_ref or 0))
    if kind is CommandKind.RESERVE_NOW:
        assert command.expires_at is not None
        return call.ReserveNow(
            connector_id=command.evse_id or 0,
            expiry_date=wire_time(command.expires_at),
            id_tag=command.id_tag or "",
            reservation_id=command.reservation_id or 0,
        )
    if kind is CommandKind.CANCEL_RESERVATION:
        return call.CancelReservation(reservation_id=command.reservation_id or 0)
    if kind is CommandKind.CHANGE_AVAILABILITY:
        return call.ChangeAvailability(
            connector_id=command.evse_id or 0,
            type="Operative" if command.operative else "Inoperative",
        )
    if kind is CommandKind.RESET:  # §5.14: the whole charge point restarts
        return call.Reset(type="Hard" if command.reset_type is ResetType.HARD else "Soft")
    if kind is CommandKind.UNLOCK_CONNECTOR:  # §5.18: 1.6 numbers the connector as the EVSE
        return call.UnlockConnector(connector_id=command.evse_id or 0)
    return call.TriggerMessage(
        requested_message=command.message or "StatusNotification", connector_id=command.evse_id
    )
