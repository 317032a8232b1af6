"""``chargeledger ocmf verify FILE|-``: check signed meter data (OCMF) offline (issue 15).

Exit codes are the contract for scripts: 0 only when every record's signature is ``valid``,
1 for any other verdict (``invalid_signature``, ``unknown_key``, ``malformed``), 2 when the
input holds no readable OCMF record at all. No database, no server: the check is the same
one the back office runs on stored sessions.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chargeledger.cli.common import console, fail
from chargeledger.domain.ocmf import OcmfError, OcmfReading
from chargeledger.domain.ocmf_energy import OcmfIssue, SignedEnergy
from chargeledger.services.charging.signed_data import (
    CheckedRecord,
    SignedDataReport,
    check_signed_data,
)

ocmf_app = typer.Typer(help="Signed meter data (OCMF).", no_args_is_help=True)
UNREADABLE_INPUT = 2


@ocmf_app.command("verify")
def verify(
    source: Annotated[
        str, typer.Argument(help="a file with the record, or - for stdin", metavar="FILE|-")
    ],
    public_key: Annotated[
        str | None,
        typer.Option(
            help="the meter's public key (hex or base64 SPKI DER, or bare X||Y hex); "
            "default: the key that came with the record"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON object")] = False,
) -> None:
    """Verify an OCMF record (plain, base64 or an OCPP signed meter value; one per line for a
    begin and an end record) and print its verdict, readings and signed energy. Exits 0 only
    when the signature is valid."""
    from chargeledger.bootstrap import meter_signature_verifier  # loaded when it runs (issue 17)

    text = _read(source)
    try:
        report = check_signed_data(meter_signature_verifier(), text, public_key)
    except OcmfError as exc:
        if as_json:
            print(json.dumps({"verdict": "malformed", "detail": exc.message}))
        raise fail(exc.message, exc.code, UNREADABLE_INPUT) from None
    if as_json:
        print(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.check.valid else 1)


def _read(source: str) -> str:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        return data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {source}: {exc}", "unreadable_input", UNREADABLE_INPUT) from None


def _print_report(report: SignedDataReport) -> None:
    colour = "green" if report.check.valid else "red"
    console.print(f"[bold {colour}]{report.verdict.value}[/]: {escape(report.check.detail)}")
    for number, checked in enumerate(report.records, start=1):
        record = checked.record
        title = (
            f"record {number}: meter {record.meter_serial or '-'}, "
            f"gateway {record.gateway_serial or '-'}, PG {record.pagination or '-'}, "
            f"{record.algorithm} - {checked.check.verdict.value}"
        )
        table = Table(
            "time",
            "status",
            "reason",
            "value",
            "unit",
            "register",
            "state",
            "flags",
            title=escape(title),
        )
        for reading in record.readings:
            table.add_row(*(escape(cell) for cell in _reading_cells(reading)))
        console.print(table)
    if report.energy is not None:
        energy = report.energy
        console.print(
            f"signed energy: {_plain(energy.kwh)} kWh on {energy.register or '-'} "
            f"(resolution {_plain(energy.resolution_kwh)} kWh)"
        )
        for issue in energy.issues:
            console.print(f"[yellow]{issue.code}[/]: {escape(issue.message)}")
    elif report.energy_problem is not None:
        console.print(f"signed energy: none ({escape(report.energy_problem.message)})")


def _reading_cells(reading: OcmfReading) -> list[str]:
    return [
        reading.time.strftime("%Y-%m-%d %H:%M:%S UTC") if reading.time else "",
        reading.time_status or "",
        reading.reason or "",
        _plain(reading.value),
        reading.unit,
        reading.register or "",
        reading.meter_state or "",
        reading.error_flags,
    ]


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _report_json(report: SignedDataReport) -> dict[str, Any]:
    first = report.records[0].record
    return {
        "verdict": report.verdict.value,
        "detail": report.check.detail,
        "meter_serial": first.meter_serial,
        "public_key": report.records[0].public_key,
        "records": [_record_json(checked) for checked in report.records],
        "signed_energy": _energy_json(report.energy),
        "energy_problem": _issue_json(report.energy_problem) if report.energy_problem else None,
    }


def _record_json(checked: CheckedRecord) -> dict[str, Any]:
    record = checked.record
    return {
        "verdict": checked.check.verdict.value,
        "detail": checked.check.detail,
        "meter_serial": record.meter_serial,
        "gateway_serial": record.gateway_serial,
        "pagination": record.pagination,
        "algorithm": record.algorithm,
        "public_key": checked.public_key,
        "readings": [
            {
                "time": reading.time.isoformat() if reading.time else None,
                "time_status": reading.time_status,
                "reason": reading.reason,
                "value": _plain(reading.value),
                "unit": reading.unit,
                "register": reading.register,
                "meter_state": reading.meter_state,
                "error_flags": reading.error_flags,
            }
            for reading in record.readings
        ],
    }


def _energy_json(energy: SignedEnergy | None) -> dict[str, Any] | None:
    if energy is None:
        return None
    return {
        "kwh": _plain(energy.kwh),
        "register": energy.register,
        "begin_kwh": _plain(energy.begin.kwh or Decimal(0)),
        "end_kwh": _plain(energy.end.kwh or Decimal(0)),
        "resolution_kwh": _plain(energy.resolution_kwh),
        "issues": [_issue_json(issue) for issue in energy.issues],
    }


def _issue_json(issue: OcmfIssue) -> dict[str, str]:
    return {"code": issue.code, "message": issue.message}
