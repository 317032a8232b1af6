"""The simulated stations' meters (``sim/ocmf_meter.py``) sign OCMF records that our own
parser reads, our verifier accepts with the key ``meter_identity`` names, and whose signed
energy is the session's; a tampered record still parses but no longer verifies (issue 15)."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeledger.adapters.meter_signatures import OcmfSignatureVerifier
from chargeledger.domain.charging import QuarantineReason, ReadingContext
from chargeledger.domain.ocmf import SignatureVerdict, parse_ocmf, parse_time
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.ocmf_energy import signed_energy
from chargeledger.domain.ocmf_keys import normalise_public_key
from chargeledger.sim.cli import build_parser
from chargeledger.sim.faults import TAMPER_RANGE_WH, assign_faults
from chargeledger.sim.live import Live
from chargeledger.sim.model import (
    EvseSpec,
    FaultKind,
    OcppVersion,
    PowerType,
    SimulationOptions,
    StationSpec,
    TokenSpec,
    TokenType,
)
from chargeledger.sim.ocmf_meter import (
    MeteredTransaction,
    StationMeter,
    kwh_text,
    meter_identity,
    meter_key,
    oca_public_key,
    ocmf_time,
    public_key_hex,
    signed_record,
)
from chargeledger.sim.plan import Window, draw_session, plan_station, station_rng
from chargeledger.sim.station16 import signed_data
from chargeledger.sim.station201 import signed_meter_value
from chargeledger.stations.values import meter_samples

SEED = 5
CPID = "DE-CLG-0001"
VERIFIER = OcmfSignatureVerifier()
STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STOPPED = datetime(2026, 3, 2, 10, 17, 3, 250_000, tzinfo=UTC)


def transaction(start_wh: int = 1_234_500, stop_wh: int = 1_250_007) -> MeteredTransaction:
    return MeteredTransaction(
        meter_serial="SIM0000000001",
        gateway_serial=CPID,
        pagination=7,
        id_tag="RFID-0001",
        id_type="ISO14443",
        evse=f"{CPID}*2",
        started_at=STARTED,
        start_wh=start_wh,
        stopped_at=STOPPED,
        stop_wh=stop_wh,
    )


def test_the_key_and_serial_are_a_function_of_seed_and_charge_point() -> None:
    identity = meter_identity(SEED, CPID)
    assert identity == meter_identity(SEED, CPID)
    assert identity.public_key_hex == public_key_hex(meter_key(SEED, CPID))
    assert identity.public_key_hex.startswith("3059301306072a8648ce3d0201")  # SPKI, EC key
    assert normalise_public_key(identity.public_key_hex, "secp256r1") == identity.public_key_hex
    others = {meter_identity(SEED, "DE-CLG-0002"), meter_identity(SEED + 1, CPID)}
    assert {i.public_key_hex for i in others}.isdisjoint({identity.public_key_hex})
    assert {i.serial for i in others}.isdisjoint({identity.serial})
    assert len(identity.serial) <= 25  # OCPP 1.6 BootNotification meterSerialNumber
    meter = StationMeter(SEED, CPID)
    assert (meter.serial, meter.public_key_hex) == identity


def test_the_record_parses_with_every_field_the_brief_names() -> None:
    record = parse_ocmf(signed_record(meter_key(SEED, CPID), transaction()))
    assert record.format_version == "1.0"
    assert record.gateway_id == "chargeledger-sim SimCharger"
    assert record.gateway_serial == CPID
    assert record.meter_serial == "SIM0000000001"
    assert (record.pagination, record.pagination_context, record.pagination_counter) == (
        "T7",
        "T",
        7,
    )
    assert record.identified is True
    assert (record.identification_type, record.identification) == ("ISO14443", "RFID-0001")
    assert (record.charge_point_type, record.charge_point_id) == ("EVSEID", f"{CPID}*2")
    assert record.algorithm == "ECDSA-secp256r1-SHA256"
    assert record.signature["SA"] == "ECDSA-secp256r1-SHA256"
    begin, end = record.readings
    assert (begin.reason, end.reason) == ("B", "E")
    assert (begin.value, end.value) == (Decimal("1234.500"), Decimal("1250.007"))
    assert str(begin.value) == "1234.500"  # three decimals stated, trailing zeros kept
    assert {r.unit for r in record.readings} == {"kWh"}
    assert {r.register for r in record.readings} == {"1-b:1.8.0"}
    assert {r.meter_state for r in record.readings} == {"G"}
    assert (begin.time, end.time) == (STARTED, STOPPED)
    assert begin.raw_time == "2026-03-02T09:00:00,000+0000 S"
    assert end.raw_time == "2026-03-02T10:17:03,250+0000 S"


@pytest.mark.parametrize(
    ("start_wh", "stop_wh", "kwh"),
    [
        (1_234_500, 1_250_007, "15.507"),
        (0, 1, "0.001"),
        (8_999_999, 9_000_000, "0.001"),
        (4_000_000, 4_000_000, "0.000"),
        (1_000_001, 1_080_999, "80.998"),
    ],
)
def test_the_record_verifies_and_its_energy_is_stop_minus_start(
    start_wh: int, stop_wh: int, kwh: str
) -> None:
    key = meter_key(SEED, CPID)
    record = parse_ocmf(signed_record(key, transaction(start_wh, stop_wh)))
    check = VERIFIER.check(record, meter_identity(SEED, CPID).public_key_hex)
    assert check.verdict is SignatureVerdict.VALID, check.detail
    energy = signed_energy([record])
    assert energy.kwh == Decimal(kwh) == Decimal(stop_wh - start_wh) / 1000
    assert energy.usable
    assert energy.resolution_kwh == Decimal("0.001")


def test_another_stations_key_does_not_verify_it() -> None:
    record = parse_ocmf(signed_record(meter_key(SEED, CPID), transaction()))
    check = VERIFIER.check(record, meter_identity(SEED, "DE-CLG-0002").public_key_hex)
    assert check.verdict is SignatureVerdict.INVALID_SIGNATURE


def test_signing_is_deterministic() -> None:
    """RFC 6979: the same seed gives the same records byte for byte."""
    assert signed_record(meter_key(SEED, CPID), transaction()) == signed_record(
        meter_key(SEED, CPID), transaction()
    )


def test_a_tampered_record_parses_but_does_not_verify() -> None:
    key = meter_key(SEED, CPID)
    honest = signed_record(key, transaction())
    tampered = signed_record(key, transaction(), tampered_by_wh=2_500)
    record = parse_ocmf(tampered)
    check = VERIFIER.check(record, meter_identity(SEED, CPID).public_key_hex)
    assert check.verdict is SignatureVerdict.INVALID_SIGNATURE
    assert signed_energy([record]).kwh == Decimal("18.007")  # 15.507 kWh + the edit
    # Only the end reading changed; the signature is the honest record's.
    assert tampered.split("|")[2] == honest.split("|")[2]
    assert tampered.replace('"RV":1252.507', '"RV":1250.007') == honest


def test_time_and_register_texts() -> None:
    assert kwh_text(0) == "0.000"
    assert kwh_text(1_000_001) == "1000.001"
    assert kwh_text(-1_500) == "-1.500"
    moment = datetime(2026, 7, 1, 23, 59, 59, 999_999, tzinfo=UTC)
    assert ocmf_time(moment) == "2026-07-01T23:59:59,999+0000 S"
    assert parse_time(ocmf_time(moment)) == (moment.replace(microsecond=999_000), "S")


def live_session(token: TokenSpec, start_wh: int, energy_wh: int) -> Live:
    evse = EvseSpec(2, 1, Decimal("22"), PowerType.AC_3_PHASE)
    plan = draw_session(station_rng(SEED, CPID), f"{CPID}/2/0", evse, 0, 600, 7200, [token])
    live = Live(plan=plan, meter_start_wh=start_wh)
    live.stop_offset_s = 3600
    live.meter_stop_wh = start_wh + energy_wh
    return live


def station_time(sim_s: int) -> datetime:
    return datetime.fromtimestamp(STARTED.timestamp() + sim_s, UTC)


def test_a_station_meter_counts_its_records_and_signs_the_true_readings() -> None:
    meter = StationMeter(SEED, CPID)
    rfid, app = TokenSpec("RFID-9", TokenType.RFID), TokenSpec("APP-9", TokenType.APP)
    first = parse_ocmf(meter.sign(live_session(rfid, 2_000_000, 5_432), station_time))
    second = parse_ocmf(meter.sign(live_session(app, 2_005_432, 100), station_time))
    assert (first.pagination, second.pagination) == ("T1", "T2")
    assert (first.identification_type, second.identification_type) == ("ISO14443", "CENTRAL")
    assert first.charge_point_id == f"{CPID}*2"
    assert first.readings[0].time == station_time(600)
    assert first.readings[1].time == station_time(600 + 3600)
    assert signed_energy([first]).kwh == Decimal("5.432")
    assert signed_energy([second]).kwh == Decimal("0.100")
    for record in (first, second):
        assert VERIFIER.check(record, meter.public_key_hex).valid


def test_a_session_tampered_by_plan_sends_a_record_that_does_not_verify() -> None:
    meter = StationMeter(SEED, CPID)
    live = live_session(TokenSpec("RFID-9", TokenType.RFID), 2_000_000, 5_432)
    live.plan = replace(live.plan, fault=FaultKind.TAMPERED_METER, glitch_wh=1_234)
    record = parse_ocmf(meter.sign(live, station_time))
    assert signed_energy([record]).kwh == Decimal("6.666")
    assert VERIFIER.check(record, meter.public_key_hex).verdict is (
        SignatureVerdict.INVALID_SIGNATURE
    )


def test_a_bad_meter_signature_keeps_the_true_energy_but_does_not_verify() -> None:
    meter = StationMeter(SEED, CPID)
    live = live_session(TokenSpec("RFID-9", TokenType.RFID), 2_000_000, 5_432)
    live.plan = replace(live.plan, fault=FaultKind.BAD_METER_SIGNATURE)
    record = parse_ocmf(meter.sign(live, station_time))
    assert signed_energy([record]).kwh == Decimal("5.432")
    assert FaultKind.BAD_METER_SIGNATURE.quarantine_reason is None
    assert VERIFIER.check(record, meter.public_key_hex).verdict is (
        SignatureVerdict.INVALID_SIGNATURE
    )


def test_a_session_that_never_stopped_has_no_record() -> None:
    live = live_session(TokenSpec("RFID-9", TokenType.RFID), 2_000_000, 0)
    live.meter_stop_wh = None
    with pytest.raises(ValueError, match="not stopped"):
        StationMeter(SEED, CPID).sign(live, station_time)


def test_the_ocpp_carriers_hand_the_server_the_record_and_the_key() -> None:
    """What the server reads out of them (``stations/values.meter_samples``, the same
    snake_case keys the ``ocpp`` library hands its handlers)."""
    identity = meter_identity(SEED, CPID)
    text = signed_record(meter_key(SEED, CPID), transaction())
    v16 = {"timestamp": "2026-03-02T10:17:03Z", "sampled_value": [signed_data(text)]}
    register = {"value": 1_250_007, "context": ReadingContext.TRANSACTION_END.value}
    v201 = {
        "timestamp": "2026-03-02T10:17:03Z",
        "sampled_value": [
            {**register, "signed_meter_value": signed_meter_value(text, identity.public_key_hex)}
        ],
    }
    samples16, signed16 = meter_samples([v16])
    samples201, signed201 = meter_samples([v201])
    assert samples16 == []  # SignedData is never read as a number
    assert [s.value for s in samples201] == [Decimal(1_250_007)]
    for signed, key in ((signed16, None), (signed201, identity.public_key_hex)):
        assert [(s.format, s.context) for s in signed] == [("OCMF", ReadingContext.TRANSACTION_END)]
        unwrapped = unwrap(signed[0])
        assert unwrapped.ocmf == text
        assert unwrapped.public_key == key
    assert signed201[0].encoding_method == "OCMF"
    assert base64.b64decode(signed201[0].data).decode() == text


def test_tampering_needs_signed_data_and_is_quarantined_as_a_signed_energy_mismatch() -> None:
    assert FaultKind.TAMPERED_METER.quarantine_reason is QuarantineReason.SIGNED_ENERGY_MISMATCH
    assert FaultKind.NEGATIVE_ENERGY.quarantine_reason is QuarantineReason.NEGATIVE_ENERGY
    assert FaultKind.DISCONNECT.quarantine_reason is None
    assert SimulationOptions().signed_meter_data is True
    SimulationOptions(faults={FaultKind.TAMPERED_METER: 0.5})
    with pytest.raises(ValueError, match="tampered_meter"):
        SimulationOptions(faults={FaultKind.TAMPERED_METER: 0.5}, signed_meter_data=False)


def test_the_plan_picks_tampered_sessions_with_an_edit_in_range() -> None:
    window = Window(span_s=12 * 3600)
    spec = StationSpec(
        CPID, "pw", OcppVersion.V16, (EvseSpec(1, 1, Decimal("22")), EvseSpec(2, 1, Decimal("50")))
    )
    plans = [plan_station(spec, [TokenSpec("RFID-1")], SEED, window)]
    picked = assign_faults(plans, {FaultKind.TAMPERED_METER: 0.5}, SEED, window)
    tampered = [s for s in picked[0].sessions if s.fault is FaultKind.TAMPERED_METER]
    assert tampered
    assert all(TAMPER_RANGE_WH[0] <= s.glitch_wh <= TAMPER_RANGE_WH[1] for s in tampered)
    assert all(s.expected == "quarantine:signed_energy_mismatch" for s in tampered)


def test_the_command_line_switches_signed_data_off() -> None:
    required = ["run", "--url", "ws://127.0.0.1:1/ocpp", "--stations", "s", "--tokens", "t"]
    assert build_parser().parse_args(required).signed_data is True
    assert build_parser().parse_args([*required, "--no-signed-data"]).signed_data is False


def test_the_station_states_its_key_as_the_oca_note_composes_it() -> None:
    """OCA "Signed Meter Values in OCPP" §3.2.2: base64 of ``oca:base16:asn1:<printed>``."""
    identity = meter_identity(SEED, CPID)
    stated = oca_public_key(identity.public_key_hex)
    text = base64.b64decode(stated).decode()
    assert text.startswith("oca:base16:asn1:3059 3013 0607 2a86")
    assert normalise_public_key(stated) == identity.public_key_hex
