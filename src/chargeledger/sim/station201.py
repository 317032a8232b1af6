"""An OCPP 2.0.1 charging station (client role) on the ``ocpp`` library.

Transactions are reported with TransactionEvent (2.0.1 Part 2 §E): Started/Updated/Ended with a
seqNo that increases by one per transaction (so the CSMS can spot gaps and repeats), the station's
own transactionId (a UUID drawn from the seeded generator, so reruns reproduce it) and
``offline: true`` on every event that happened while the station was disconnected (§E04).
"""

from __future__ import annotations

import base64
from typing import Any

from ocpp.v201 import ChargePoint as OcppChargePoint
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from chargeledger.domain.charging import Measurand, ReadingContext
from chargeledger.sim.client import StationClient
from chargeledger.sim.curves import currents
from chargeledger.sim.faults import reported_start
from chargeledger.sim.frames import after_action, on_action
from chargeledger.sim.live import EvseRuntime, Live
from chargeledger.sim.model import EvseSpec, TokenSpec, TokenType
from chargeledger.sim.plan import DuplicateTarget, StopReason
from chargeledger.sim.station import Station

RFID_TYPES = ("ISO14443", "ISO15693")

# 2.0.1 TriggerReasonEnumType / ChargingStateEnumType for each way a session ends.
END_TRIGGER = {
    StopReason.EV_DISCONNECTED: ("EVDeparted", "Idle"),
    StopReason.LOCAL: ("StopAuthorized", "EVConnected"),
    StopReason.REMOTE: ("RemoteStop", "EVConnected"),
}


def id_token(token: TokenSpec) -> dict[str, str]:
    """IdTokenType (2.0.1 Part 2): RFID cards are ISO14443, app starts are Central."""
    kind = "ISO14443" if token.type is TokenType.RFID else "Central"
    return {"id_token": token.uid, "type": kind}


class Client201(StationClient, OcppChargePoint):  # type: ignore[misc]
    """Answers the CSMS-initiated 2.0.1 CALLs; remote start/stop really act."""

    @on_action(Action.request_start_transaction)
    def on_request_start(
        self, remote_start_id: int, evse_id: int | None = None, call_unique_id: str = "", **_: Any
    ) -> Any:
        """2.0.1 §F01: Accepted when an EVSE is free; the transaction starts after the answer."""
        accepted = self.claim(evse_id, call_unique_id)
        return call_result.RequestStartTransaction(status="Accepted" if accepted else "Rejected")

    @after_action(Action.request_start_transaction)
    def after_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, call_unique_id: str = "", **_: Any
    ) -> None:
        evse = self.claimed(call_unique_id)
        if evse is not None:
            rfid = str(id_token.get("type")) in RFID_TYPES
            token = TokenSpec(str(id_token["id_token"]), TokenType.RFID if rfid else TokenType.APP)
            self.station.start_remote(evse, token, remote_start_id)

    @on_action(Action.request_stop_transaction)
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        """2.0.1 §F03: Accepted for a transaction running here."""
        return call_result.RequestStopTransaction(status=self.stop_status(transaction_id))

    @after_action(Action.request_stop_transaction)
    def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        self.station.remote_stop(transaction_id)

    @on_action(Action.reserve_now)
    def on_reserve_now(self, id: int, **kwargs: Any) -> Any:
        return self.reserve(id, kwargs)

    @after_action(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self.station.trigger(requested_message, None if evse is None else int(evse["id"]))

    @on_action(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        """2.0.1 B06: each EVSE's ``FiscalMetering`` states the meter's ``PublicKey`` (OCA note
        "Signed Meter Values in OCPP" §4.3.2) and ``SerialNumber[Meter]`` (Part 2 Appendix
        §3.2.32); the station tier and other components are unknown here."""
        return call_result.GetVariables(
            get_variable_result=[self.variable(item) for item in get_variable_data]
        )

    def variable(self, item: dict[str, Any]) -> dict[str, Any]:
        component, variable = item["component"], item["variable"]
        result = {"component": component, "variable": variable}
        evse = (component.get("evse") or {}).get("id")
        if component.get("name") != "FiscalMetering" or evse not in self.station.evses:
            return {**result, "attribute_status": "UnknownComponent"}
        key, meter = self.stated_meter_key(), self.station.meter
        values: dict[tuple[str, str | None], str | None] = {("PublicKey", None): key}
        if key is not None and meter is not None:
            values[("SerialNumber", "Meter")] = meter.serial
        value = values.get((variable.get("name"), variable.get("instance")))
        if value is None:
            return {**result, "attribute_status": "UnknownVariable"}
        return {**result, "attribute_status": "Accepted", "attribute_value": value}


class Station201(Station):
    subprotocol = "ocpp2.0.1"

    def make_client(self, ws: Any) -> Any:
        return Client201(self, ws)

    def boot_payload(self) -> Any:
        """2.0.1 §B01: PowerUp at the first boot, Unknown after a reconnect."""
        return call.BootNotification(
            charging_station={"model": "SimCharger", "vendor_name": "chargeledger-sim"},
            reason="PowerUp" if self.boots == 0 else "Unknown",
        )

    def heartbeat_payload(self) -> Any:
        return call.Heartbeat()

    def status_payload(self, evse: EvseSpec, status: str, t: int) -> Any:
        return call.StatusNotification(
            timestamp=self.stamp(t),
            connector_status=status,
            evse_id=evse.evse_id,
            connector_id=evse.connector_id,
        )

    def _event(self, live: Live, kind: str, t: int, trigger: str, **fields: Any) -> Any:
        info: dict[str, Any] = {"transaction_id": live.plan.transaction_uid}
        info.update(fields.pop("info", {}))
        return call.TransactionEvent(
            event_type=kind,
            timestamp=self.stamp(t),
            trigger_reason=trigger,
            seq_no=live.next_seq(),
            transaction_info=info,
            offline=True if self.is_offline_at(t) else None,
            **fields,
        )

    def send_begin(self, live: Live, t: int) -> None:
        plan = live.plan
        remote = plan.remote_start_id is not None
        if plan.token.type is TokenType.RFID and not remote:
            self.queue(call.Authorize(id_token=id_token(plan.token)))
        self.send_status(plan.evse, "Occupied", t)
        info: dict[str, Any] = {"charging_state": "Charging"}
        if remote:
            info["remote_start_id"] = plan.remote_start_id
        begin = reported_start(plan, live.meter_start_wh)
        event = self._event(
            live,
            "Started",
            t,
            "RemoteStart" if remote else "Authorized",
            info=info,
            id_token=id_token(plan.token),
            evse={"id": plan.evse.evse_id, "connector_id": plan.evse.connector_id},
            meter_value=[
                meter_value(self.stamp(t), [register(begin, ReadingContext.TRANSACTION_BEGIN)])
            ],
        )
        self.queue(event, live=live, duplicate=plan.duplicate_target is DuplicateTarget.START)

    def send_sample(self, live: Live, t: int, index: int, sent_wh: int) -> None:
        power, soc = self.measured(live, t)
        state = "Charging" if live.charging else "SuspendedEV"
        values = [
            register(sent_wh, ReadingContext.SAMPLE_PERIODIC),
            *measurements(live.plan.evse, power, soc),
        ]
        event = self._event(
            live,
            "Updated",
            t,
            "MeterValuePeriodic",
            info={"charging_state": state},
            meter_value=[meter_value(self.stamp(t), values)],
        )
        duplicate = live.plan.duplicate_target is DuplicateTarget.METER and index == 0
        self.queue(event, live=live, reorderable=True, duplicate=duplicate)

    def send_suspended(self, live: Live, t: int) -> None:
        """Battery full: chargingState SuspendedEV, trigger ChargingStateChanged (2.0.1 §E)."""
        event = self._event(
            live, "Updated", t, "ChargingStateChanged", info={"charging_state": "SuspendedEV"}
        )
        self.queue(event, live=live)

    def send_end(self, live: Live, t: int, sent_stop_wh: int) -> None:
        reason = live.stop_reason or StopReason.LOCAL
        trigger, state = END_TRIGGER[reason]
        extra: dict[str, Any] = {}
        if reason is StopReason.LOCAL:
            extra["id_token"] = id_token(live.plan.token)
        end = register(sent_stop_wh, ReadingContext.TRANSACTION_END)
        if live.signed_record is not None and self.meter is not None:
            end["signed_meter_value"] = signed_meter_value(
                live.signed_record, self.meter.public_key_hex
            )
        event = self._event(
            live,
            "Ended",
            t,
            trigger,
            info={"charging_state": state, "stopped_reason": reason.value},
            meter_value=[meter_value(self.stamp(t), [end])],
            **extra,
        )

        def ended(result: Any) -> None:
            live.acknowledged = result is not None

        self.queue(
            event,
            live=live,
            duplicate=live.plan.duplicate_target is DuplicateTarget.STOP,
            on_result=ended,
        )

    def transaction_ref(self, live: Live) -> str | None:
        return live.plan.transaction_uid

    def trigger_transaction_message(
        self, requested: str, targets: list[EvseRuntime], now: int
    ) -> None:
        if requested == "MeterValues":
            for evse in targets:
                sample = register(evse.register_wh, ReadingContext.TRIGGER)
                self.queue(
                    call.MeterValues(
                        evse_id=evse.spec.evse_id,
                        meter_value=[meter_value(self.stamp(now), [sample])],
                    )
                )
        elif requested == "TransactionEvent":
            for evse in targets:
                if evse.live is not None:
                    self.queue(self._event(evse.live, "Updated", now, "Trigger"), live=evse.live)


def meter_value(stamp: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    return {"timestamp": stamp, "sampled_value": values}


def register(value_wh: int, context: ReadingContext) -> dict[str, Any]:
    """2.0.1 SampledValueType: numeric value, unit Wh (Part 2 §2.50)."""
    return {
        "value": value_wh,
        "context": context.value,
        "measurand": Measurand.ENERGY_IMPORT_REGISTER.value,
        "location": "Outlet",
        "unit_of_measure": {"unit": "Wh"},
    }


def signed_meter_value(record: str, public_key_hex: str) -> dict[str, str]:
    """2.0.1 Part 2 SignedMeterValueType: base64 of the OCMF text, OCMF's own ``SA``
    names the signing method (so ``signingMethod`` stays empty, as many stations send it),
    and the key as base64 of its DER (sent as if ``PublicKeyWithSignedMeterValue`` were
    on)."""
    return {
        "signed_meter_data": base64.b64encode(record.encode("utf-8")).decode("ascii"),
        "signing_method": "",
        "encoding_method": "OCMF",
        "public_key": base64.b64encode(bytes.fromhex(public_key_hex)).decode("ascii"),
    }


def measurements(evse: EvseSpec, power_w: int, soc: int) -> list[dict[str, Any]]:
    periodic = ReadingContext.SAMPLE_PERIODIC.value
    values: list[dict[str, Any]] = [
        {
            "value": power_w,
            "context": periodic,
            "measurand": Measurand.POWER_IMPORT.value,
            "unit_of_measure": {"unit": "W"},
        }
    ]
    for phase, amps in currents(evse.power_type, power_w):
        item: dict[str, Any] = {
            "value": amps,
            "context": periodic,
            "measurand": Measurand.CURRENT_IMPORT.value,
            "unit_of_measure": {"unit": "A"},
        }
        if phase is not None:
            item["phase"] = phase
        values.append(item)
    values.append(
        {
            "value": soc,
            "context": periodic,
            "measurand": Measurand.SOC.value,
            "location": "EV",
            "unit_of_measure": {"unit": "Percent"},
        }
    )
    return values
