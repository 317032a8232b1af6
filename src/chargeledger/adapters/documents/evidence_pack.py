"""An evidence pack (issue 15) as a PDF to read and a ZIP of JSON files to check.

The PDF opens with the case and the session, then the meter chart, the signed readings with
their verdicts (each record exactly as stored, monospace), the tariff with the price display
and the price lines, the payment events, the charging-state changes and transaction events,
and the station's OCPP log. The ZIP holds one JSON file per part
(:data:`~chargeledger.domain.evidence_json.DOCUMENT_NAMES`), the PDF, and ``manifest.json``
with the SHA-256 of every other file, so a recipient can tell that nothing was changed.

Both are reproducible (see :mod:`.pdf`): the PDF's dates are the moment the pack was
generated and fpdf2 derives its file id from the content; the ZIP's entries carry that same
moment, fixed attributes and a fixed order. The same pack gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from chargeledger.adapters.documents.drawing import monospace
from chargeledger.adapters.documents.evidence_chart import meter_chart
from chargeledger.adapters.documents.printing import FONT, GREY, HEADINGS, PDF_ENCODING, printable
from chargeledger.domain.evidence import EvidencePack, SessionFacts, SignedReadingEvidence
from chargeledger.domain.evidence_json import instant, jsonable, pack_documents
from chargeledger.domain.text import exact_amount, money_text, plain_number, quantity_text

PDF_NAME = "evidence.pdf"
MANIFEST_NAME = "manifest.json"
CHART_HEIGHT_MM = 75.0


class EvidencePdf(FPDF):
    """A4 portrait; the footer names the pack and the page."""

    def __init__(self, pack: EvidencePack) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.pack = pack
        self.core_fonts_encoding = PDF_ENCODING
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=20)
        self.alias_nb_pages()
        self.set_title(printable(pack.title))
        self.set_subject(printable(f"Evidence pack of charging session {pack.session.session_id}"))
        self.set_creator("chargeledger")
        self.set_lang("en")
        self.set_creation_date(pack.generated_at)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, size=7.5)
        self.set_text_color(*GREY)
        self.cell(0, 4, printable(f"{self.pack.title} - page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(FONT, "B", 12)
        self.multi_cell(0, 6.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def text_line(self, text: str, size: float = 8.5, style: str = "") -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, size * 0.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def facts(self, rows: Sequence[tuple[str, str]], label_width: float = 52) -> None:
        """Label and value rows (a table without headings)."""
        self.set_font(FONT, size=8.5)
        with self.table(
            col_widths=(label_width, self.epw - label_width),
            width=self.epw,
            borders_layout="HORIZONTAL_LINES",
            first_row_as_headings=False,
            line_height=4.3,
            padding=(0.6, 1),
            text_align="LEFT",
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(printable(label))
                row.cell(printable(value))
        self.ln(2)

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """A table with a heading row; long values wrap at any character (hashes, JSON)."""
        self.set_font(FONT, size=7)
        with self.table(
            col_widths=tuple(widths),
            width=self.epw,
            borders_layout="HORIZONTAL_LINES",
            headings_style=HEADINGS,
            line_height=3.6,
            padding=(0.5, 0.8),
            text_align="LEFT",
            wrapmode=WrapMode.CHAR,
        ) as table:
            heading = table.row()
            for text in headings:
                heading.cell(printable(text))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(printable(value))
        self.ln(2)


def render_evidence_pdf(pack: EvidencePack) -> bytes:
    """The PDF of ``pack`` (see the module docstring)."""
    pdf = EvidencePdf(pack)
    pdf.add_page()
    _cover(pdf, pack)
    _meter(pdf, pack)
    _signed_readings(pdf, pack)
    _tariff_and_price(pdf, pack)
    _payments(pdf, pack)
    _state_changes(pdf, pack)
    _ocpp_log(pdf, pack)
    return bytes(pdf.output())


def _text(value: Any) -> str:
    """A value of the pack as one line of text: as its JSON form reads."""
    plain = jsonable(value)
    if plain is None:
        return "-"
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)


def moment(value: datetime) -> str:
    """An instant as printed: UTC to the millisecond where it has a fraction (the JSON files
    keep it to the microsecond)."""
    utc = value.astimezone(UTC)
    fraction = f".{utc.microsecond // 1000:03d}" if utc.microsecond else ""
    return utc.strftime("%Y-%m-%d %H:%M:%S") + fraction


def _wh(value: Decimal | None) -> str:
    return "-" if value is None else quantity_text(value, "Wh")


def _cover(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(0, 7.5, printable(pack.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.text_line(f"Generated {moment(pack.generated_at)} UTC", 8.5)
    pdf.text_line(
        "All times are UTC. Station times are as the station's clock reported them; the OCPP "
        "log is on our clock. The JSON files of this pack carry every figure exactly.",
        8,
    )
    pdf.heading("Case")
    if pack.case:
        pdf.facts([(str(key), _text(value)) for key, value in pack.case.items()])
    else:
        pdf.text_line("No dispute case is attached to this pack.")
    pdf.heading("Charging session")
    pdf.facts(_session_rows(pack.session))


def _session_rows(s: SessionFacts) -> list[tuple[str, str]]:
    return [
        ("Session", str(s.session_id)),
        ("Station / EVSE / connector", f"{s.station} / {s.evse_id} / {s.connector_id}"),
        ("Site (time zone)", f"{s.site} ({s.time_zone})"),
        ("Transaction (OCPP version)", f"{s.transaction_ref} (OCPP {s.ocpp_version})"),
        ("Identifier (idTag)", s.id_tag or "-"),
        ("Account", _text(s.account_id)),
        ("Payment route", s.payment_route),
        ("Status", s.status),
        ("Started", moment(s.started_at)),
        ("Stopped", "-" if s.stopped_at is None else moment(s.stopped_at)),
        ("Stop reason", s.stop_reason or "-"),
        ("Meter start / stop (reported)", f"{_wh(s.meter_start_wh)} / {_wh(s.meter_stop_wh)}"),
        (
            "Meter start / stop (corrected)",
            f"{_wh(s.corrected_meter_start_wh)} / {_wh(s.corrected_meter_stop_wh)}",
        ),
        ("Energy billed", _wh(s.billed_energy_wh)),
        ("Charging / idle", f"{_text(s.charging_seconds)} s / {_text(s.idle_seconds)} s"),
        ("Held back because", ", ".join(s.quarantine_reasons) or "-"),
        ("Operator's release note", s.resolution_note or "-"),
        ("Tariff version", _text(s.tariff_id)),
    ]


def _meter(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.heading("Meter data: energy and power over time")
    series = pack.meter_series
    if not series:
        pdf.text_line("The station reported no meter readings for this session.")
        return
    if pdf.get_y() + CHART_HEIGHT_MM > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y()
    meter_chart(pdf, series, pdf.l_margin, top, pdf.epw, CHART_HEIGHT_MM)
    pdf.set_y(top + CHART_HEIGHT_MM + 2)
    pdf.text_line(
        f"{len(series)} readings from {moment(series[0].time)} to {moment(series[-1].time)} "
        "(the file meter.json lists every one)."
    )


def _signed_readings(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.heading("Signed meter readings")
    if not pack.signed_readings:
        pdf.text_line("The station sent no signed meter data for this session.")
        return
    for number, reading in enumerate(pack.signed_readings, start=1):
        pdf.text_line(f"Record {number}: {reading.context} at {moment(reading.timestamp)}", 9, "B")
        verdict = reading.verdict or "not verified"
        pdf.facts(
            [
                ("Format / signing / encoding", _signing(reading)),
                ("Verdict", verdict + (f" - {reading.detail}" if reading.detail else "")),
                ("Register we billed from", _kwh(reading.energy_kwh)),
            ]
        )
        pdf.text_line("Data exactly as stored:", 7.5, "B")
        monospace(pdf, reading.data)
        if reading.public_key:
            pdf.text_line("Public key reported by the station:", 7.5, "B")
            monospace(pdf, reading.public_key)
        pdf.ln(2)


def _signing(reading: SignedReadingEvidence) -> str:
    methods = (reading.format, reading.signing_method, reading.encoding_method)
    return " / ".join(m or "-" for m in methods)


def _kwh(value: Decimal | None) -> str:
    return "-" if value is None else quantity_text(value, "kWh")


def _tariff_and_price(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.heading("Tariff and price")
    tariff = pack.tariff
    if tariff is None:
        pdf.text_line("The session started without a tariff.")
    else:
        contract = " (under the contract's price book)" if tariff.contract_priced else ""
        pdf.text_line(
            f"Tariff {tariff.ocpi_id}, version {tariff.tariff_id}{contract}, in {tariff.currency}."
        )
        pdf.text_line("The price as shown before the start:", 8.5, "B")
        for line in tariff.display:
            pdf.text_line(f"- {line}")
        pdf.ln(1)
    price = pack.price
    if price is None:
        pdf.text_line(f"No price: {pack.price_note or 'the session cannot be priced'}.", 8.5, "B")
        return
    cur = price.currency
    pdf.text_line(
        f"{'Cost so far (the session is running)' if price.live else 'Price'} of "
        f"{quantity_text(price.energy_kwh, 'kWh')}, each line exact:",
        8.5,
        "B",
    )
    pdf.grid(
        ("Component", "Volume", "Unit price", f"Net {cur}", f"Gross {cur}", "Why"),
        [
            (
                line.category,
                f"{plain_number(line.volume, 4)} {line.unit}".strip(),
                exact_amount(line.unit_price, cur, 4),
                exact_amount(line.excl_vat, cur, 4),
                exact_amount(line.incl_vat, cur, 4),
                line.explanation,
            )
            for line in price.lines
        ],
        (22, 20, 20, 20, 20, pdf.epw - 102),
    )
    components = ", ".join(
        f"{name} {money_text(amount, cur)}" for name, amount in price.components if amount
    )
    vat = f"VAT {price.vat_category} {plain_number(price.vat_percent)}%"
    pdf.facts(
        [
            ("Net by component (rounded)", components or "-"),
            ("Net", money_text(price.net, cur)),
            (vat + (f" ({price.vat_note})" if price.vat_note else ""), money_text(price.tax, cur)),
            ("Total charged", money_text(price.gross, cur)),
        ]
    )


def _payments(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.heading("Payment events")
    if not pack.payment_events:
        pdf.text_line("No payment was taken at the session (it is billed on an invoice).")
        return
    pdf.grid(
        ("At", "Payment", "Method / PSP", "Event", "Amount", "PSP reference / detail"),
        [
            (
                moment(e.at),
                str(e.payment_id),
                f"{e.method} / {e.gateway}",
                e.kind,
                money_text(e.amount, e.currency),
                " / ".join(x for x in (e.provider_ref, e.detail) if x) or "-",
            )
            for e in pack.payment_events
        ],
        (31, 32, 24, 19, 22, pdf.epw - 128),
    )


def _state_changes(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.heading("Charging-state changes and transaction events")
    if pack.state_changes:
        pdf.grid(
            ("At (station clock)", "State"),
            [(moment(c.timestamp), c.state.value) for c in pack.state_changes],
            (50, pdf.epw - 50),
        )
    else:
        pdf.text_line("No charging-state change was reported.")
    if pack.transaction_events:
        pdf.grid(
            ("Seq. no.", "Event", "At (station clock)", "Trigger", "Offline"),
            [
                (
                    str(e.seq_no),
                    e.event_type,
                    moment(e.timestamp),
                    e.trigger_reason,
                    "yes" if e.offline else "no",
                )
                for e in pack.transaction_events
            ],
            (16, 24, 40, 60, pdf.epw - 140),
        )
    else:
        pdf.text_line("No OCPP 2.0.1 transaction events (an OCPP 1.6 session has none).")


def _ocpp_log(pdf: EvidencePdf, pack: EvidencePack) -> None:
    pdf.heading("OCPP message log of the station")
    pdf.text_line(
        "Each CALL the station sent around the session, when we received it (our clock), the "
        "SHA-256 of its payload and the answer we gave."
    )
    if not pack.ocpp_log:
        pdf.text_line("The log keeps no message of the station from the session's time.")
        return
    pdf.grid(
        ("Received", "Action", "Message id", "Request SHA-256", "Our answer"),
        [
            (moment(c.received_at), c.action, c.message_id, c.request_hash, c.response)
            for c in pack.ocpp_log
        ],
        (31, 26, 25, 38, pdf.epw - 120),
    )


def evidence_zip(pack: EvidencePack, pdf: bytes) -> bytes:
    """The ZIP of ``pack``: its JSON files, the PDF and the manifest (module docstring)."""
    files = [
        (f"{name}.json", _json_bytes(document)) for name, document in pack_documents(pack).items()
    ]
    files.append((PDF_NAME, pdf))
    manifest = {
        "title": pack.title,
        "generated_at": instant(pack.generated_at),
        "session_id": str(pack.session.session_id),
        "files": [
            {"name": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
            for name, content in files
        ],
    }
    files.append((MANIFEST_NAME, _json_bytes(manifest)))
    moment = pack.generated_at.astimezone(UTC)
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files:
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # Unix, whatever system writes it
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, content)
    return buffer.getvalue()


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


class EvidencePackFiles:
    """The ``EvidenceDocuments`` port with fpdf2 and zipfile; holds nothing."""

    def pdf(self, pack: EvidencePack) -> bytes:
        return render_evidence_pdf(pack)

    def zip(self, pack: EvidencePack) -> bytes:
        return evidence_zip(pack, render_evidence_pdf(pack))
