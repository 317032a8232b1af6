"""An OCPP 1.6J charge point (client role) on the ``ocpp`` library.

1.6 has no EVSE level and addresses an EVSE by ``connectorId`` (one connector per EVSE here),
so the EVSE id of the station spec is sent as connectorId. The transactionId is the CSMS's
(StartTransaction.conf, 1.6J §4.8): queued messages of a transaction started offline are built
only once that answer is in.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import ChargePoint as OcppChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargeledger.domain.charging import Measurand, ReadingContext
from chargeledger.sim.client import StationClient
from chargeledger.sim.curves import currents
from chargeledger.sim.faults import reported_start
from chargeledger.sim.frames import after_action, on_action
from chargeledger.sim.link import OutboxItem
from chargeledger.sim.live import EvseRuntime, Live
from chargeledger.sim.model import EvseSpec, TokenSpec, TokenType
from chargeledger.sim.ocmf_meter import meter_serial
from chargeledger.sim.plan import DuplicateTarget, StopReason
from chargeledger.sim.station import Station


class Client16(StationClient, OcppChargePoint):  # type: ignore[misc]
    """Answers the CSMS-initiated 1.6 CALLs; Accepted, and remote start/stop really act."""

    @on_action(Action.remote_start_transaction)
    def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, call_unique_id: str = "", **_: Any
    ) -> Any:
        """1.6J §5.11: Accepted when the connector is free; the session follows the answer."""
        accepted = self.claim(connector_id, call_unique_id)
        return call_result.RemoteStartTransaction(status="Accepted" if accepted else "Rejected")

    @after_action(Action.remote_start_transaction)
    def after_remote_start(self, id_tag: str, call_unique_id: str = "", **_: Any) -> None:
        evse = self.claimed(call_unique_id)
        if evse is not None:
            self.station.start_remote(evse, TokenSpec(id_tag, TokenType.APP), None)

    @on_action(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        """1.6J §5.12: Accepted for a transaction running here."""
        return call_result.RemoteStopTransaction(status=self.stop_status(str(transaction_id)))

    @after_action(Action.remote_stop_transaction)
    def after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        self.station.remote_stop(str(transaction_id))

    @on_action(Action.reserve_now)
    def on_reserve_now(self, reservation_id: int, **kwargs: Any) -> Any:
        return self.reserve(reservation_id, kwargs)

    @after_action(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        self.station.trigger(requested_message, connector_id)

    @on_action(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        """1.6J §5.8: the meter's key as ``MeterPublicKey<connectorId>``, read-only (OCA note
        "Signed Meter Values in OCPP" §3.3.1); every other key asked for is unknown. Asked
        for nothing, it lists what it has."""
        value = self.stated_meter_key()
        known = {} if value is None else {f"MeterPublicKey{e}": value for e in self.station.evses}
        asked = list(known) if key is None else key
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": name, "readonly": True, "value": known[name]}
                for name in asked
                if name in known
            ]
            or None,
            unknown_key=[name for name in asked if name not in known] or None,
        )


class Station16(Station):
    subprotocol = "ocpp1.6"

    def make_client(self, ws: Any) -> Any:
        return Client16(self, ws)

    def boot_payload(self) -> Any:
        """1.6J §4.2: with the serial of the station's meter, the one its OCMF records name."""
        return call.BootNotification(
            charge_point_model="SimCharger",
            charge_point_vendor="chargeledger-sim",
            meter_serial_number=meter_serial(self.options.seed, self.spec.charge_point_id),
        )

    def heartbeat_payload(self) -> Any:
        return call.Heartbeat()

    def status_payload(self, evse: EvseSpec, status: str, t: int) -> Any:
        return call.StatusNotification(
            connector_id=evse.evse_id,
            error_code="NoError",
            status=status,
            timestamp=self.stamp(t),
        )

    def send_begin(self, live: Live, t: int) -> None:
        plan = live.plan
        if plan.token.type is TokenType.RFID:
            self.queue(call.Authorize(id_tag=plan.token.uid))
        self.send_status(plan.evse, "Preparing", t)

        def started(result: Any) -> None:
            if result is not None:
                live.tx_id = int(result.transaction_id)

        self.queue(
            call.StartTransaction(
                connector_id=plan.evse.evse_id,
                id_tag=plan.token.uid,
                meter_start=reported_start(plan, live.meter_start_wh),
                timestamp=self.stamp(t),
            ),
            live=live,
            duplicate=plan.duplicate_target is DuplicateTarget.START,
            on_result=started,
        )
        self.send_status(plan.evse, "Charging", t)

    def send_sample(self, live: Live, t: int, index: int, sent_wh: int) -> None:
        """MeterValues (1.6J §4.7) every interval: register, power, current, SoC as strings."""
        power, soc = self.measured(live, t)
        meter_value = [
            {
                "timestamp": self.stamp(t),
                "sampled_value": sampled_values(live.plan.evse, sent_wh, power, soc),
            }
        ]

        def build() -> Any:
            if live.tx_id is None:
                return None  # StartTransaction was refused: nothing to attach the values to
            return call.MeterValues(
                connector_id=live.plan.evse.evse_id,
                transaction_id=live.tx_id,
                meter_value=meter_value,
            )

        self.link.submit(
            OutboxItem(
                build=build,
                session_key=live.key,
                reorderable=True,
                duplicate=live.plan.duplicate_target is DuplicateTarget.METER and index == 0,
            )
        )

    def send_suspended(self, live: Live, t: int) -> None:
        self.send_status(live.plan.evse, "SuspendedEV", t)

    def send_end(self, live: Live, t: int, sent_stop_wh: int) -> None:
        """StopTransaction (1.6J §4.10) with Transaction.Begin/End register samples and the
        meter's signed record beside the end one (see ``signed_data``)."""
        plan = live.plan
        begin = reported_start(plan, live.meter_start_wh)
        end = [register(sent_stop_wh, ReadingContext.TRANSACTION_END)]
        if live.signed_record is not None:
            end.append(signed_data(live.signed_record))
        data = [
            {
                "timestamp": self.stamp(plan.start_s),
                "sampled_value": [register(begin, ReadingContext.TRANSACTION_BEGIN)],
            },
            {"timestamp": self.stamp(t), "sampled_value": end},
        ]
        reason = live.stop_reason or StopReason.LOCAL
        id_tag = plan.token.uid if reason is StopReason.LOCAL else None

        def build() -> Any:
            if live.tx_id is None:
                return None
            return call.StopTransaction(
                meter_stop=sent_stop_wh,
                timestamp=self.stamp(t),
                transaction_id=live.tx_id,
                reason=reason.value,
                id_tag=id_tag,
                transaction_data=data,
            )

        def stopped(result: Any) -> None:
            live.acknowledged = result is not None

        self.link.submit(
            OutboxItem(
                build=build,
                on_result=stopped,
                session_key=live.key,
                duplicate=plan.duplicate_target is DuplicateTarget.STOP,
            )
        )
        self.send_status(plan.evse, "Finishing", t)

    def transaction_ref(self, live: Live) -> str | None:
        return None if live.tx_id is None else str(live.tx_id)

    def trigger_transaction_message(
        self, requested: str, targets: list[EvseRuntime], now: int
    ) -> None:
        if requested == "MeterValues":
            for evse in targets:
                self.queue(
                    call.MeterValues(
                        connector_id=evse.spec.evse_id,
                        transaction_id=None if evse.live is None else evse.live.tx_id,
                        meter_value=[
                            {
                                "timestamp": self.stamp(now),
                                "sampled_value": [
                                    register(evse.register_wh, ReadingContext.TRIGGER)
                                ],
                            }
                        ],
                    )
                )


def register(value_wh: int, context: ReadingContext) -> dict[str, str]:
    return {
        "value": str(value_wh),
        "context": context.value,
        "measurand": Measurand.ENERGY_IMPORT_REGISTER.value,
        "location": "Outlet",
        "unit": "Wh",
    }


def signed_data(record: str) -> dict[str, str]:
    """1.6J §7 SampledValue with ``format`` SignedData: the plain OCMF text in ``value``, as
    KEBA stations send it (``shared/notes/ocmf-notes.md`` §3); 1.6 has no field for the key."""
    return {
        "value": record,
        "context": ReadingContext.TRANSACTION_END.value,
        "format": "SignedData",
        "measurand": Measurand.ENERGY_IMPORT_REGISTER.value,
        "location": "Outlet",
    }


def sampled_values(
    evse: EvseSpec, register_wh: int, power_w: int, soc: int
) -> list[dict[str, str]]:
    """1.6J §7 SampledValue: values are strings; current per phase L1-L3 on 3-phase AC."""
    periodic = ReadingContext.SAMPLE_PERIODIC.value
    values = [
        register(register_wh, ReadingContext.SAMPLE_PERIODIC),
        {
            "value": str(power_w),
            "context": periodic,
            "measurand": Measurand.POWER_IMPORT.value,
            "unit": "W",
        },
    ]
    for phase, amps in currents(evse.power_type, power_w):
        item = {
            "value": str(amps),
            "context": periodic,
            "measurand": Measurand.CURRENT_IMPORT.value,
            "unit": "A",
        }
        if phase is not None:
            item["phase"] = phase
        values.append(item)
    values.append(
        {
            "value": str(soc),
            "context": periodic,
            "measurand": Measurand.SOC.value,
            "location": "EV",
            "unit": "Percent",
        }
    )
    return values
