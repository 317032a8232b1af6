"""The annex of signed meter data on an invoice or a receipt (issue 15, "On the invoice and
receipt").

Where a calibrated meter signed its readings (OCMF, German Eichrecht: PTB-A 50.7), whoever
bills from them must let the customer check them easily (MessEG §33(3)). So each billed
session with signed data lists its records exactly as stored (monospace, cut at a fixed
width so every character can be read back), the record as a verifier reads it where the
station sent it base64-encoded (OCPP 2.0.1 signedMeterData), the public key the station
reported with it, and a QR code of the record to scan into the S.A.F.E.
Transparenzsoftware, which shows what the meter signed. Credit notes and self-billed
invoices have no such annex: they bill no session's energy to the customer.
"""

from __future__ import annotations

from collections.abc import Sequence

import segno
from fpdf import FPDF

from chargeledger.adapters.documents.drawing import draw_qr, monospace, paragraph
from chargeledger.adapters.documents.printing import kwh
from chargeledger.domain.evidence import SignedBySession, carries_signed_data, readable_record
from chargeledger.domain.invoicing import Invoice, InvoiceLine
from chargeledger.domain.station_link import SignedMeterValue

QR_MODULE_MM = 0.8
QR_MAX_SIDE_MM = 70.0  # a long record's code shrinks its modules (at least ~0.5 mm) to fit
HOW_TO_CHECK = (
    "The energy billed on this document was measured by calibrated meters that sign their "
    "readings. You can check every signed reading yourself: open the free S.A.F.E. "
    "Transparenzsoftware, paste a record below (or scan its QR code) together with the "
    "meter's public key, and it shows whether the signature is valid and which readings the "
    "meter signed, to compare with the energy billed here."
)


def signed_meter_data(pdf: FPDF, invoice: Invoice, signed: SignedBySession) -> None:
    """Append the annex on a new page when ``invoice`` is an invoice or a receipt and any of
    its sessions has signed values in ``signed``; otherwise add nothing."""
    if not carries_signed_data(invoice.kind):
        return
    annexed = [
        (line, values)
        for line in invoice.sessions()
        if line.session_id is not None and (values := signed.get(line.session_id))
    ]
    if not annexed:
        return
    pdf.add_page()
    paragraph(pdf, f"Annex to {invoice.number}: signed meter data", 12, "B", 7)
    paragraph(pdf, HOW_TO_CHECK, 8.5)
    for line, values in annexed:
        _session(pdf, line, values)


def _session(pdf: FPDF, line: InvoiceLine, values: Sequence[SignedMeterValue]) -> None:
    pdf.ln(3)
    start = line.local_start.strftime("%Y-%m-%d %H:%M") if line.local_start else "-"
    paragraph(
        pdf,
        f"Session at {line.station_name}, started {start} (local time), "
        f"{kwh(line.energy_kwh)} kWh billed",
        10,
        "B",
        5.5,
    )
    for number, value in enumerate(values, start=1):
        at = value.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC")
        paragraph(pdf, f"Record {number}: {value.context.value} at {at} ({value.format})", 8.5, "B")
        paragraph(pdf, "As stored:", 7.5)
        monospace(pdf, value.data)
        record = readable_record(value)
        if record != value.data:
            paragraph(pdf, "The record, decoded from the station's base64 transport encoding:", 7.5)
            monospace(pdf, record)
        if value.public_key:
            paragraph(pdf, "Public key reported by the station:", 7.5)
            monospace(pdf, value.public_key)
        else:
            paragraph(
                pdf,
                "The station reported no public key with this record: read it from the "
                "meter's label or display, or ask us for it.",
                7.5,
            )
        try:
            draw_qr(
                pdf,
                record,
                f"Record {number}: scan into the Transparenzsoftware",
                QR_MODULE_MM,
                error="m",
                max_side_mm=QR_MAX_SIDE_MM,
            )
        except segno.DataOverflowError:
            paragraph(pdf, "This record is too long for a QR code: copy it from above.", 7.5)
        pdf.ln(2)
