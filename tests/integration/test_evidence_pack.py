"""The evidence pack of a charging session (issue 15, "Dispute cases" → evidence pack), on
SQLite and PostgreSQL: a real OCPP 1.6 session paid by an app card (hold, capture) with meter
samples, power, charging-state changes and a signed OCMF record is collected into a pack,
which holds every one of those facts as stored, the OCPP messages of the station, the tariff
and price display, the price lines and the payment events; its PDF reads them out and its ZIP
carries them as JSON with a manifest whose hashes match. The same pack gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from ocpp.v16 import call as call16
from pypdf import PdfReader

from chargeledger.domain.charging import ChargingState, SessionStatus
from chargeledger.domain.evidence import EvidencePack, MeterPoint
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.errors import NotFoundError
from chargeledger.services.disputes.evidence import collect_evidence
from chargeledger.services.transactions import reading
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    REGISTER,
    Json,
    Station16,
    at,
    connected,
    meter_value,
    sampled,
    stored_sessions,
    wire,
)
from tests.integration.payment_world import APP_TAG, PaymentWorld

OCMF_END = (
    'OCMF|{"FV":"1.0","GI":"TEST ACBM","GS":"0001","PG":"T1","RD":[{"TM":"2024-03-04T08:30:00,'
    '000+0000 S","TX":"E","RV":20.000,"RI":"1-0:1.8.0","RU":"kWh","ST":"G"}]}|'
    '{"SA":"ECDSA-secp256r1-SHA256","SD":"3045022100E1C80E71"}'
)
CASE = {"case_id": "DC-0001", "reason": "charged for 40 kWh, got 20", "claimed": Decimal("6.25")}
FILES = [
    "session.json",
    "meter.json",
    "signed_readings.json",
    "ocpp_log.json",
    "transaction_events.json",
    "state_changes.json",
    "tariff.json",
    "price.json",
    "payments.json",
    "case.json",
    "evidence.pdf",
    "manifest.json",
]


def signed_data(value: str, context: str) -> Json:
    """A 1.6 SampledValue with format SignedData (OCA "Signed Meter Values in OCPP 1.6")."""
    return {"value": value, "format": "SignedData", "context": context, "measurand": REGISTER}


VERDICT = ("invalid_signature", "the signature does not match the payload")


def judge(value: SignedMeterValue) -> tuple[str, str | None]:
    """A verifier's verdict, as the lead wires the OCMF verifier (issue 15)."""
    assert value.format == "OCMF"
    return VERDICT


def status(state: str, seconds: float) -> Any:
    return call16.StatusNotification(
        connector_id=1, error_code="NoError", status=state, timestamp=wire(seconds)
    )


async def charge_with_app_card(pw: PaymentWorld) -> uuid.UUID:
    """10 kWh in 30 min at up to 20 kW: 4.90 energy + 0.35 session fee = 5.25 net, 6.25 gross."""
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(APP_TAG, 10_000)
        await cp.request(status("Charging", 0))
        await pw.runtime.quiesce()
        for seconds, wh, kw in ((900, "15000", "20"), (1500, "19500", "18")):
            await cp.request(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[
                        meter_value(
                            wire(seconds),
                            sampled(wh),
                            sampled(kw, "Power.Active.Import", unit="kW"),
                        )
                    ],
                )
            )
        await cp.request(status("SuspendedEV", 1700))
        end = meter_value(
            wire(1800),
            sampled("20000", context="Transaction.End"),
            signed_data(OCMF_END, "Transaction.End"),
        )
        await cp.stop_tx(tx, 20_000, 1800, transaction_data=[end])
        await pw.runtime.quiesce()
    [session] = await stored_sessions(pw.runtime, pw.world.station_id(CP16))
    assert session.status is SessionStatus.COMPLETED
    return session.id


async def collect(pw: PaymentWorld, session_id: uuid.UUID, **extra: Any) -> EvidencePack:
    runtime = pw.runtime
    rates = runtime.settings.vat_rates
    return await reading(
        runtime.uow, collect_evidence, runtime.clock, session_id, rates=rates, **extra
    )


async def test_a_paid_session_with_signed_data_gives_its_whole_evidence(pw: PaymentWorld) -> None:
    session_id = await charge_with_app_card(pw)
    pack = await collect(pw, session_id, judge=judge, case=CASE)

    facts = pack.session
    assert (facts.session_id, facts.station, facts.site) == (session_id, CP16, "Test depot")
    assert (facts.status, facts.payment_route, facts.id_tag) == ("completed", "app_card", APP_TAG)
    assert (facts.meter_start_wh, facts.meter_stop_wh) == (Decimal(10_000), Decimal(20_000))
    assert facts.billed_energy_wh == Decimal(10_000)
    assert pack.meter_series == (
        MeterPoint(at(0), Decimal(10_000), None),  # StartTransaction.meterStart
        MeterPoint(at(900), Decimal(15_000), Decimal(20_000)),
        MeterPoint(at(1500), Decimal(19_500), Decimal(18_000)),
        MeterPoint(at(1800), Decimal(20_000), None),
    )
    [signed] = pack.signed_readings
    assert (signed.data, signed.format, signed.context) == (OCMF_END, "OCMF", "Transaction.End")
    assert (signed.timestamp, signed.energy_kwh) == (at(1800), Decimal(20))
    assert (signed.verdict, signed.detail) == VERDICT
    assert [(c.timestamp, c.state) for c in pack.state_changes] == [
        (at(0), ChargingState.CHARGING),
        (at(1700), ChargingState.IDLE),
    ]
    assert pack.transaction_events == ()  # OCPP 1.6 has none

    actions = [call.action for call in pack.ocpp_log]
    for action in ("StartTransaction", "StatusNotification", "MeterValues", "StopTransaction"):
        assert action in actions, actions
    assert actions.count("MeterValues") == 2
    start = next(c for c in pack.ocpp_log if c.action == "StartTransaction")
    kind, message_id, answer = json.loads(start.response)  # the CALLRESULT frame we sent
    assert (kind, message_id, answer["idTagInfo"]["status"]) == (3, start.message_id, "Accepted")
    assert all(len(c.request_hash) == 64 for c in pack.ocpp_log)

    assert pack.tariff is not None
    assert (pack.tariff.ocpi_id, pack.tariff.contract_priced) == ("FLAT-049", False)
    assert any("0.49 EUR per kWh" in line for line in pack.tariff.display), pack.tariff.display
    assert pack.tariff.document["id"] == "FLAT-049"
    price = pack.price
    assert price is not None
    assert pack.price_note is None
    assert (price.net, price.tax, price.gross) == (
        Decimal("5.25"),
        Decimal("1.00"),
        Decimal("6.25"),
    )
    assert (price.vat_category, price.vat_percent, price.live) == ("S", Decimal(19), False)
    assert {line.category for line in price.lines} == {"energy", "fixed"}
    assert sum((line.excl_vat for line in price.lines), Decimal(0)) == Decimal("5.25")

    kinds = [(e.kind, e.amount) for e in pack.payment_events if e.kind != "requested"]
    assert kinds == [("authorised", Decimal("23.74")), ("captured", Decimal("6.25"))]
    assert {(e.method, e.gateway) for e in pack.payment_events} == {("app", "sandbox")}
    assert pack.case == CASE

    _check_pdf(pw.runtime.evidence.pdf(pack), pack)
    _check_zip(pw.runtime.evidence.zip(pack), pack)
    again = await collect(pw, session_id, judge=judge, case=CASE)
    assert again.ocpp_log == pack.ocpp_log  # the log around a closed session stays put
    assert pw.runtime.evidence.zip(pack) == pw.runtime.evidence.zip(pack)
    assert pw.runtime.evidence.pdf(pack) == pw.runtime.evidence.pdf(pack)


def _check_pdf(pdf: bytes, pack: EvidencePack) -> None:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        pack.title,
        str(pack.session.session_id),
        "DC-0001",
        "charged for 40 kWh, got 20",
        "Energy delivered (kWh)",
        "Power (kW)",
        "Signed meter readings",
        "invalid_signature",
        "FLAT-049",
        "0.49 EUR per kWh",
        "6.25 EUR",
        "captured",
        "StartTransaction",
        "StopTransaction",
        "charging",
        "idle",
    ):
        assert expected in text, expected
    assert OCMF_END[:60] in text.replace("\n", "")


def _check_zip(archive: bytes, pack: EvidencePack) -> None:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.namelist() == FILES
        contents = {name: z.read(name) for name in FILES}
        stamps = {info.date_time for info in z.infolist()}
    manifest = json.loads(contents["manifest.json"])
    assert manifest["session_id"] == str(pack.session.session_id)
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert list(listed) == FILES[:-1]
    for name, digest in listed.items():
        assert hashlib.sha256(contents[name]).hexdigest() == digest, name
    assert len(stamps) == 1
    session = json.loads(contents["session.json"])["session"]
    assert (Decimal(session["billed_energy_wh"]), session["station"]) == (10_000, CP16)
    assert session["started_at"] == "2024-03-04T08:00:00Z"
    price = json.loads(contents["price.json"])
    assert (price["price"]["gross"], price["note"]) == ("6.25", None)
    [signed] = json.loads(contents["signed_readings.json"])
    assert (signed["data"], signed["verdict"]) == (OCMF_END, "invalid_signature")
    meter = json.loads(contents["meter.json"])
    assert meter[1]["time"] == "2024-03-04T08:15:00Z"
    assert (Decimal(meter[1]["energy_wh"]), Decimal(meter[1]["power_w"])) == (15_000, 20_000)
    assert json.loads(contents["case.json"])["claimed"] == "6.25"
    assert len(json.loads(contents["payments.json"])) == len(pack.payment_events)
    assert json.loads(contents["tariff.json"])["document"]["id"] == "FLAT-049"


async def test_a_quarantined_postpaid_session_has_no_price_and_no_payment(
    pw: PaymentWorld,
) -> None:
    """60 kWh in 30 min on a 22 kW connector is held back (energy_above_max_power): the pack
    says why it has no price, still shows the tariff, and lists no payment (RFID postpaid)."""
    async with connected(pw.world.url, Station16) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, 10_000)
        await cp.stop_tx(tx, 70_000, 1800)
    [session] = await stored_sessions(pw.runtime, pw.world.station_id(CP16))
    assert session.status is SessionStatus.QUARANTINED
    pack = await collect(pw, session.id)
    assert pack.price is None
    assert (pack.price_note or "").startswith("session_under_review: ")
    assert pack.tariff is not None
    assert pack.tariff.display
    assert (pack.payment_events, pack.signed_readings, pack.case) == ((), (), None)
    assert pack.session.quarantine_reasons == ("energy_above_max_power",)
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pw.runtime.evidence.pdf(pack))).pages
    )
    assert "No price: session_under_review" in text
    assert "energy_above_max_power" in text


async def test_an_unknown_session_has_no_evidence(pw: PaymentWorld) -> None:
    with pytest.raises(NotFoundError) as refused:
        await collect(pw, uuid.uuid4())
    assert refused.value.code == "session_not_found"
