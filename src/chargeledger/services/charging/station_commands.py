"""Operator-initiated requests to stations (OCPP 1.6 §5, 2.0.1 F01/F03/H01/B11/...), carried by
the command bus to whichever process holds the station's connection."""

from __future__ import annotations

import uuid

from chargeledger.domain.station_link import CommandKind, CommandResult, StationCommand
from chargeledger.errors import InvalidInputError
from chargeledger.services.catalog import get_station
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.ports import UnitOfWorkFactory

_REQUIRED: dict[CommandKind, tuple[str, ...]] = {
    CommandKind.REMOTE_START: ("id_tag",),
    CommandKind.REMOTE_STOP: ("transaction_ref",),
    CommandKind.RESERVE_NOW: ("evse_id", "id_tag", "reservation_id", "expires_at"),
    CommandKind.CANCEL_RESERVATION: ("reservation_id",),
    CommandKind.CHANGE_AVAILABILITY: ("operative",),
    CommandKind.TRIGGER_MESSAGE: ("message",),
    CommandKind.RESET: ("reset_type",),
    CommandKind.UNLOCK_CONNECTOR: ("evse_id", "connector_id"),
}


def check_command(command: StationCommand) -> StationCommand:
    for name in _REQUIRED[command.kind]:
        if getattr(command, name) is None:
            raise InvalidInputError(
                f"{command.kind.value} needs {name}", code="missing_field", field=name
            )
    return command


async def send_command(
    uow_factory: UnitOfWorkFactory,
    bus: CommandBus,
    station_id: uuid.UUID,
    command: StationCommand,
) -> CommandResult:
    """No unit of work stays open while the station answers (up to the bus timeout)."""
    check_command(command)
    async with uow_factory() as uow:
        station = await get_station(uow, station_id)
    return await bus.send(station.charge_point_id, command)
