"""A small operator's January and February 2026, built with the domain's own booking functions
(so every entry is one the ledger really holds), with the sources a DATEV export reads, and
the ways the DATEV tests read a Buchungsstapel back.

Every amount is chosen by hand; the comments give the VAT each charge carries.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.adapters.exports import DatevExporter
from chargeledger.adapters.exports.datev_charts import DatevChart, load_chart
from chargeledger.config import DatevSettings
from chargeledger.domain.accounts import Account, AccountKind, BillingMode
from chargeledger.domain.bank_postings import (
    Applied,
    bank_debit,
    bank_receipt,
    credit_applied,
    suspense_allocated,
)
from chargeledger.domain.billing import (
    COMPONENTS,
    Charge,
    ComponentAmount,
    VatCategory,
    VatTreatment,
)
from chargeledger.domain.charge_documents import charges_document
from chargeledger.domain.contract_postings import allowance_drawn_entry, allowance_sold_entry
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.dispute_postings import funds_reinstated, funds_withdrawn
from chargeledger.domain.disputes import Chargeback, open_chargeback
from chargeledger.domain.dunning import (
    DunningEvent,
    DunningEventKind,
    claim_waived,
    claims_paid,
    late_payment_receivable,
    notice_claimed,
    waiver_of,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import DocumentKind, Invoice, Party, issued
from chargeledger.domain.ledger import (
    BANK,
    REVENUE_SHARE,
    EntryKind,
    JournalEntry,
    Posting,
    input_vat,
    partner_payable,
    psp,
)
from chargeledger.domain.payment_postings import captured, paid_out, refunded, written_off
from chargeledger.domain.payments import Payment, PaymentMethodKind, PaymentPurpose
from chargeledger.domain.postings import (
    charge_accrual,
    charge_revenue,
    credit_note_issued,
    credit_note_revenue,
    document_issued,
)
from chargeledger.money import Currency, Money
from chargeledger.services.billing.exporting import ExportSources

D = Decimal
EUR = Currency.of("EUR")
CREATED = datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=UTC)  # 09:30:15.123 in Berlin
SELLER = Party("Ladenetz Betrieb GmbH", "Ring 1", "10115", "Berlin", "DE", vat_id="DE136695976")
STANDARD_19 = VatTreatment(VatCategory.STANDARD, D(19))
REDUCED_7 = VatTreatment(VatCategory.STANDARD, D(7))  # not a charging rate: tests the 7 % key
REVERSE_CHARGE = VatTreatment(VatCategory.REVERSE_CHARGE, D(0), "Reverse charge")


def customer(name: str, reference: str | None, **fields: object) -> Account:
    country = str(fields.pop("country", "DE"))
    return Account(
        kind=AccountKind(str(fields.pop("kind", AccountKind.BUSINESS))),
        name=name,
        email=f"{name.split()[0].lower()}@example.org",
        billing_address=Address("Ring 2", "50667", "Köln", country),
        currency=EUR,
        reference=reference,
        id=uuid.uuid5(uuid.NAMESPACE_URL, name),
        **fields,  # type: ignore[arg-type]
    )


FLEET = customer("Fleet GmbH", "10042")  # a customer number in the Debitor range
DRIVER = customer("Dora Driver", None, kind=AccountKind.INDIVIDUAL)  # none: collective
LUSA = customer("Lusa Transportes Lda", "C-77", country="PT", vat_id="PT501964843")
PIA = customer("Prepaid Pia", "10043", billing_mode=BillingMode.PREPAID)
CUSTOMERS = {a.id: a for a in (FLEET, DRIVER, LUSA, PIA)}


def charge(
    payer: Account | None, day: str, nets: dict[str, str], vat: VatTreatment = STANDARD_19
) -> Charge:
    started = datetime.fromisoformat(day + "T10:00").replace(tzinfo=UTC)
    return Charge(
        session_id=uuid.uuid5(uuid.NAMESPACE_URL, f"session {day} {nets}"),
        account_id=None if payer is None else payer.id,
        ad_hoc=payer is None,
        site_id=uuid.uuid5(uuid.NAMESPACE_URL, "site"),
        site_name="Köln Süd ⚡",
        station_id=uuid.uuid5(uuid.NAMESPACE_URL, "station"),
        station_name="DE-CP1",
        evse_id=1,
        country="DE",
        time_zone="Europe/Berlin",
        currency=EUR,
        started_at=started,
        stopped_at=started + timedelta(minutes=40),
        energy_kwh=D("12.5"),
        charging_hours=D("0.5"),
        idle_hours=D(0),
        components=tuple((name, D(nets.get(name, "0.00"))) for name in COMPONENTS),
        vat=vat,
        tariff_id=None,
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"charge {day} {nets}"),
    )


# DE 19 %: 10.45 → VAT 1.9855 → 1.99, gross 12.44; 20.45 → 3.8855 → 3.89, gross 24.34.
FLEET_CHARGES = (
    charge(FLEET, "2026-01-10", {"Energy": "9.20", "Time": "1.25"}),
    charge(FLEET, "2026-01-20", {"Energy": "20.45"}),
)
DRIVER_CHARGE = charge(DRIVER, "2026-01-12", {"Energy": "10.00"}, REDUCED_7)  # 0.70, 10.70
LUSA_CHARGE = charge(LUSA, "2026-01-15", {"Energy": "40.00", "Parking": "2.50"}, REVERSE_CHARGE)
WALK_IN_CHARGE = charge(None, "2026-01-05", {"Energy": "4.20"})  # 0.798 → 0.80, gross 5.00
PIA_CHARGE = charge(PIA, "2026-01-18", {"Energy": "6.00"})  # 1.14, gross 7.14
CHARGES = (*FLEET_CHARGES, DRIVER_CHARGE, LUSA_CHARGE, WALK_IN_CHARGE, PIA_CHARGE)


def document(
    kind: DocumentKind, charges: Sequence[Charge], number: str, payer: Account | None
) -> Invoice:
    buyer = SELLER if payer is None else Party(payer.name, "Ring 2", "50667", "Köln", "DE")
    draft = charges_document(
        kind,
        charges,
        account_id=None if payer is None else payer.id,
        seller=SELLER,
        buyer=buyer,
        period=(date(2026, 1, 1), date(2026, 2, 1)),
        run_key=number,
        payment_terms_days=14,
    )
    return issued(draft, number, number[:8], date(2026, 2, 2), datetime(2026, 2, 2, tzinfo=UTC))


# The fleet's invoice states 30.90 × 19 % = 5.871 → 5.87, a cent less than its charges' VAT.
FLEET_INVOICE = document(DocumentKind.INVOICE, FLEET_CHARGES, "INV-2026-000001", FLEET)
LUSA_INVOICE = document(DocumentKind.INVOICE, [LUSA_CHARGE], "INV-2026-000002", LUSA)
DRIVER_INVOICE = document(DocumentKind.INVOICE, [DRIVER_CHARGE], "INV-2026-000003", DRIVER)
WALK_IN_RECEIPT = document(DocumentKind.RECEIPT, [WALK_IN_CHARGE], "RCT-2026-000001", None)
PIA_RECEIPT = document(DocumentKind.RECEIPT, [PIA_CHARGE], "RCT-2026-000002", PIA)
# The fleet's first session credited: 10.45 + 1.99 = 12.44.
FLEET_NOTE = issued(
    credit_note(FLEET_INVOICE, "Meter fault", [], positions=(1,)),
    "CN-2026-000001",
    "CN-2026",
    date(2026, 2, 5),
    datetime(2026, 2, 5, tzinfo=UTC),
)
DOCUMENTS = (FLEET_INVOICE, LUSA_INVOICE, DRIVER_INVOICE, WALK_IN_RECEIPT, PIA_RECEIPT)


def payment(
    purpose: PaymentPurpose, payer: Account | None, gateway: str = "sandbox", **more: object
) -> Payment:
    method = PaymentMethodKind.WALLET if gateway == "wallet" else PaymentMethodKind.CARD
    return Payment(
        purpose=purpose,
        method=method,
        gateway=gateway,
        currency=EUR,
        account_id=None if payer is None else payer.id,
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"payment {purpose} {gateway} {payer}"),
        **more,  # type: ignore[arg-type]
    )


WALK_IN_CARD = payment(PaymentPurpose.SESSION, None)
PIA_TOP_UP = payment(PaymentPurpose.TOP_UP, PIA)
PIA_WALLET = payment(PaymentPurpose.SESSION, PIA, gateway="wallet")
FLEET_PAYS = payment(PaymentPurpose.INVOICE, FLEET, invoice_id=FLEET_INVOICE.id)
PAYOUT_ID = "po_1Q2w3E4r5T6y7U8i9O0pAsDfGhJkL:2026-02"


def day(text: str) -> date:
    return date.fromisoformat(text)


def some(found: JournalEntry | None) -> JournalEntry:
    assert found is not None
    return found


def entries() -> list[JournalEntry]:
    """One entry of every kind the ledger books, in no particular order."""
    accruals = [some(charge_accrual(c, c.started_at.date())) for c in CHARGES]
    adjustment = JournalEntry(
        kind=EntryKind.ADJUSTMENT,
        booked_on=day("2026-02-28"),
        description="PSP balance corrected",
        postings=(
            Posting(BANK, Money.of("0.05", "EUR")),
            Posting(psp("sandbox"), Money.of("-0.05", "EUR")),
        ),
        source_type="adjustment",
        source_id="adj-2026-02",
    )
    return [
        *accruals,
        *(some(document_issued(d)) for d in DOCUMENTS),
        credit_note_issued(FLEET_NOTE),
        some(captured(WALK_IN_CARD, D("5.00"), day("2026-01-05"))),
        some(captured(PIA_TOP_UP, D("20.00"), day("2026-01-03"))),
        some(captured(PIA_WALLET, D("7.14"), day("2026-02-02"))),
        some(captured(FLEET_PAYS, D("24.33"), day("2026-02-10"))),
        refunded(WALK_IN_CARD, D("1.00"), "re_3Pq7Zx:partial", day("2026-02-12")),
        # PSP: 5.00 + 20.00 + 24.33 - 1.00 = 48.33, less 1.4 % + 0.25 = 0.93 in fees.
        paid_out(
            "sandbox",
            PAYOUT_ID,
            Money.of("48.33", "EUR"),
            Money.of("0.93", "EUR"),
            day("2026-02-15"),
        ),
        some(written_off(WALK_IN_CARD, D("1.00"), day("2026-02-20"), "card declined")),
        adjustment,
        *bank_entries(),
        *contract_entries(),
        *chargeback_entries(),
    ]


def chargeback_entries() -> list[JournalEntry]:
    """Issue 15: the walk-in's card payment charged back (4.00 and a 15.00 dispute fee
    withdrawn by the PSP), and the chargeback won (the 4.00 back, the fee kept)."""
    notice = Chargeback(
        psp_dispute_id="du_1QdisputeAbc",
        gateway="sandbox",
        status="needs_response",
        psp_reason="fraudulent",
        fee=D("15.00"),
    )
    case = open_chargeback(
        number="DSP-000001",
        chargeback=notice,
        payment_id=WALK_IN_CARD.id,
        session_id=None,
        invoice_id=None,
        account_id=None,
        currency="EUR",
        amount=D("4.00"),
        now=datetime(2026, 2, 20, 9, tzinfo=UTC),
    )
    return [
        funds_withdrawn(case, D("4.00"), D("15.00"), day("2026-02-20")),
        funds_reinstated(case, D("4.00"), day("2026-02-27")),
    ]


OEM_CONTRACT = uuid.uuid5(uuid.NAMESPACE_URL, "contract OEM-2026-001")
SITE_HOST = uuid.uuid5(uuid.NAMESPACE_URL, "partner Markthalle")


def contract_entries() -> list[JournalEntry]:
    """Issue 14: an allowance sold to Fleet (840.34 net, 19 % = 159.6646 → 159.66, gross
    1,000.00), a session drawing 8.73 of it (Energy 7.53 + Time 1.20), and a site host's
    self-billed revenue share (12.30 net, 19 % = 2.337 → 2.34, 14.64 owed), built by hand as
    the settlement's builder is not written yet."""
    sold = allowance_sold_entry(
        OEM_CONTRACT, FLEET.id, D("840.34"), D("159.66"), "DE", EUR, day("2026-01-31"), "OEM-1"
    )
    drawn = allowance_drawn_entry(
        OEM_CONTRACT,
        (ComponentAmount("Energy", D("7.53")), ComponentAmount("Time", D("1.20"))),
        EUR,
        day("2026-02-03"),
        "draw-2026-02-03",
    )
    share = JournalEntry(
        kind=EntryKind.REVENUE_SHARE_SETTLED,
        booked_on=day("2026-02-28"),
        description="Revenue share January, Markthalle",
        postings=(
            Posting(REVENUE_SHARE, Money.of("12.30", "EUR")),
            Posting(input_vat("DE"), Money.of("2.34", "EUR")),
            Posting(partner_payable(SITE_HOST), Money.of("-14.64", "EUR")),
        ),
        source_type="self_billing",
        source_id="SB-2026-000001",
    )
    return [sold, drawn, share]


def bank_entries() -> list[JournalEntry]:
    """Issue 13: a transfer from Fleet with 5.00 over (its credit, used on a later invoice),
    a returned one, and an unknown receipt that waited in suspense until finance matched it."""
    fleet, eur = FLEET.id, Currency.of("EUR")
    paid = Applied(fleet, Money.of("20.00", eur), Money.of("5.00", eur))
    nothing = Money.zero("EUR")
    return [
        bank_receipt(BANK_IDS[0], day("2026-02-11"), Money.of("25.00", eur), paid, "Fleet"),
        bank_receipt(BANK_IDS[1], day("2026-02-12"), Money.of("3.00", eur), None, "unknown"),
        suspense_allocated(
            BANK_IDS[1], day("2026-02-13"), Applied(fleet, nothing, Money.of("3.00", eur)), "x"
        ),
        bank_debit(BANK_IDS[2], day("2026-02-14"), Money.of("20.00", eur), fleet, "returned"),
        credit_applied(BANK_IDS[3], day("2026-02-15"), fleet, Money.of("8.00", eur), "INV-9"),
        JournalEntry(  # what domain.dunning.notice_claimed books for a B2B notice
            kind=EntryKind.LATE_PAYMENT_CLAIMED,
            booked_on=day("2026-02-16"),
            description="dunning level 1: fees and interest claimed",
            postings=(
                Posting(late_payment_receivable(fleet), Money.of("40.37", eur)),
                Posting("Income:LatePayment:Compensation", Money.of("-40.00", eur)),
                Posting("Income:LatePayment:Interest", Money.of("-0.37", eur)),
            ),
            source_type="dunning_notice",
            source_id=str(BANK_IDS[3]),
        ),
        *late_payment_entries(),
    ]


def late_payment_entries() -> list[JournalEntry]:
    """A second reminder's 5.00 fee claimed and waived, and 3.00 of Fleet's credit paying
    what its first reminder claimed."""
    fleet, at = FLEET.id, datetime(2026, 2, 20, 9, tzinfo=UTC)
    second = DunningEvent(
        kind=DunningEventKind.NOTICE,
        invoice_id=FLEET_INVOICE.id,
        account_id=fleet,
        on=day("2026-02-20"),
        at=at,
        level=2,
        fee=Money.of("5.00", "EUR"),
        id=uuid.UUID(int=905),
    )
    waiver = dataclasses.replace(
        waiver_of(second, day("2026-02-21"), at, "finance", "goodwill"), id=uuid.UUID(int=906)
    )
    return [
        some(notice_claimed(second)),
        some(claim_waived(second, waiver)),
        claims_paid(fleet, Money.of("3.00", "EUR"), day("2026-02-22"), "credit-2026-02-22"),
    ]


BANK_IDS = [uuid.UUID(int=n) for n in range(900, 904)]


def sources() -> ExportSources:
    revenue = {("charge", str(c.id)): charge_revenue(c) for c in CHARGES}
    revenue[("invoice", str(FLEET_NOTE.id))] = credit_note_revenue(FLEET_NOTE)
    numbers = {str(d.id): d.number or "" for d in (*DOCUMENTS, FLEET_NOTE)}
    return ExportSources(revenue=revenue, numbers=numbers, customers=CUSTOMERS)


def books(chart: DatevChart | None = None, **settings: object) -> DatevSettings:
    return DatevSettings(
        chart=chart or load_chart("SKR03"),
        consultant=int(str(settings.get("consultant", 29098))),
        client=int(str(settings.get("client", 55003))),
        fiscal_year_start=(1, 1),
    )


def export(
    found: Sequence[JournalEntry] | None = None,
    settings: DatevSettings | None = None,
    *,
    start: date | None = day("2026-01-01"),
    end: date | None = day("2026-03-01"),
    title: str = "Ladenetz Betrieb GmbH Januar/Februar",
    given: ExportSources | None = None,
) -> str:
    exporter = DatevExporter(settings or books(), lambda: CREATED, "Europe/Berlin")
    return exporter.export(
        entries() if found is None else found,
        start=start,
        end=end,
        title=title,
        sources=sources() if given is None else given,
    )


# --- reading a batch back ---------------------------------------------------------------


@dataclass
class Batch:
    header: list[str]
    columns: list[str]
    rows: list[list[str]]
    lines: list[str] = field(default_factory=list)  # as written, quotes included

    def column(self, title: str) -> int:
        return self.columns.index(title)

    def values(self, row: list[str], *titles: str) -> tuple[str, ...]:
        return tuple(row[self.column(title)] for title in titles)


def read(text: str) -> Batch:
    lines = text.split("\r\n")
    assert lines[-1] == "", "the file ends with CRLF"
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    return Batch(parsed[0], parsed[1], parsed[2:], lines[:-1])


# DATEV's automatic VAT: which (chart, account) or BU-Schlüssel carries which rate to where.
AUTOMATIC = {
    "SKR03": {
        "8400": (D(19), "1776"),
        "8300": (D(7), "1771"),
        "8336": (D(0), ""),
        "1718": (D(19), "1776"),  # Erhaltene, versteuerte Anzahlungen 19 % USt
    },
    "SKR04": {
        "4400": (D(19), "3806"),
        "4300": (D(7), "3801"),
        "4336": (D(0), ""),
        "3272": (D(19), "3806"),
    },
}
BU_KEYS = {
    "3": (D(19), {"SKR03": "1776", "SKR04": "3806"}),
    "2": (D(7), {"SKR03": "1771", "SKR04": "3801"}),
}


def movements(batch: Batch, chart: str) -> dict[str, Decimal]:
    """Per DATEV account, debits minus credits of the batch after DATEV has split the VAT off
    gross revenue (automatic accounts and BU-Schlüssel), as DATEV computes it: gross × rate /
    (100 + rate), rounded half-up to the cent."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in batch.rows:
        amount_text, side, account, contra, key = batch.values(
            row,
            "Umsatz (ohne Soll/Haben-Kz)",
            "Soll/Haben-Kennzeichen",
            "Konto",
            "Gegenkonto (ohne BU-Schlüssel)",
            "BU-Schlüssel",
        )
        amount = D(amount_text.replace(",", "."))
        signed = amount if side == "S" else -amount
        totals[account] += signed
        totals[contra] -= signed
        rate, vat_account = AUTOMATIC[chart].get(contra, (D(0), ""))
        if key:
            rate, accounts = BU_KEYS[key]
            vat_account = accounts[chart]
        if rate:
            tax = (amount * rate / (100 + rate)).quantize(D("0.01"), ROUND_HALF_UP)
            moved = -tax if side == "S" else tax
            totals[contra] -= moved
            totals[vat_account] += moved
    return {account: total for account, total in totals.items() if total}
