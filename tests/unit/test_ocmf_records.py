"""OCMF records beyond the signature: the readings the S.A.F.E. tests state (conformance
README §2), the oddities real meters send (§4), begin/end transactions (§3) and the carriers
and key forms of OCPP (notes §3)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeledger.adapters.meter_signatures import OcmfSignatureVerifier
from chargeledger.domain.charging import ReadingContext
from chargeledger.domain.ocmf import OcmfError, OcmfRecord, SignatureVerdict, parse_ocmf
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.ocmf_energy import signed_energy, transaction_issues
from chargeledger.domain.ocmf_keys import normalise_public_key, read_public_key
from chargeledger.domain.station_link import SignedMeterValue
from tests.unit.ocmf_samples import record_text, row, rows

VERIFIER = OcmfSignatureVerifier()
KEBA = "safe:xml/test_ocmf_keba_kcp30.xml#0"
EBEE_01 = ("safe:xml/test_ocmf_ebee_01.xml#0", "safe:xml/test_ocmf_ebee_01.xml#1")


def record(row_id: str) -> OcmfRecord:
    return parse_ocmf(record_text(row(row_id)))


# -- readings the sources state (README §2) ---------------------------------------------------


def test_keba_kcp30_ends_at_0_2597_kwh() -> None:
    end = record(KEBA).readings[-1]
    assert (end.reason, end.kwh, end.unit, end.time_status) == ("E", Decimal("0.2597"), "kWh", "R")


def test_brainpool_readings_are_1833_wh_and_the_session_0_kwh() -> None:
    begin, end = record("safe:xml/brainpoolP256r1.xml#0"), record("safe:xml/brainpoolP256r1.xml#1")
    assert begin.readings[0].value == Decimal(1833)
    assert begin.readings[0].kwh == Decimal("1.833")
    assert signed_energy([begin, end]).kwh == 0


def test_ebee_01_begins_at_7_753_kwh() -> None:
    assert record("safe:xml/test_ocmf_ebee_01.xml#0").readings[0].kwh == Decimal("7.753")


def test_vw_load_is_1_101_kwh() -> None:
    energy = signed_energy([record("safe:xml/VW_OCMF_load.xml#0")])
    assert (energy.begin.value, energy.end.value) == (Decimal("57.584"), Decimal("58.685"))
    assert energy.kwh == Decimal("1.101")
    assert energy.resolution_kwh == Decimal("0.001")


def test_the_compensated_transaction_register_is_preferred() -> None:
    """ "1,0 kWh kompensiert": DZG's 98.8.0 register, not the 2.8.0 export register beside it."""
    energy = signed_energy([record("safe:xml/Ocmf_Example_OBIS_98.8.0_2.8.0.xml#0")])
    assert energy.register == "1-0:98.8.0.FF"
    assert energy.kwh == Decimal("1.0")


def test_ef_t_begins_at_80_77_kwh_with_the_time_flag_kept() -> None:
    begin = record("safe-java:EF_T_TEST").readings[0]
    assert begin.kwh == Decimal("80.77")
    assert begin.error_flags == "t"


def test_abl_legacy_record_reads_2935_6_kwh_at_its_local_time() -> None:
    abl = record("safe-java:ABL_TEST_DATA")
    reading = abl.readings[0]
    assert abl.format_version == "0.1"
    assert abl.identified is True  # IS sent as the string "VERIFIED"
    assert reading.value == Decimal("2935.6")
    assert reading.time == datetime(2018, 7, 24, 11, 22, 4, tzinfo=UTC)
    assert reading.time_status == "S"


# -- oddities to survive (README §4) ----------------------------------------------------------


def test_quoted_space_padded_values_keep_their_decimals() -> None:
    reading = record("safe:xml/second_key_fail_ocmf.xml#0").readings[0]
    assert reading.value == Decimal("48.542")
    assert str(reading.value) == "48.542"


def test_a_numeric_format_version_and_base64_signature_encoding() -> None:
    chargepoint = record("safe:xml/chargepoint_3.xml#0")
    assert chargepoint.format_version == "1.0"
    assert chargepoint.encoding.lower() == "base64"


def test_omitted_fields_are_carried_forward_and_1970_clocks_kept_as_unsynced() -> None:
    keba = record("safe:xml/keba_test.xml#0")
    last = keba.readings[2]  # {"RV":0.00,"RI":"1-b:1.9.0","RU":"kWh"}
    assert (last.reason, last.time_status, last.meter_state) == ("E", "R", "G")
    assert last.time == keba.readings[1].time
    assert keba.readings[0].time == datetime(1970, 1, 1, 0, 1, 49, tzinfo=UTC)
    assert keba.readings[0].time_status == "U"


def test_vendor_keys_stay_in_the_payload() -> None:
    bauer = record("safe:xml/20211007-device-with-evt-ocmf-sss-ses.xml#0")
    assert "XV" in bauer.payload["RD"][0]  # Bauer's vendor fields inside a reading
    assert "UC" in record("safe:xml/VW_OCMF_load.xml#0").payload["RD"][0]  # LEM, per reading
    assert {"VR", "ZC", "XP"} <= set(record("pyocmf:base64_ocmf.xml").payload)  # Enercharge


def test_pagination_is_split_into_context_and_counter() -> None:
    keba = record(KEBA)
    assert (keba.pagination_context, keba.pagination_counter) == ("T", 32)


def test_the_signature_covers_the_payload_as_received_never_re_serialised() -> None:
    text = record_text(row(KEBA))
    key = row(KEBA)["public_key"]
    _, payload, signature = text.split("|")
    rewritten = json.dumps(json.loads(payload), separators=(", ", ": "))
    assert VERIFIER.check(parse_ocmf(text), key).valid
    assert not VERIFIER.check(parse_ocmf(f"OCMF|{rewritten}|{signature}"), key).valid


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hello", "does not start"),
        ("OCMF|{}", "3 sections"),
        ('OCMF|{"RD":[]}|{"SD":"30"}', "no readings"),
        ('OCMF|[1]|{"SD":"30"}', "not a JSON object"),
        ('OCMF|{"RD":[{"RV":1,"RU":"kWh"}]}|{}', "no signature data"),
        ('OCMF|{"RD":[{"RV":"x","RU":"kWh"}]}|{"SD":"30"}', "not a number"),
        ('OCMF|{"RD":[{"RU":"kWh"}]}|{"SD":"30"}', "no value"),
        ('OCMF|{"RD":[{"RV":1,"RU":"kWh","TM":"yesterday"}]}|{"SD":"30"}', "time"),
        ("OCMF|{not json|{}", "not JSON"),
    ],
)
def test_unreadable_records_raise_ocmf_malformed(text: str, says: str) -> None:
    with pytest.raises(OcmfError) as raised:
        parse_ocmf(text)
    assert raised.value.code == "ocmf_malformed"
    assert says in raised.value.message


def test_an_appended_key_section_is_kept_apart_from_the_signed_bytes() -> None:
    text = record_text(row(KEBA))
    appended = parse_ocmf(f"{text}|{row(KEBA)['public_key']}")
    assert appended.signed_bytes == parse_ocmf(text).signed_bytes
    assert unwrap(f"{text}|{row(KEBA)['public_key']}").public_key == row(KEBA)["public_key"].lower()


# -- transactions of a begin and an end record (README §3) -------------------------------------


def _transaction(*row_ids: str) -> tuple[str, ...]:
    records = [record(row_id) for row_id in row_ids]
    keys = [row(row_id)["public_key"] for row_id in row_ids]
    checks = [VERIFIER.check(r, k) for r, k in zip(records, keys, strict=True)]
    normalised = [normalise_public_key(k, r.curve) for r, k in zip(records, keys, strict=True)]
    return tuple(issue.code for issue in transaction_issues(records, checks, normalised))


def test_ebee_01_is_a_proven_transaction() -> None:
    assert (
        _transaction("safe:xml/test_ocmf_ebee_01.xml#0", "safe:xml/test_ocmf_ebee_01.xml#1") == ()
    )


def test_ebee_02_fails_altered_begin_and_end_below_begin() -> None:
    issues = _transaction("safe:xml/test_ocmf_ebee_02.xml#0", "safe:xml/test_ocmf_ebee_02.xml#1")
    assert issues == ("signature_not_valid", "energy_regression")


def test_second_key_fail_fails_the_key_changes() -> None:
    issues = _transaction(
        "safe:xml/second_key_fail_ocmf.xml#0", "safe:xml/second_key_fail_ocmf.xml#1"
    )
    assert "key_changed" in issues
    assert "signature_not_valid" in issues


def test_records_of_different_meters_or_out_of_order_are_no_transaction() -> None:
    begin, end = (
        record("safe:xml/test_ocmf_ebee_01.xml#0"),
        record("safe:xml/test_ocmf_ebee_01.xml#1"),
    )
    other_meter = parse_ocmf(end.raw.replace('"MS":"000033022620"', '"MS":"999"'))
    codes = {issue.code for issue in signed_energy([begin, other_meter]).issues}
    assert codes == {"meter_serial_changed"}
    backwards = parse_ocmf(end.raw.replace('"PG":"T29"', '"PG":"T27"'))
    assert {i.code for i in signed_energy([begin, backwards]).issues} == {"pagination_order"}


def test_no_begin_and_end_pair_raises() -> None:
    with pytest.raises(OcmfError, match="no begin and end"):
        signed_energy([record("safe:xml/test_ocmf_ebee_01.xml#0")])


# -- carriers and keys (notes §3) --------------------------------------------------------------


@pytest.mark.parametrize("case", rows("ocpp_examples.jsonl"), ids=lambda case: case["id"])
def test_ocpp_carriers_unwrap_to_the_record_and_a_valid_signature(case: dict[str, object]) -> None:
    sampled = case["sampled_value"]
    assert isinstance(sampled, dict)
    found = unwrap(json.dumps(sampled))
    assert found.ocmf == case["decoded_ocmf"]
    signed = sampled.get("signedMeterValue")
    if isinstance(signed, dict):  # 2.0.1: as we store it
        stored = SignedMeterValue(
            timestamp=datetime(2021, 10, 6, tzinfo=UTC),
            context=ReadingContext.TRANSACTION_END,
            format="SignedData",
            data=signed["signedMeterData"],
            public_key=signed.get("publicKey"),
            encoding_method=signed.get("encodingMethod"),
        )
        found = unwrap(stored)
        assert found.ocmf == case["decoded_ocmf"]
    key = found.public_key or str(case["public_key"])
    if found.public_key is not None:
        assert found.public_key == str(case["public_key"]).lower()
    parsed = parse_ocmf(found.ocmf)
    assert VERIFIER.check(parsed, key).valid
    assert signed_energy([parsed]).kwh == Decimal(str(case["signed_session_energy_kWh"]))


def test_the_oca_example_bills_0_636_kwh_not_the_lifetime_register() -> None:
    case = row("ocpp16:oca-signed-meter-values-note-example")
    energy = signed_energy([parse_ocmf(unwrap(json.dumps(case["sampled_value"])).ocmf)])
    assert energy.kwh == Decimal("0.636")
    assert case["ocpp_meterStop_Wh"] == 108814  # the unsigned number beside it


def test_a_datatransfer_body_carries_the_record() -> None:
    text = record_text(row(KEBA))
    body = {
        "vendorId": "KEBA",
        "messageId": "SignedMeterValue",
        "data": json.dumps(
            {
                "signedMeterData": base64.b64encode(text.encode()).decode(),
                "publicKey": row(KEBA)["public_key"],
            }
        ),
    }
    found = unwrap(json.dumps(body))
    assert found.ocmf == text
    assert found.public_key == row(KEBA)["public_key"].lower()


def test_every_key_form_normalises_to_one_spki_hex() -> None:
    hex_der = row(KEBA)["public_key"]
    der = bytes.fromhex(hex_der)
    point = read_public_key(hex_der).point
    forms = [
        hex_der,
        hex_der.lower(),
        base64.b64encode(der).decode(),
        base64.b64encode(hex_der.encode()).decode(),  # OCA: base64 of the hex text
        base64.b64encode(json.dumps({"UK": hex_der}).encode()).decode(),  # KEBA P30
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.b64encode(der).decode()
        + "\n-----END PUBLIC KEY-----",
    ]
    assert {normalise_public_key(form) for form in forms} == {hex_der.lower()}
    assert normalise_public_key(point[1:].hex(), "secp256r1") == hex_der.lower()
    with pytest.raises(OcmfError, match="needs the curve"):
        normalise_public_key(point[1:].hex())


def test_the_oca_notes_composition_is_read_as_printed_on_the_meter() -> None:
    """OCA "Signed Meter Values in OCPP" v1.0 §3.2.2: base64 of
    ``oca:<encoding>:<content-type>:<printed key>``; base16 ignores case, anything not
    hexadecimal and a 0x prefix (a label groups the digits as its maker likes)."""
    hex_der = row(KEBA)["public_key"]
    printed = "0x" + " ".join(hex_der[i : i + 4].lower() for i in range(0, len(hex_der), 4))
    der64 = base64.b64encode(bytes.fromhex(hex_der)).decode()
    forms = [
        base64.b64encode(f"oca:base16:asn1:{printed}".encode()).decode(),
        base64.b64encode(f"OCA:Base16:ASN1:{hex_der}".encode()).decode(),
        f"oca:base16:asn1:{printed}",  # not base64'd, as some configurations hold it
        base64.b64encode(f"oca:base64:asn1:{der64}".encode()).decode(),
    ]
    assert {normalise_public_key(form) for form in forms} == {hex_der.lower()}
    for bad, says in (
        ("oca:base16:x509:" + hex_der, "content type"),
        ("oca:base32:asn1:" + hex_der, "encoding"),
        ("oca:base16:" + hex_der, "four parts"),
        ("oca:base16:asn1:" + hex_der[:-1], "whole bytes"),
        ("oca:base64:asn1:!!!", "base64"),
    ):
        with pytest.raises(OcmfError, match=says):
            normalise_public_key(base64.b64encode(bad.encode()).decode())


def test_unusable_keys_and_algorithms_are_malformed_not_invalid() -> None:
    keba = record(KEBA)
    assert VERIFIER.check(keba, None).verdict is SignatureVerdict.UNKNOWN_KEY
    assert VERIFIER.check(keba, "  ").verdict is SignatureVerdict.UNKNOWN_KEY
    assert VERIFIER.check(keba, "not a key!").verdict is SignatureVerdict.MALFORMED
    odd = parse_ocmf(keba.raw.replace('{"SD"', '{"SA":"RSA-2048-SHA256","SD"'))
    check = VERIFIER.check(odd, row(KEBA)["public_key"])
    assert check.verdict is SignatureVerdict.MALFORMED
    assert "RSA-2048" in check.detail
    cut = parse_ocmf(keba.raw.replace('"SD":"3045', '"SD":"3099'))
    assert VERIFIER.check(cut, row(KEBA)["public_key"]).verdict is SignatureVerdict.MALFORMED
