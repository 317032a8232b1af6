"""``chargeledger ocmf verify`` on conformance records (issue 15): the verdict, the exit code a
script relies on (0 only when valid, 1 otherwise, 2 for unreadable input) and ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chargeledger.cli import app
from tests.unit.ocmf_samples import record_text, row

KEBA = "safe:xml/test_ocmf_keba_kcp30.xml#0"
TAMPERED = "pyocmf:KEBA_OCMF_STRING_TAMPERED"


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "record.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_valid_record_exits_0_with_its_readings(tmp_path: Path) -> None:
    source = _file(tmp_path, record_text(row(KEBA)))
    result = CliRunner().invoke(
        app, ["ocmf", "verify", source, "--public-key", row(KEBA)["public_key"]]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid:")
    assert "0.2597" in result.output
    assert "signed energy: 0.0001 kWh" in result.output


def test_a_tampered_record_exits_1_as_invalid(tmp_path: Path) -> None:
    source = _file(tmp_path, record_text(row(TAMPERED)))
    key = row(TAMPERED)["public_key"]
    result = CliRunner().invoke(app, ["ocmf", "verify", source, "--public-key", key, "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["verdict"] == "invalid_signature"


def test_without_a_key_the_verdict_is_unknown_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ocmf", "verify", _file(tmp_path, record_text(row(KEBA)))])
    assert result.exit_code == 1
    assert result.output.startswith("unknown_key:")


def test_the_key_comes_from_the_carrier_read_from_stdin() -> None:
    """The OCA example: an OCPP 1.6 value whose key is base64 of the hex text of the DER."""
    case = row("ocpp16:oca-signed-meter-values-note-example")
    carrier = case["sampled_value"]["value"]
    result = CliRunner().invoke(app, ["ocmf", "verify", "-", "--json"], input=carrier)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["verdict"] == "valid"
    assert report["meter_serial"] == "1DZG0028225179"
    assert report["public_key"] == case["public_key"].lower()
    assert report["signed_energy"]["kwh"] == "0.636"
    assert report["signed_energy"]["issues"] == []


def test_a_begin_and_an_end_record_one_per_line(tmp_path: Path) -> None:
    ids = ("safe:xml/test_ocmf_ebee_02.xml#0", "safe:xml/test_ocmf_ebee_02.xml#1")
    source = _file(tmp_path, "\n".join(record_text(row(i)) for i in ids) + "\n")
    key = row(ids[0])["public_key"]
    result = CliRunner().invoke(app, ["ocmf", "verify", source, "--public-key", key, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert [r["verdict"] for r in report["records"]] == ["invalid_signature", "valid"]
    assert report["signed_energy"]["kwh"] == "-0.010"
    assert [i["code"] for i in report["signed_energy"]["issues"]] == ["energy_regression"]


def test_an_unreadable_key_is_malformed(tmp_path: Path) -> None:
    source = _file(tmp_path, record_text(row(KEBA)))
    result = CliRunner().invoke(app, ["ocmf", "verify", source, "--public-key", "0badc0de"])
    assert result.exit_code == 1
    assert result.output.startswith("malformed:")


def test_garbage_and_missing_files_exit_2_without_a_traceback(tmp_path: Path) -> None:
    garbage = CliRunner().invoke(app, ["ocmf", "verify", _file(tmp_path, "hello world")])
    assert garbage.exit_code == 2
    assert "[ocmf_malformed]" in garbage.output
    assert "Traceback" not in garbage.output
    missing = CliRunner().invoke(app, ["ocmf", "verify", str(tmp_path / "absent.txt")])
    assert missing.exit_code == 2
    assert "[unreadable_input]" in missing.output
