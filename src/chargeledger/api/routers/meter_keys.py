"""``/api/v1/stations/{station_id}/meter-keys``: the public keys of a station's calibrated
meters (issue 15). Operators register them from the type plate; finance reads them to answer
a dispute; keys a station reported come back with ``source: station`` (sent with signed data)
or ``station_config`` (stated in its configuration at boot), never trusted until an operator
confirms one (``POST .../meter-keys/{meter_key_id}/confirm``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadMeterKeys, WriteMeterKeys
from chargeledger.api.schemas.common import ERROR_RESPONSES
from chargeledger.api.schemas.meter_keys import MeterKeyConfirmIn, MeterKeyIn, MeterKeyOut
from chargeledger.services.charging import meter_keys
from chargeledger.services.transactions import in_transaction

router = APIRouter(
    prefix="/api/v1/stations/{station_id}/meter-keys",
    tags=["meter keys"],
    responses=ERROR_RESPONSES,
)


@router.get("", summary="List a station's meter keys with their history")
async def list_meter_keys(
    station_id: uuid.UUID, _: ReadMeterKeys, uow: UowDep
) -> list[MeterKeyOut]:
    return [MeterKeyOut.of(key) for key in await meter_keys.meter_keys_of(uow, station_id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a meter's public key (retires the meter's previous key)",
)
async def register_meter_key(
    station_id: uuid.UUID, body: MeterKeyIn, _: WriteMeterKeys, rt: RuntimeDep
) -> MeterKeyOut:
    key = await in_transaction(
        rt.uow,
        meter_keys.register_meter_key,
        rt.clock,
        station_id,
        meter_serial=body.meter_serial,
        public_key=body.public_key,
        evse_id=body.evse_id,
        valid_from=body.valid_from,
        note=body.note,
        curve=body.curve,
    )
    return MeterKeyOut.of(key)


@router.post(
    "/{meter_key_id}/confirm",
    status_code=status.HTTP_201_CREATED,
    summary="Confirm a key the station reported as the operator's (checked on the type plate)",
)
async def confirm_meter_key(
    station_id: uuid.UUID,
    meter_key_id: uuid.UUID,
    _: WriteMeterKeys,
    rt: RuntimeDep,
    body: MeterKeyConfirmIn | None = None,
) -> MeterKeyOut:
    body = body or MeterKeyConfirmIn()
    key = await in_transaction(
        rt.uow,
        meter_keys.confirm_meter_key,
        rt.clock,
        station_id,
        meter_key_id,
        meter_serial=body.meter_serial,
        valid_from=body.valid_from,
        note=body.note,
    )
    return MeterKeyOut.of(key)
