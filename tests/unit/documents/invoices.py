"""Issued documents built directly from the domain: the cases EN 16931 treats differently.

A German operator (the seller) bills a German driver, a Portuguese fleet charging at German
sites (reverse charge, Directive 2006/112/EC art. 196), a Polish name the PDF fonts cannot
print as is; a per-site invoice with 30 sessions over two sites, a card receipt and a credit
note; and it self-bills its site hosts' revenue shares, one host per VAT case (issue 14).
Numbers, dates and due dates are set by the domain's own ``issued()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.billing import COMPONENTS, VatCategory
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.invoicing import (
    DocumentKind,
    Invoice,
    InvoiceLine,
    Layout,
    Party,
    format_number,
    issued,
    series_for,
)
from chargeledger.domain.self_billing import (
    HostVat,
    ShareLine,
    percent_share,
    self_billed_statement,
)
from chargeledger.domain.text import quantity_text

BERLIN = ZoneInfo("Europe/Berlin")
ISSUED_ON = date(2026, 11, 2)
ISSUED_AT = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Council Directive 2006/112/EC, Art. 196)"
)

SELLER = Party(
    name="Stromwerk Ladenetz GmbH",
    street="Friedrichstraße 100",
    postal_code="10117",
    city="Berlin",
    country="DE",
    vat_id="DE136695976",
    email="billing@stromwerk.example",
    iban="DE89 3704 0044 0532 0130 00",
    registration="HRB 123456 B",
)
SELLER_WITHOUT_IBAN = Party(
    name="Stromwerk Ladenetz GmbH",
    street="Friedrichstraße 100",
    postal_code="10117",
    city="Berlin",
    country="DE",
    vat_id="DE136695976",
)
DRIVER = Party(
    name="Anna Schmidt",
    street="Lindenweg 3",
    postal_code="80331",
    city="München",
    country="DE",
    email="anna@example.org",
)
PORTUGUESE_FLEET = Party(
    name="Transportes Rápidos Lda",
    street="Rua Augusta 10",
    postal_code="1100-053",
    city="Lisboa",
    country="PT",
    vat_id="PT501964843",
    email="faturas@rapidos.example",
)
UNICODE_BUYER = Party(
    name="Łódź € Flota — Ωmega Zoë",
    street="ul. Piotrkowska 1",
    postal_code="90-001",
    city="Łódź",
    country="DE",
)
# A German business: its own VAT id, no reverse charge at German sites.
GERMAN_FLEET = Party(
    name="Logistik Nord GmbH",
    street="Am Sandtorkai 5",
    postal_code="20457",
    city="Hamburg",
    country="DE",
    vat_id="DE811569869",
)
WALK_IN = Party(
    name="Ad hoc customer (card payment)", street="", postal_code="", city="", country="DE"
)


def session(
    position: int,
    site: str,
    station: str,
    start: datetime,
    components: dict[str, str],
    *,
    energy: str = "21.500",
    charging: str = "1.25",
    idle: str = "0.25",
    category: VatCategory = VatCategory.STANDARD,
) -> InvoiceLine:
    """One billed session, its net the sum of its component nets (as ``charge_line`` does)."""
    parts = tuple((name, Decimal(components.get(name, "0.00"))) for name in COMPONENTS)
    local = start.astimezone(BERLIN)
    return InvoiceLine(
        position=position,
        description=(
            f"Charging {quantity_text(Decimal(energy), 'kWh')} at {site}, {station}, "
            f"{local:%Y-%m-%d %H:%M}"
        ),
        net=sum((amount for _, amount in parts), Decimal(0)),
        vat_category=category,
        vat_percent=Decimal(0) if category is VatCategory.REVERSE_CHARGE else Decimal(19),
        site_name=site,
        station_name=station,
        local_start=local,
        energy_kwh=Decimal(energy),
        charging_hours=Decimal(charging),
        idle_hours=Decimal(idle),
        components=parts,
        country="DE",
    )


def issue(draft: Invoice, sequence: int = 1) -> Invoice:
    series = series_for(draft.kind, ISSUED_ON)
    return issued(draft, format_number(series, sequence), series, ISSUED_ON, ISSUED_AT)


def draft_invoice(
    buyer: Party,
    lines: tuple[InvoiceLine, ...],
    *,
    seller: Party = SELLER,
    layout: Layout = Layout.PER_SESSION,
    currency: str = "EUR",
) -> Invoice:
    reverse = any(line.vat_category is VatCategory.REVERSE_CHARGE for line in lines)
    return Invoice(
        kind=DocumentKind.INVOICE,
        account_id=None,
        seller=seller,
        buyer=buyer,
        currency=currency,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
        lines=lines,
        layout=layout,
        payment_terms_days=14,
        vat_note=REVERSE_CHARGE_NOTE if reverse else None,
    )


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=BERLIN)


def driver_invoice() -> Invoice:
    lines = (
        session(
            1, "Alexanderplatz", "BER-ALX-01", _at(3, 8, 15), {"Energy": "8.60", "Time": "1.20"}
        ),
        session(
            2,
            "Alexanderplatz",
            "BER-ALX-02",
            _at(17, 22, 40),
            {"Energy": "12.33", "Parking": "3.50", "Fixed": "0.99"},
            energy="30.825",
            charging="2.5",
            idle="1.75",
        ),
    )
    return issue(draft_invoice(DRIVER, lines), 7)


def reverse_charge_invoice() -> Invoice:
    lines = tuple(
        session(
            i,
            "Potsdamer Platz",
            f"BER-PP-0{i}",
            _at(i * 3, 9 + i),
            {"Energy": f"{10 + i}.45", "Time": "2.10"},
            category=VatCategory.REVERSE_CHARGE,
        )
        for i in range(1, 4)
    )
    return issue(draft_invoice(PORTUGUESE_FLEET, lines), 8)


def per_site_invoice(sessions: int = 30) -> Invoice:
    """Sessions alternating over two sites, with varied amounts and every component in use."""
    lines = []
    for i in range(1, sessions + 1):
        site, prefix = ("Alexanderplatz", "ALX") if i % 2 else ("Hafen Hamburg", "HH")
        components = {
            "Energy": f"{5 + i % 7}.{(i * 37) % 100:02d}",
            "Time": f"{i % 3}.{(i * 11) % 100:02d}",
            "Parking": "1.50" if i % 5 == 0 else "0.00",
            "Fixed": "0.49",
        }
        lines.append(
            session(
                i,
                site,
                f"{prefix}-CP{i % 4 + 1:02d}",
                _at(1 + (i - 1) % 30, 6 + i % 15, (i * 7) % 60),
                components,
                energy=f"{10 + i}.{(i * 123) % 1000:03d}",
                charging=f"{1 + i % 3}.5",
                idle="0.25" if i % 5 == 0 else "0",
            )
        )
    return issue(draft_invoice(GERMAN_FLEET, tuple(lines), layout=Layout.PER_SITE), 9)


def unicode_invoice() -> Invoice:
    lines = (session(1, "Łódź Plac Wolności", "ŁDZ-01 «Ωmega»", _at(5, 12), {"Energy": "9.99"}),)
    return issue(draft_invoice(UNICODE_BUYER, lines, seller=SELLER_WITHOUT_IBAN), 10)


def receipt() -> Invoice:
    line = session(1, "Alexanderplatz", "BER-ALX-03", _at(30, 18, 5), {"Energy": "14.20"})
    draft = Invoice(
        kind=DocumentKind.RECEIPT,
        account_id=None,
        seller=SELLER,
        buyer=WALK_IN,
        currency="EUR",
        period_start=date(2026, 10, 30),
        period_end=date(2026, 10, 31),
        lines=(line,),
        payment_terms_days=0,
    )
    return issue(draft, 3)


def credit_note_for(
    original: Invoice, reason: str = "Station BER-ALX-02 overcounted idle time"
) -> Invoice:
    return issue(credit_note(original, reason, (), positions=(2,)), 1)


def documents() -> dict[str, Invoice]:
    """Every case, by a name the parametrised tests show."""
    return {
        "driver": driver_invoice(),
        "reverse_charge": reverse_charge_invoice(),
        "per_site": per_site_invoice(),
        "unicode": unicode_invoice(),
        "receipt": receipt(),
        "credit_note": credit_note_for(driver_invoice()),
        "self_billed": issued_statement("standard"),
    }


def small_invoice() -> Invoice:
    """Three sessions of 0.03 at 19 %: VAT 0.02 on the invoice, 0.01 on each line alone."""
    lines = tuple(
        session(i, "Alexanderplatz", "BER-ALX-01", _at(i, 12), {"Energy": "0.03"})
        for i in (1, 2, 3)
    )
    return issue(draft_invoice(DRIVER, lines), 11)


def line_by_line_credit_notes(original: Invoice) -> list[Invoice]:
    """Credit every line of ``original`` by its own credit note, in order."""
    notes: list[Invoice] = []
    for line in original.lines:
        draft = credit_note(original, "Tariff misconfigured", tuple(notes), (line.position,))
        notes.append(issue(draft, len(notes) + 1))
    return notes


# --- self-billed revenue shares (issue 14) ----------------------------------------------------
# The operator settles October 2026 with each host, two sites each:
#   Alexanderplatz: 10 % of 1,234.56 EUR = 123.456 -> 123.46
#   Spandau: 12.5 % of 100.20 EUR = 12.525 -> 12.53 (half-up; half-even would give 12.52)
# net 123.46 + 12.53 = 135.99.

OPERATOR = SELLER  # Stromwerk Ladenetz GmbH, DE136695976: the buyer of a self-billed invoice
OCTOBER = (date(2026, 10, 1), date(2026, 11, 1))
CONTRACT = "SH-2026-0042"
GERMAN_HOST = Party(
    name="Frischmarkt Nord GmbH",
    street="Karl-Marx-Allee 12",
    postal_code="10178",
    city="Berlin",
    country="DE",
    vat_id="DE811907980",
    email="buchhaltung@frischmarkt.example",
    iban="DE02 1203 0000 0000 2020 51",
    registration="HRB 98765 B",
)
AUSTRIAN_HOST = Party(
    name="Alpenmarkt Handels GmbH",
    street="Mariahilfer Straße 1",
    postal_code="1060",
    city="Wien",
    country="AT",
    vat_id="ATU13585627",
    iban="AT61 1904 3002 3457 3201",
)
SMALL_HOST = Party(
    name="Café Kiezecke, Inh. Jana Roth",
    street="Weserstraße 40",
    postal_code="12045",
    city="Berlin",
    country="DE",
    vat_id="DE287654324",
)
CLUB_HOST = Party(
    name="Sportverein Grün-Weiß Spandau e.V.",
    street="Am Sportplatz 3",
    postal_code="13581",
    city="Berlin",
    country="DE",
    registration="VR 12345 B",
)
SMALL_ENTERPRISE = HostVat.exempt(
    "Exempt: small enterprise (Council Directive 2006/112/EC, Art. 284; § 19 UStG)"
)
HOST_CASES: dict[str, tuple[Party, HostVat]] = {
    "standard": (GERMAN_HOST, HostVat.standard(Decimal(19))),
    "reverse_charge": (AUSTRIAN_HOST, HostVat.reverse_charge()),
    "exempt": (SMALL_HOST, SMALL_ENTERPRISE),
    "not_subject": (CLUB_HOST, HostVat.not_subject()),
}


def share_lines() -> tuple[ShareLine, ...]:
    return (
        percent_share(
            "Alexanderplatz", Decimal("1234.56"), Decimal("3086.400"), Decimal(10), "EUR"
        ),
        percent_share("Spandau", Decimal("100.20"), Decimal("250.500"), Decimal("12.5"), "EUR"),
    )


def statement(case: str) -> Invoice:
    host, vat = HOST_CASES[case]
    return self_billed_statement(host, OPERATOR, "EUR", OCTOBER, CONTRACT, share_lines(), vat)


def issued_statement(case: str, sequence: int = 1) -> Invoice:
    return issue(statement(case), sequence)
