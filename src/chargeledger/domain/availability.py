"""Whether a driver can plug in now: a connector's availability from what its station told us.

The words are OCPI 2.2.1 §8.4.22 EVSE Status, which apps and roaming partners already read.
They come from the connector's last StatusNotification (OCPP 1.6 §7.7 ChargePointStatus,
2.0.1 §3.12 ConnectorStatusEnumType) and from the station's link: a station that is not
connected cannot start a session, whatever it said last, so its connectors are ``UNKNOWN``.
A 1.6 status for connector 0 speaks for the whole station (1.6 §4.9): Unavailable or Faulted
there makes every connector so.
"""

from __future__ import annotations

from enum import StrEnum


class Availability(StrEnum):
    AVAILABLE = "AVAILABLE"
    CHARGING = "CHARGING"  # occupied: a vehicle is plugged in (preparing, charging, finishing)
    RESERVED = "RESERVED"
    INOPERATIVE = "INOPERATIVE"  # taken out of service by the operator (Unavailable)
    OUTOFORDER = "OUTOFORDER"  # Faulted
    UNKNOWN = "UNKNOWN"  # never reported, or the station is offline


# The one status word (both OCPP versions) that means a driver may plug in now. The storage's
# ``available=true`` filter uses the same words (held equal by tests/integration/test_locations).
AVAILABLE_STATUS = "Available"
# Station-wide statuses (1.6 connector 0) that take every connector out of use.
STATION_DOWN_STATUSES = ("Unavailable", "Faulted")
STATION_WIDE_EVSE = 0

_BY_STATUS = {
    AVAILABLE_STATUS: Availability.AVAILABLE,
    "Preparing": Availability.CHARGING,
    "Charging": Availability.CHARGING,
    "SuspendedEV": Availability.CHARGING,
    "SuspendedEVSE": Availability.CHARGING,
    "Finishing": Availability.CHARGING,
    "Occupied": Availability.CHARGING,
    "Reserved": Availability.RESERVED,
    "Unavailable": Availability.INOPERATIVE,
    "Faulted": Availability.OUTOFORDER,
}


def connector_availability(
    online: bool, status: str | None, station_status: str | None = None
) -> Availability:
    """``status``: the connector's last reported status; ``station_status``: the station-wide
    one (1.6 connector 0), if any; ``online``: the station is connected now."""
    if not online:
        return Availability.UNKNOWN
    if station_status in STATION_DOWN_STATUSES:
        return _BY_STATUS[station_status]
    if status is None:
        return Availability.UNKNOWN
    return _BY_STATUS.get(status, Availability.UNKNOWN)
