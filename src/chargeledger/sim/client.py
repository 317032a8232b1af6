"""What the simulated stations of both OCPP versions answer alike to CSMS-initiated CALLs:
reservations are kept, availability changes and triggered messages are Accepted (1.6J §5.3,
§5.5, §5.17; 2.0.1 §H02, §G03, §F06), a reset is answered (1.6J §5.14, 2.0.1 §B11/B12; the
simulated station does not really restart), and a remote start claims an EVSE before its
answer.

A mixin in front of the version's ``ocpp`` ChargePoint: the answers are built with that
version's ``call_result`` classes (the library's ``_call_result`` module of the class).
"""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import InternalError
from websockets.asyncio.client import ClientConnection

from chargeledger.sim.frames import RawTap, on_action
from chargeledger.sim.live import EvseRuntime
from chargeledger.sim.model import MeterKeyAnswer
from chargeledger.sim.ocmf_meter import oca_public_key
from chargeledger.sim.station import Station


class StationClient(RawTap):
    """The CALLs both versions answer the same way; the version's class adds the rest."""

    _call_result: Any  # the ``ocpp`` ChargePoint's call_result module of its version

    def __init__(self, station: Station, ws: ClientConnection) -> None:
        super().__init__(  # type: ignore[call-arg]
            station.spec.charge_point_id, ws, response_timeout=station.options.response_timeout_s
        )
        self.station = station
        self.claims: dict[str, EvseRuntime] = {}  # EVSEs claimed by remote starts, by call id

    def claim(self, evse_id: int | None, call_unique_id: str) -> bool:
        """A remote start (1.6J §5.11, 2.0.1 §F01) is Accepted when an EVSE is free; the
        session follows once the answer has been sent."""
        evse = self.station.claim_evse(evse_id)
        if evse is None:
            return False
        self.claims[call_unique_id] = evse
        return True

    def claimed(self, call_unique_id: str) -> EvseRuntime | None:
        """The EVSE the remote start ``call_unique_id`` claimed, if it is still free."""
        evse = self.claims.pop(call_unique_id, None)
        return evse if evse is not None and evse.free else None

    def stop_status(self, ref: str) -> str:
        """A remote stop (1.6J §5.12, 2.0.1 §F03) is Accepted for a transaction running here."""
        return "Rejected" if self.station.find_live(ref) is None else "Accepted"

    def stated_meter_key(self) -> str | None:
        """What the station's configuration states as each EVSE's meter key: its one meter's
        (it signs for every EVSE, the note §3.3.1 case of one meter behind several connectors)
        in the note's §3.2.2 form. None when it has no such key (signed data off, or told to
        answer ``unknown``); a CALLERROR (InternalError) when told to answer ``error``."""
        meter, answer = self.station.meter, self.station.options.meter_key_answer
        if answer is MeterKeyAnswer.ERROR:
            raise InternalError(description="the meter's public key cannot be read now")
        if meter is None or answer is MeterKeyAnswer.UNKNOWN:
            return None
        return oca_public_key(meter.public_key_hex)

    def reserve(self, reservation_id: int, details: dict[str, Any]) -> Any:
        """ReserveNow (1.6J §5.13, 2.0.1 §H01): kept, Accepted."""
        self.station.reservations[reservation_id] = details
        return self._call_result.ReserveNow(status="Accepted")

    @on_action("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        self.station.reservations.pop(reservation_id, None)
        return self._call_result.CancelReservation(status="Accepted")

    @on_action("ChangeAvailability")
    def on_change_availability(self, **_: Any) -> Any:
        return self._call_result.ChangeAvailability(status="Accepted")

    @on_action("TriggerMessage")
    def on_trigger_message(self, **_: Any) -> Any:
        return self._call_result.TriggerMessage(status="Accepted")

    @on_action("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:
        """Accepted; a 2.0.1 ``OnIdle`` reset while a transaction runs is ``Scheduled`` (B12:
        the station waits for its transactions to end)."""
        charging = any(evse.live is not None for evse in self.station.evses.values())
        status = "Scheduled" if type == "OnIdle" and charging else "Accepted"
        return self._call_result.Reset(status=status)
