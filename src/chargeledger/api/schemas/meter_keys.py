"""Bodies of the meter key registry (issue 15)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from chargeledger.api.schemas.common import EvseNumber, Input
from chargeledger.domain.meter_keys import KeySource, MeterKey


class MeterKeyIn(Input):
    meter_serial: Annotated[str, Field(min_length=1, max_length=64, description="OCMF MS")]
    public_key: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2500,
            description="SPKI DER as hex, base64 or PEM, base64 of its hex text or of "
            '{"UK": hex}, or a bare X||Y hex with `curve`',
        ),
    ]
    evse_id: EvseNumber | None = None
    valid_from: Annotated[
        AwareDatetime | None, Field(description="default: now; the previous key retires then")
    ] = None
    curve: Annotated[str | None, Field(max_length=32, description="for a bare X||Y key")] = None
    note: Annotated[str | None, Field(max_length=500)] = None


class MeterKeyConfirmIn(Input):
    """Promote a reported key to the operator's after checking it against the type plate."""

    meter_serial: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="OCMF MS from the type plate; needed when the station did not name the "
            "meter, and must agree when it did",
        ),
    ] = None
    valid_from: Annotated[
        AwareDatetime | None,
        Field(description="default: when the station first reported the key"),
    ] = None
    note: Annotated[str | None, Field(max_length=500)] = None


class MeterKeyOut(BaseModel):
    id: uuid.UUID
    station_id: uuid.UUID
    evse_id: int | None
    meter_serial: str | None
    public_key: str
    curve: str
    source: KeySource
    valid_from: datetime
    retired_at: datetime | None
    created_at: datetime
    note: str | None

    @classmethod
    def of(cls, key: MeterKey) -> MeterKeyOut:
        return cls(
            id=key.id,
            station_id=key.station_id,
            evse_id=key.evse_id,
            meter_serial=key.meter_serial,
            public_key=key.public_key,
            curve=key.curve,
            source=key.source,
            valid_from=key.valid_from,
            retired_at=key.retired_at,
            created_at=key.created_at,
            note=key.note,
        )
