"""The rows of a session's meter data: samples, charging-state changes and signed values, as
the session repository writes and reads them (split from ``charging.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from chargeledger.domain.charging import (
    Measurand,
    MeterSample,
    ReadingContext,
    StateChange,
)
from chargeledger.domain.station_link import SignedMeterValue


def sample_rows(session_id: uuid.UUID, samples: Sequence[MeterSample]) -> list[dict[str, Any]]:
    return [
        {
            "session_id": session_id,
            "timestamp": s.timestamp,
            "measurand": s.measurand.value,
            "value": s.value,
            "unit": s.unit,
            "context": s.context.value,
            "phase": s.phase or "",
            "location": s.location or "",
        }
        for s in samples
    ]


def state_row(session_id: uuid.UUID, change: StateChange) -> dict[str, Any]:
    return {"session_id": session_id, "timestamp": change.timestamp, "state": change.state.value}


def signed_value(row: RowMapping) -> SignedMeterValue:
    return SignedMeterValue(
        timestamp=row["timestamp"],
        context=ReadingContext(row["context"]),
        format=row["format"],
        signing_method=row["signing_method"],
        encoding_method=row["encoding_method"],
        public_key=row["public_key"],
        data=row["data"],
    )


def sample_of(row: RowMapping) -> MeterSample:
    """A ``meter_samples`` row as the domain's sample (empty phase and location: none)."""
    return MeterSample(
        timestamp=row["timestamp"],
        measurand=Measurand(row["measurand"]),
        value=row["value"],
        unit=row["unit"],
        context=ReadingContext(row["context"]),
        phase=row["phase"] or None,
        location=row["location"] or None,
    )
