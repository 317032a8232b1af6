"""Bodies of sessions, their meter data, station status and station commands."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from chargeledger.api.schemas.common import (
    ConnectorNumber,
    EvseNumber,
    Input,
    MeterWh,
    ReservationId,
)
from chargeledger.domain.billing import Billed, VatTreatment
from chargeledger.domain.charging import MeterSample, QuarantineReason, Session, SessionStatus
from chargeledger.domain.station_link import (
    CommandKind,
    ConnectorState,
    ResetType,
    SignedMeterValue,
    StationCommand,
    TransactionEvent,
)
from chargeledger.domain.tariffs import PriceLine, PriceResult
from chargeledger.services.charging.session_review import SessionDetail
from chargeledger.services.charging.signed_data import SignedReading, energy_of
from chargeledger.services.charging.station_status import StationStatus


class SessionOut(BaseModel):
    id: uuid.UUID
    station_id: uuid.UUID
    evse_id: int
    connector_id: int
    transaction_ref: str
    ocpp_version: str
    id_tag: str | None
    account_id: uuid.UUID | None
    status: SessionStatus
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: Decimal
    meter_stop_wh: Decimal | None
    energy_wh: Decimal | None
    charging_seconds: int | None
    idle_seconds: int | None
    stop_reason: str | None
    quarantine_reasons: list[QuarantineReason]
    resolution_note: str | None
    resolved_by: str | None
    corrected_meter_start_wh: Decimal | None
    corrected_meter_stop_wh: Decimal | None
    last_sample_at: datetime | None

    @classmethod
    def of(cls, s: Session) -> SessionOut:
        return cls(**session_fields(s))


def session_fields(s: Session) -> dict[str, Any]:
    """``SessionOut``'s fields of a session as plain values. The sessions list serialises
    these directly (``session_pages.page_json``): the same JSON without validating each row
    into a model first (issue 17)."""
    r = s.resolution
    return {
        "id": s.id,
        "station_id": s.station_id,
        "evse_id": s.evse_id,
        "connector_id": s.connector_id,
        "transaction_ref": s.transaction_ref,
        "ocpp_version": s.ocpp_version,
        "id_tag": s.id_tag,
        "account_id": s.account_id,
        "status": s.status,
        "started_at": s.started_at,
        "stopped_at": s.stopped_at,
        "meter_start_wh": s.meter_start_wh,
        "meter_stop_wh": s.meter_stop_wh,
        "energy_wh": s.energy_wh,
        "charging_seconds": s.charging_seconds,
        "idle_seconds": s.idle_seconds,
        "stop_reason": s.stop_reason,
        "quarantine_reasons": list(s.quarantine_reasons),
        "resolution_note": r.note if r else None,
        "resolved_by": r.by if r else None,
        "corrected_meter_start_wh": r.corrected_meter_start_wh if r else None,
        "corrected_meter_stop_wh": r.corrected_meter_stop_wh if r else None,
        "last_sample_at": s.last_sample_at,
    }


class SampleOut(BaseModel):
    timestamp: datetime
    measurand: str
    value: Decimal
    unit: str
    context: str
    phase: str | None
    location: str | None

    @classmethod
    def of(cls, s: MeterSample) -> SampleOut:
        return cls(
            timestamp=s.timestamp,
            measurand=s.measurand.value,
            value=s.value,
            unit=s.unit,
            context=s.context.value,
            phase=s.phase,
            location=s.location,
        )


class StateChangeOut(BaseModel):
    timestamp: datetime
    state: str


class EventOut(BaseModel):
    seq_no: int
    event_type: str
    timestamp: datetime
    trigger_reason: str
    offline: bool

    @classmethod
    def of(cls, e: TransactionEvent) -> EventOut:
        return cls(
            seq_no=e.seq_no,
            event_type=e.event_type,
            timestamp=e.timestamp,
            trigger_reason=e.trigger_reason,
            offline=e.offline,
        )


class SignedValueOut(BaseModel):
    timestamp: datetime
    context: str
    format: str
    data: str
    signing_method: str | None
    encoding_method: str | None
    public_key: str | None
    # Issue 15: the verdict under the registry's key (else the reported one), and the energy
    # this record alone proves (when it holds a begin and an end reading).
    verdict: str | None = None
    detail: str | None = None
    meter_serial: str | None = None
    key_source: str | None = None
    energy_kwh: Decimal | None = None

    @classmethod
    def of(cls, v: SignedMeterValue, reading: SignedReading | None = None) -> SignedValueOut:
        energy = energy_of([reading.record])[0] if reading and reading.record else None
        return cls(
            timestamp=v.timestamp,
            context=v.context.value,
            format=v.format,
            data=v.data,
            signing_method=v.signing_method,
            encoding_method=v.encoding_method,
            public_key=v.public_key,
            verdict=reading.check.verdict.value if reading else None,
            detail=reading.check.detail if reading else None,
            meter_serial=reading.record.meter_serial if reading and reading.record else None,
            key_source=reading.key_source if reading else None,
            energy_kwh=energy.kwh if energy else None,
        )


class SignedIssueOut(BaseModel):
    code: str
    message: str


class SessionDetailOut(SessionOut):
    samples: list[SampleOut]
    state_changes: list[StateChangeOut]
    transaction_events: list[EventOut]
    signed_meter_values: list[SignedValueOut]
    signed_energy_kwh: Decimal | None = None
    signed_issues: list[SignedIssueOut] = []

    @classmethod
    def of_detail(cls, d: SessionDetail) -> SessionDetailOut:
        readings = list(d.signed.readings) if d.signed else [None] * len(d.signed_values)
        return cls(
            **SessionOut.of(d.session).model_dump(),
            samples=[SampleOut.of(s) for s in d.samples],
            state_changes=[
                StateChangeOut(timestamp=c.timestamp, state=c.state.value) for c in d.state_changes
            ],
            transaction_events=[EventOut.of(e) for e in d.transaction_events],
            signed_meter_values=[
                SignedValueOut.of(v, r) for v, r in zip(d.signed_values, readings, strict=True)
            ],
            signed_energy_kwh=d.signed.energy.kwh if d.signed and d.signed.energy else None,
            signed_issues=[
                SignedIssueOut(code=i.code, message=i.message)
                for i in (d.signed.issues if d.signed else ())
            ],
        )


class ReleaseIn(Input):
    note: str
    corrected_meter_start_wh: MeterWh | None = None
    corrected_meter_stop_wh: MeterWh | None = None


class ConnectorStatusOut(BaseModel):
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    status_at: datetime

    @classmethod
    def of(cls, c: ConnectorState) -> ConnectorStatusOut:
        return cls(
            evse_id=c.evse_id,
            connector_id=c.connector_id,
            status=c.status,
            error_code=c.error_code,
            status_at=c.status_at,
        )


class StationStatusOut(BaseModel):
    station_id: uuid.UUID
    charge_point_id: str
    connected: bool
    ocpp_version: str | None
    firmware_version: str | None
    last_seen_at: datetime | None
    last_heartbeat_at: datetime | None
    last_boot_at: datetime | None
    clock_offset_seconds: int | None
    connectors: list[ConnectorStatusOut]

    @classmethod
    def of(cls, s: StationStatus) -> StationStatusOut:
        state = s.state
        return cls(
            station_id=s.station.id,
            charge_point_id=s.station.charge_point_id,
            connected=s.live,
            ocpp_version=state.ocpp_version if state else None,
            firmware_version=state.firmware_version if state else None,
            last_seen_at=state.last_seen_at if state else None,
            last_heartbeat_at=state.last_heartbeat_at if state else None,
            last_boot_at=state.last_boot_at if state else None,
            clock_offset_seconds=state.clock_offset_seconds if state else None,
            connectors=[ConnectorStatusOut.of(c) for c in s.connectors],
        )


class CommandIn(Input):
    kind: CommandKind
    evse_id: EvseNumber | None = None
    id_tag: str | None = None
    transaction_ref: str | None = None
    reservation_id: ReservationId | None = None
    expires_at: datetime | None = None
    operative: bool | None = None
    message: str | None = None
    reset_type: ResetType | None = None
    connector_id: ConnectorNumber | None = None

    def to_domain(self) -> StationCommand:
        return StationCommand(**self.model_dump())


class CommandResultOut(BaseModel):
    status: str
    detail: str | None = None


class MoneyOut(BaseModel):
    excl_vat: Decimal
    incl_vat: Decimal


class VatOut(BaseModel):
    """The VAT every gross amount of the answer carries: the site's country at the date of
    supply, or reverse charge (category AE, 0 %) for an EU business account."""

    category: str
    percent: Decimal
    note: str | None


class QuoteLineOut(BaseModel):
    category: str
    volume: Decimal
    unit: str
    unit_price: Decimal
    vat: Decimal | None
    excl_vat: Decimal
    incl_vat: Decimal
    explanation: str

    @classmethod
    def of(cls, line: PriceLine, vat: VatTreatment) -> QuoteLineOut:
        """An exact (unrounded) line; its VAT is the one due, not the tariff's own."""
        return cls(
            category=line.category,
            volume=line.volume,
            unit=line.unit,
            unit_price=line.unit_price,
            vat=vat.percent,
            excl_vat=line.excl_vat,
            incl_vat=line.excl_vat * (1 + vat.percent / 100),
            explanation=line.explanation,
        )


_TOTALS = (
    ("total_energy_cost", "Energy"),
    ("total_time_cost", "Time"),
    ("total_parking_cost", "Parking"),
    ("total_fixed_cost", "Fixed"),
    ("total_reservation_cost", "Reservation"),
)


class PricedOut(BaseModel):
    """What a quote and a session cost share: the figures the session is (or would be)
    charged, invoiced and booked with, to the cent: the net rounded half-up to the
    currency's minor unit and shared across the components, the VAT of the place of supply
    on it, and the exact lines behind them."""

    currency: str
    total_cost: MoneyOut
    total_vat: Decimal
    vat: VatOut
    total_energy_cost: MoneyOut
    total_time_cost: MoneyOut
    total_parking_cost: MoneyOut
    total_fixed_cost: MoneyOut
    total_reservation_cost: MoneyOut
    lines: list[QuoteLineOut]

    @staticmethod
    def priced(result: PriceResult, billed: Billed) -> dict[str, Any]:
        nets, grosses = dict(billed.components), dict(billed.component_gross())
        return {
            "currency": billed.currency,
            "total_cost": MoneyOut(excl_vat=billed.net, incl_vat=billed.gross),
            "total_vat": billed.tax,
            "vat": VatOut(
                category=billed.vat.category.value,
                percent=billed.vat.percent,
                note=billed.vat.note,
            ),
            **{
                name: MoneyOut(excl_vat=nets[component], incl_vat=grosses[component])
                for name, component in _TOTALS
            },
            "lines": [QuoteLineOut.of(line, billed.vat) for line in result.lines],
        }


class QuoteOut(PricedOut):
    tariff_id: uuid.UUID
    ocpi_tariff_id: str
    time_zone: str
    starts_at: datetime
    price_display: list[str]


class SessionCostOut(PricedOut):
    """``status``: ``live`` while the session runs (its cost so far), ``final`` once closed."""

    session_id: uuid.UUID
    status: Literal["live", "final"]
    live: bool
    tariff_id: uuid.UUID | None
    total_energy_kwh: Decimal


class SessionUnderReviewOut(BaseModel):
    """A quarantined session: no amount at all until an operator has checked its meter data
    and released it (then its cost is a :class:`SessionCostOut`)."""

    session_id: uuid.UUID
    status: Literal["under_review"] = "under_review"
    live: bool = False
    message: str
