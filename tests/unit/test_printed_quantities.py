"""Issue 11 item 15: 20 kWh prints as ``20 kWh`` in every text we print, whatever Decimal form
the 20 arrives in (``20``, ``20.000`` from a NUMERIC column, ``2E+1`` from ``normalize()``):
ledger narrations and their exports, invoice and receipt lines (the PDF and the e-invoice),
price displays and explanations, and the CLI."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]
from pypdf import PdfReader
from typer.testing import CliRunner

from chargeledger.adapters.documents import invoice_pdf, invoice_xml
from chargeledger.adapters.documents.cii import NAMESPACES
from chargeledger.adapters.exports.beancount import BeancountExporter
from chargeledger.adapters.exports.csv_formats import CsvLedgerExporter
from chargeledger.cli import app
from chargeledger.cli import common as cli_common
from chargeledger.domain.billing import COMPONENTS, Charge, VatCategory, VatTreatment
from chargeledger.domain.invoicing import charge_line
from chargeledger.domain.postings import charge_accrual
from chargeledger.domain.tariffs import parse_tariff
from chargeledger.domain.tariffs.display import price_display
from tests.unit.documents import invoices

# The same 20 kWh in the forms it reaches a printer in.
TWENTY = [Decimal(20), Decimal("20.000"), Decimal("20.000").normalize()]


def _charge(energy: Decimal) -> Charge:
    return Charge(
        session_id=uuid.UUID(int=7),
        account_id=uuid.UUID(int=8),
        ad_hoc=False,
        site_id=uuid.UUID(int=9),
        site_name="Alexanderplatz",
        station_id=uuid.UUID(int=10),
        station_name="BER-ALX-01",
        evse_id=1,
        country="DE",
        time_zone="Europe/Berlin",
        currency="EUR",
        started_at=datetime(2026, 10, 3, 8, tzinfo=UTC),
        stopped_at=datetime(2026, 10, 3, 9, tzinfo=UTC),
        energy_kwh=energy,
        charging_hours=Decimal(1),
        idle_hours=Decimal(0),
        components=tuple(
            (name, Decimal("5.00") if name == "Energy" else Decimal(0)) for name in COMPONENTS
        ),
        vat=VatTreatment(VatCategory.STANDARD, Decimal(19)),
        tariff_id=None,
    )


@pytest.mark.parametrize("energy", TWENTY, ids=str)
def test_a_ledger_narration_and_its_exports_say_20_kwh(energy: Decimal) -> None:
    entry = charge_accrual(_charge(energy), date(2026, 10, 3))
    assert entry is not None
    assert entry.description.endswith(", 20 kWh")
    beancount = BeancountExporter().export([entry], start=None, end=None, title="t")
    csv = CsvLedgerExporter().export([entry], start=None, end=None, title="t")
    for text in (entry.description, beancount, csv):
        assert "20 kWh" in text
        assert "E+" not in text
        assert "20.000" not in text


@pytest.mark.parametrize("energy", TWENTY, ids=str)
def test_an_invoice_line_says_20_kwh_in_the_pdf_and_the_e_invoice(energy: Decimal) -> None:
    line = charge_line(1, _charge(energy), "EUR")
    assert line.description.startswith("Charging 20 kWh at Alexanderplatz")
    billed = invoices.session(
        1,
        "Alexanderplatz",
        "BER-ALX-01",
        _charge(energy).started_at,
        {"Energy": "5.00"},
        energy=str(energy),
    )
    document = invoices.issue(invoices.draft_invoice(invoices.DRIVER, (billed,)), 3)
    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(invoice_pdf(document))).pages
    )
    assert "Charging 20 kWh at Alexanderplatz" in text
    assert "20 kWh, 1:30 h (idle 0:15 h)" in text
    assert "E+" not in text
    assert "20.000" not in text
    values = etree.fromstring(invoice_xml(document)).xpath(
        "//ram:ApplicableProductCharacteristic[ram:Description='Energy (kWh)']/ram:Value",
        namespaces=NAMESPACES,
    )
    assert [value.text for value in values] == ["20"]


def test_a_price_display_says_20_kwh_and_keeps_the_unit_price() -> None:
    tariff = parse_tariff(
        {
            "id": "D",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": "0.595", "vat": "19", "step_size": 100},
                        {"type": "PARKING_TIME", "price": "6.0", "step_size": 90},
                    ],
                    "restrictions": {
                        "min_kwh": "2E+1",
                        "max_power": "11.000",
                        "min_duration": 5400,
                    },
                },
            ],
        }
    )
    assert price_display(tariff) == [
        "from 20 kWh; after 90 min; at 0-11 kW: 0.595 EUR per kWh (0.7081 EUR incl. 19% VAT), "
        "billed per 100 Wh",
        "from 20 kWh; after 90 min; at 0-11 kW: 6.00 EUR per hour idle (parking), billed per 90 s",
    ]


def test_the_price_command_prints_20_kwh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``chargeledger price``: the line volumes, the unit prices and the step explanation in
    plain decimals (it printed ``2E+1 kWh`` and ``rounded up from 20450 to 2.05E+4``)."""
    tariff = {
        "id": "C",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 500}]}],
    }
    cdr = {
        "start_date_time": "2026-10-03T08:00:00Z",
        "end_date_time": "2026-10-03T09:00:00Z",
        "currency": "EUR",
        "charging_periods": [
            {
                "start_date_time": "2026-10-03T08:00:00Z",
                "dimensions": [{"type": "ENERGY", "volume": "2E+1"}, {"type": "TIME", "volume": 1}],
            },
            {
                "start_date_time": "2026-10-03T08:30:00Z",
                "dimensions": [{"type": "ENERGY", "volume": "0.450"}],
            },
        ],
    }
    (tmp_path / "t.json").write_text(json.dumps(tariff))
    (tmp_path / "c.json").write_text(json.dumps(cdr))
    # The CLI's console takes its width when it is made (pytest-xdist workers say 80 columns).
    monkeypatch.setattr(cli_common.console, "width", 300)
    result = CliRunner().invoke(app, ["price", str(tmp_path / "t.json"), str(tmp_path / "c.json")])
    assert result.exit_code == 0, result.output
    assert "20 kWh" in result.output
    assert "from 20450 Wh to 20500 Wh" in result.output
    assert "E+" not in result.output
