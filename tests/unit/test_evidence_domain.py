"""The evidence pack's pure parts (``domain.evidence``, ``domain.evidence_json``): energy and
power over time from a session's samples, a signed value beside the register it was billed
from, and the JSON form (exact Decimal strings, UTC instants, no floats)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.adapters.documents.evidence_chart import nice_ceiling
from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    ReadingContext,
    Session,
    StateChange,
)
from chargeledger.domain.evidence import (
    EvidencePack,
    MeterPoint,
    SessionFacts,
    carries_signed_data,
    meter_series,
    readable_record,
    signed_reading,
)
from chargeledger.domain.evidence_json import DOCUMENT_NAMES, jsonable, pack_documents
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.station_link import SignedMeterValue

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REGISTER, POWER = Measurand.ENERGY_IMPORT_REGISTER, Measurand.POWER_IMPORT


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sample(minutes: int, measurand: Measurand, value: str, phase: str | None = None) -> MeterSample:
    unit = "Wh" if measurand is REGISTER else "W"
    return MeterSample(at(minutes), measurand, Decimal(value), unit, phase=phase)


SESSION = Session(
    station_id=uuid.uuid4(),
    evse_id=1,
    transaction_ref="7",
    ocpp_version="1.6",
    started_at=T0,
    meter_start_wh=Decimal(1000),
    stopped_at=at(30),
    meter_stop_wh=Decimal(9000),
    payment_route=PaymentRoute.INVOICE,
)


def test_the_series_has_one_point_per_instant_with_the_session_ends() -> None:
    """Energy: the phase-less register; power: the total, else the sum of the phases. The
    start and stop readings (no samples in 1.6) bound the series."""
    series = meter_series(
        SESSION,
        [
            sample(10, REGISTER, "4000"),
            sample(10, REGISTER, "1300", phase="L1"),
            sample(10, POWER, "7000", phase="L1"),
            sample(10, POWER, "7100", phase="L2"),
            sample(20, POWER, "15000"),
            sample(20, POWER, "5000", phase="L1"),
            sample(20, REGISTER, "6500"),
            MeterSample(at(20), Measurand.SOC, Decimal(50), "Percent"),
        ],
    )
    assert series == (
        MeterPoint(at(0), Decimal(1000), None),
        MeterPoint(at(10), Decimal(4000), Decimal(14_100)),
        MeterPoint(at(20), Decimal(6500), Decimal(15_000)),
        MeterPoint(at(30), Decimal(9000), None),
    )


def test_a_sample_at_the_start_wins_over_the_start_reading_and_an_open_session_has_no_end() -> None:
    running = replace(SESSION, stopped_at=None, meter_stop_wh=None)
    series = meter_series(running, [sample(0, REGISTER, "1005"), sample(5, REGISTER, "2000")])
    assert series == (
        MeterPoint(at(0), Decimal(1005), None),
        MeterPoint(at(5), Decimal(2000), None),
    )


def test_a_signed_value_sits_beside_the_register_billed_at_its_instant() -> None:
    series = meter_series(SESSION, [])
    value = SignedMeterValue(at(30), ReadingContext.TRANSACTION_END, "OCMF", "OCMF|{}|{}")
    judged = signed_reading(value, series, ("valid", None))
    assert (judged.energy_kwh, judged.verdict, judged.data) == (Decimal(9), "valid", "OCMF|{}|{}")
    unjudged = signed_reading(replace(value, timestamp=at(31)), series, None)
    assert (unjudged.energy_kwh, unjudged.verdict, unjudged.detail) == (None, None, None)


def test_the_json_documents_carry_exact_strings_and_utc_instants() -> None:
    pack = EvidencePack(
        title="Evidence",
        generated_at=datetime(2026, 3, 2, 10, 0, 0, 500, tzinfo=UTC),
        session=SessionFacts.of(SESSION, "CP-1", "Depot", "Europe/Berlin"),
        meter_series=meter_series(SESSION, []),
        signed_readings=(),
        ocpp_log=(),
        transaction_events=(),
        state_changes=(StateChange(T0, ChargingState.CHARGING),),
        tariff=None,
        price=None,
        price_note="no_tariff: the session started without a tariff",
        payment_events=(),
        case={"amount": Decimal("0.10"), "opened": T0, "lines": (1, 2)},
    )
    documents = pack_documents(pack)
    assert tuple(documents) == DOCUMENT_NAMES
    assert documents["session"]["generated_at"] == "2026-03-02T10:00:00.000500Z"
    facts = documents["session"]["session"]
    assert (facts["billed_energy_wh"], facts["started_at"]) == ("8000", "2026-03-02T09:00:00Z")
    assert (facts["payment_route"], facts["account_id"]) == ("invoice", None)
    assert documents["meter"][0] == {
        "time": "2026-03-02T09:00:00Z",
        "energy_wh": "1000",
        "power_w": None,
    }
    assert documents["state_changes"] == [
        {"timestamp": "2026-03-02T09:00:00Z", "state": "charging"}
    ]
    assert documents["case"] == {
        "amount": "0.10",
        "opened": "2026-03-02T09:00:00Z",
        "lines": [1, 2],
    }
    assert documents["price"] == {"price": None, "note": pack.price_note}
    assert jsonable(Decimal("1E+3")) == "1000"
    with pytest.raises(TypeError):
        jsonable(0.1)


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        ("0", "1"),
        ("0.8", "1"),
        ("0.24", "0.25"),
        ("9.5", "10"),
        ("10", "10"),
        ("19", "20"),
        ("21", "25"),
        ("130", "200"),
    ],
)
def test_chart_axes_end_on_round_numbers(value: str, ceiling: str) -> None:
    assert nice_ceiling(Decimal(value)) == Decimal(ceiling)


@pytest.mark.parametrize(
    ("stored", "readable"),
    [
        ("OCMF|{}|{}", "OCMF|{}|{}"),  # OCPP 1.6: the record itself
        ("T0NNRnx7fXx7fQ==", "OCMF|{}|{}"),  # OCPP 2.0.1: base64 of the record
        ("AAECAw==", "AAECAw=="),  # base64 of something else: as stored
        ("not base64!", "not base64!"),
        ("/w==", "/w=="),  # base64 of bytes that are no UTF-8 text
    ],
)
def test_a_record_is_read_as_a_verifier_reads_it(stored: str, readable: str) -> None:
    value = SignedMeterValue(T0, ReadingContext.TRANSACTION_END, "OCMF", stored)
    assert readable_record(value) == readable


def test_only_invoices_and_receipts_print_signed_meter_data() -> None:
    printed = {kind for kind in DocumentKind if carries_signed_data(kind)}
    assert printed == {DocumentKind.INVOICE, DocumentKind.RECEIPT}
