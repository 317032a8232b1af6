"""Signed meter data on the invoice and the receipt (issue 15, "On the invoice and receipt"),
on SQLite and PostgreSQL: a document whose sessions have signed values carries an annex with
each record exactly as stored (and decoded where the station sent it base64-encoded), the
public key, a sentence on how to check it, and a QR code per record that holds exactly the
record; a document without signed data, and a credit note, have no such annex.

The QR codes are read back from the PDF's drawing operators (every dark module is a filled
square) and compared module for module with the code of the expected record.
"""

from __future__ import annotations

import base64
import io
import itertools
import uuid

import segno
from pypdf import PageObject, PdfReader
from pypdf.generic import ContentStream

from chargeledger.adapters.documents.signed_annex import HOW_TO_CHECK
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import ReadingContext
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoicing import session_receipt
from chargeledger.services.transactions import reading
from tests.integration.billing_world import (
    ChargeSpec,
    World,
    book_charges,
    create_customer,
    credit,
    new_world,
    run_month,
    utc,
)
from tests.integration.ocpp_support import API
from tests.integration.payment_world import PaymentWorld
from tests.integration.test_evidence_pack import OCMF_END, charge_with_app_card

ANNEX_TITLE = "signed meter data"
OCMF_BEGIN = (
    'OCMF|{"FV":"1.0","GI":"TEST DCBM","GS":"0002","PG":"T7","RD":[{"TM":"2026-01-10T13:00:00,'
    '000+0000 S","TX":"B","RV":100.000,"RI":"1-0:1.8.0","RU":"kWh","ST":"G"}]}|'
    '{"SA":"ECDSA-secp256r1-SHA256","SD":"304402201A2B3C4D"}'
)
PUBLIC_KEY = "3059301306072A8648CE3D020106082A8648CE3D03010703420004AB12CD34"


def pdf_pages(pdf: bytes) -> list[PageObject]:
    return list(PdfReader(io.BytesIO(pdf)).pages)


def page_text(page: PageObject) -> str:
    return page.extract_text()


def qr_codes(page: PageObject) -> list[frozenset[tuple[int, int]]]:
    """The QR codes drawn on ``page``: the dark modules (row, column) of each, counted from
    its top-left dark module. A module is a small filled square (``re`` then ``f``); codes
    stand one below the other, apart by their quiet zones and captions."""
    operations = ContentStream(page.get_contents(), page.pdf).operations
    squares = []
    for (operands, operator), (_, following) in itertools.pairwise(operations):
        x, y, w, h = (float(v) for v in operands) if operator == b"re" else (0, 0, 0, 0)
        if operator == b"re" and following == b"f" and abs(w) == abs(h) and 0 < abs(w) < 3:
            squares.append((x, y + h if h < 0 else y, abs(w)))  # top edge, PDF y grows upwards
    codes: list[list[tuple[float, float, float]]] = []
    for square in sorted(squares, key=lambda s: (-s[1], s[0])):
        if codes and codes[-1][-1][1] - square[1] <= 3 * square[2]:
            codes[-1].append(square)
        else:
            codes.append([square])
    found = []
    for code in codes:
        module, left, top = code[0][2], min(s[0] for s in code), max(s[1] for s in code)
        found.append(
            frozenset((round((top - y) / module), round((x - left) / module)) for x, y, _ in code)
        )
    return found


def qr_of(payload: str) -> frozenset[tuple[int, int]]:
    """The dark modules of the code ``payload`` should be drawn as, counted the same way."""
    code = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    dark = [
        (row, column)
        for row, line in enumerate(code.matrix_iter(scale=1, border=0))
        for column, value in enumerate(line)
        if value
    ]
    top, left = min(r for r, _ in dark), min(c for _, c in dark)
    return frozenset((r - top, c - left) for r, c in dark)


def annex_of(pdf: bytes) -> tuple[str, list[frozenset[tuple[int, int]]]]:
    """The text of the annex pages (without line breaks, as the records are cut into lines)
    and their QR codes; ("", []) without an annex."""
    pages = pdf_pages(pdf)
    start = next((i for i, p in enumerate(pages) if ANNEX_TITLE in page_text(p)), None)
    if start is None:
        return "", []
    annex = pages[start:]
    text = "".join(page_text(p).replace("\n", "") for p in annex)
    return text, [code for p in annex for code in qr_codes(p)]


async def test_a_receipt_carries_its_sessions_signed_record_and_qr(pw: PaymentWorld) -> None:
    """An app-card session over OCPP 1.6 with a plain OCMF record: its receipt (through the
    REST download, which reads the session's signed values) has the annex."""
    session_id = await charge_with_app_card(pw)
    runtime = pw.runtime
    receipt = await reading(runtime.uow, session_receipt, session_id)
    assert receipt is not None
    answer = await pw.world.http.get(f"{API}/invoices/{receipt.id}/pdf", headers=pw.world.admin)
    assert answer.status_code == 200, answer.text
    text, codes = annex_of(answer.content)
    assert f"Annex to {receipt.number}: {ANNEX_TITLE}" in text
    assert HOW_TO_CHECK.replace(" ", "") in text.replace(" ", "")
    assert OCMF_END in text
    assert "The station reported no public key with this record" in text
    assert "decoded from the station's base64" not in text  # sent as the record itself
    assert codes == [qr_of(OCMF_END)]


async def signed_world(runtime: Runtime) -> tuple[World, Invoice, Invoice, uuid.UUID]:
    """January invoices of two customers: Anna's two sessions, one of which has a signed
    begin record sent base64-encoded (OCPP 2.0.1) with its public key and a plain end record;
    Ben's session has none."""
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    anna = await create_customer(runtime, world.clock, "Anna Becker")
    ben = await create_customer(runtime, world.clock, "Ben Ohne")
    booked = await book_charges(
        runtime,
        world.clock,
        {
            "signed": ChargeSpec(world.de, anna, utc("2026-01-10T13:00"), {"Energy": "9.20"}),
            "plain": ChargeSpec(world.de, anna, utc("2026-01-12T13:00"), {"Energy": "5.00"}),
            "ben": ChargeSpec(world.de, ben, utc("2026-01-14T13:00"), {"Energy": "7.00"}),
        },
    )
    signed_session = booked["signed"].session_id
    begin = SignedMeterValue(
        timestamp=utc("2026-01-10T13:00"),
        context=ReadingContext.TRANSACTION_BEGIN,
        format="OCMF",
        data=base64.b64encode(OCMF_BEGIN.encode()).decode(),
        signing_method="ECDSA-secp256r1-SHA256",
        encoding_method="OCMF",
        public_key=PUBLIC_KEY,
    )
    end = SignedMeterValue(
        timestamp=utc("2026-01-10T13:40"),
        context=ReadingContext.TRANSACTION_END,
        format="OCMF",
        data=OCMF_END,
    )
    async with runtime.uow() as uow:
        await uow.sessions.add_signed_value(signed_session, begin)
        await uow.sessions.add_signed_value(signed_session, end)
        await uow.commit()
    result = await run_month(world, "2026-01")
    by_account = {i.account_id: i for i in result.issued}
    return world, by_account[anna.id], by_account[ben.id], signed_session


async def test_an_invoice_lists_only_its_signed_sessions_with_decoded_records(
    runtime: Runtime,
) -> None:
    _, invoice, _, signed_session = await signed_world(runtime)
    async with runtime.uow() as uow:
        found = await invoice_documents.signed_data_of(uow, invoice)
    assert list(found) == [signed_session]
    assert [v.context for v in found[signed_session]] == [
        ReadingContext.TRANSACTION_BEGIN,
        ReadingContext.TRANSACTION_END,
    ]
    pdf = await reading(runtime.uow, invoice_documents.document_pdf, runtime.documents, invoice)
    text, codes = annex_of(pdf)
    assert f"Annex to {invoice.number}: {ANNEX_TITLE}" in text
    assert text.count("Session at DE-CP1") == 1  # the unsigned session is not listed
    assert base64.b64encode(OCMF_BEGIN.encode()).decode() in text  # as stored
    assert OCMF_BEGIN in text  # decoded for the verifier
    assert PUBLIC_KEY in text
    assert OCMF_END in text
    assert codes == [qr_of(OCMF_BEGIN), qr_of(OCMF_END)]  # the records, not their base64
    again = await reading(runtime.uow, invoice_documents.document_pdf, runtime.documents, invoice)
    assert again == pdf  # the same bytes whenever it is rendered


async def test_no_signed_data_no_annex_and_none_on_a_credit_note(runtime: Runtime) -> None:
    world, anna_invoice, ben_invoice, signed_session = await signed_world(runtime)
    pdf = await reading(runtime.uow, invoice_documents.document_pdf, runtime.documents, ben_invoice)
    assert annex_of(pdf) == ("", [])
    assert all(ANNEX_TITLE not in page_text(page) for page in pdf_pages(pdf))

    note = await credit(world, anna_invoice)
    assert signed_session in {line.session_id for line in note.lines}
    async with runtime.uow() as uow:
        assert await invoice_documents.signed_data_of(uow, note) == {}
        values = await uow.sessions.signed_values(signed_session)
    assert len(values) == 2
    # Even handed the values, the renderer prints no such annex on a credit note.
    assert annex_of(runtime.documents.pdf(note, {signed_session: values})) == ("", [])
