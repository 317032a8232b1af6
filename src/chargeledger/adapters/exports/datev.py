"""The ledger as a DATEV Buchungsstapel: the DATEV-Format (EXTF) file that DATEV
Rechnungswesen and DATEV Unternehmen online import as a batch of bookings.

The file follows DATEV's format description (developer.datev.de, "DATEV-Format": Header and
Buchungsstapel), header version 700, format category 21, format version 13:

- line 1, the header: 31 fields, ``"EXTF";700;21;"Buchungsstapel";13;<created>;;"RE";...``
  with the consultant (Berater) and client (Mandant) numbers, the start of the fiscal year
  (WJ-Beginn), the length of general-ledger accounts (Sachkontenlänge), the batch's period
  (Datum vom, Datum bis), its name (Bezeichnung, at most 30 characters), Festschreibung 0 (the
  batch stays open for the accountant to review and lock), currency EUR and the chart (``03``
  SKR03, ``04`` SKR04);
- line 2, the 125 column titles of format version 13 as DATEV's sample files spell them;
- one line per booking (``datev_lines``): Umsatz with a decimal comma and no thousands
  separator, always positive, with Soll/Haben-Kennzeichen ``S`` or ``H`` for the Konto;
  Belegdatum as DDMM (the year is the header's, so a batch lies within one calendar year and
  one fiscal year); Belegfeld 1 the document number; Buchungstext at most 60 characters.

Fields are separated by ``;``; text fields are in double quotes with inner quotes doubled,
numbers and dates are not; lines end in CRLF. The character set is Windows-1252: DATEV reads
that (or ISO 8859-1) by default on every import path, and Unicode only when a BOM announces it
and only through manual import or its online API, not through the Kanzlei-Rechnungswesen
batch import ("DATEV-Format: Zeichensatz"). Text that Windows-1252 cannot hold is written with
``?`` in its place, so the file always encodes. A batch holds at most 99,999 bookings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.adapters.exports.datev_charts import DatevBooks
from chargeledger.adapters.exports.datev_lines import Booking, DebtorNumbers, bookings
from chargeledger.domain.ledger import JournalEntry
from chargeledger.errors import ConfigurationError, InvalidInputError
from chargeledger.services.billing.exporting import NO_SOURCES, ExportSources, entries_between

CURRENCY = "EUR"
ENCODING = "cp1252"
MAX_BOOKINGS = 99_999
TEXT_LENGTH = 60  # Buchungstext
NAME_LENGTH = 30  # Bezeichnung of the batch
_LARGEST_AMOUNT = Decimal("9999999999.99")  # Umsatz: at most 10 digits before the comma
_LINE_BREAKS = re.compile(r"[\r\n\t]+")

COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    *(f"Beleginfo - {part} {n}" for n in range(1, 9) for part in ("Art", "Inhalt")),
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    *(f"Zusatzinformation{part} {n}" for n in range(1, 21) for part in (" - Art", "- Inhalt")),
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Buchungs GUID",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
)
# Positions (0-based) of the fields chargeledger fills.
_AMOUNT, _SIDE, _CURRENCY, _ACCOUNT, _CONTRA, _BU_KEY, _DAY, _DOCUMENT, _TEXT, _EU_VAT_ID = (
    COLUMNS.index(title)
    for title in (
        "Umsatz (ohne Soll/Haben-Kz)",
        "Soll/Haben-Kennzeichen",
        "WKZ Umsatz",
        "Konto",
        "Gegenkonto (ohne BU-Schlüssel)",
        "BU-Schlüssel",
        "Belegdatum",
        "Belegfeld 1",
        "Buchungstext",
        "EU-Land u. UStID (Bestimmung)",
    )
)


class DatevExporter:
    """:class:`~chargeledger.services.billing.exporting.AccountingExporter` for a DATEV
    Buchungsstapel of ``books`` (None: DATEV is not configured, and an export is refused
    with ``datev_not_configured``). ``now`` stamps the header's creation time, in the
    operator's ``time_zone``."""

    name: str = "datev"
    media_type: str = "text/csv; charset=windows-1252"
    encoding: str = ENCODING
    needs_sources: bool = True

    def __init__(
        self, books: DatevBooks | None, now: Callable[[], datetime], time_zone: str
    ) -> None:
        self.books = books
        self.now = now
        self.time_zone = time_zone

    def export(
        self,
        entries: Sequence[JournalEntry],
        *,
        start: date | None,
        end: date | None,
        title: str,
        sources: ExportSources = NO_SOURCES,
    ) -> str:
        books = self._configured()
        chosen = entries_between(entries, start, end)
        first, last = _period(chosen, start, end)
        year_start = _fiscal_year_start(first, books.fiscal_year_start)
        _check_one_year(first, last, year_start)
        debtors = DebtorNumbers(books.chart, sources.customers)
        lines = [
            line
            for entry in chosen
            for line in bookings(_euro_only(entry), books.chart, sources, debtors)
        ]
        if len(lines) > MAX_BOOKINGS:
            raise InvalidInputError(
                f"{len(lines)} bookings are more than a DATEV batch takes ({MAX_BOOKINGS}): "
                "export a shorter period",
                code="datev_batch_too_large",
                field="end",
            )
        header = self._header(books, year_start, first, last, title)
        rows = [header, ";".join(_text(column) for column in COLUMNS)]
        rows += [_row(line) for line in lines]
        return "\r\n".join(rows) + "\r\n"

    def _configured(self) -> DatevBooks:
        books = self.books
        if books is None or books.consultant is None or books.client is None:
            raise ConfigurationError(
                "set CHARGELEDGER_DATEV_CONSULTANT and CHARGELEDGER_DATEV_CLIENT (the "
                "Berater- and Mandantennummer DATEV files the batch under) to export to DATEV",
                code="datev_not_configured",
            )
        return books

    def _header(
        self, books: DatevBooks, year_start: date, first: date, last: date, title: str
    ) -> str:
        created = self.now().astimezone(ZoneInfo(self.time_zone))
        fields = (
            _text("EXTF"),  # 1 DATEV-Format-KZ: made by a program other than DATEV's
            "700",  # 2 header version
            "21",  # 3 format category: Buchungsstapel
            _text("Buchungsstapel"),  # 4 format name
            "13",  # 5 format version
            created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",  # 6
            "",  # 7 Importiert: set by DATEV
            _text("RE"),  # 8 Herkunft: DATEV replaces it with SV on import
            _text("chargeledger"),  # 9 Exportiert von
            _text(""),  # 10 Importiert von: set by DATEV
            str(books.consultant),  # 11 Berater
            str(books.client),  # 12 Mandant
            _day(year_start),  # 13 WJ-Beginn
            str(books.chart.account_length),  # 14 Sachkontenlänge
            _day(first),  # 15 Datum vom
            _day(last),  # 16 Datum bis
            _text(title, NAME_LENGTH),  # 17 Bezeichnung
            _text(""),  # 18 Diktatkürzel
            "1",  # 19 Buchungstyp: Finanzbuchführung
            "0",  # 20 Rechnungslegungszweck: independent of purpose
            "0",  # 21 Festschreibung: not locked
            _text(CURRENCY),  # 22 WKZ
            "",  # 23 reserved
            _text(""),  # 24 Derivatskennzeichen
            "",  # 25 reserved
            "",  # 26 reserved
            _text(books.chart.code),  # 27 Sachkontenrahmen
            "",  # 28 Branchen-Lösungs-ID
            "",  # 29 reserved
            _text(""),  # 30 reserved
            _text(""),  # 31 Anwendungsinformation
        )
        return ";".join(fields)


def _row(line: Booking) -> str:
    fields = [""] * len(COLUMNS)
    fields[_AMOUNT] = _amount(line.amount)
    fields[_SIDE] = _text(line.side)
    fields[_CURRENCY] = _text(CURRENCY)
    fields[_ACCOUNT] = str(line.account)
    fields[_CONTRA] = str(line.contra)
    fields[_BU_KEY] = _text(line.bu_key)
    fields[_DAY] = line.day.strftime("%d%m")
    fields[_DOCUMENT] = _text(line.document)
    fields[_TEXT] = _text(line.text, TEXT_LENGTH)
    fields[_EU_VAT_ID] = _text(line.eu_vat_id)
    return ";".join(fields)


def _amount(amount: Decimal) -> str:
    """``1234,56``: cents, a decimal comma, no sign and no thousands separator."""
    if amount != amount.quantize(Decimal("0.01")) or not 0 < amount <= _LARGEST_AMOUNT:
        raise InvalidInputError(
            f"{amount} cannot be a DATEV Umsatz (0,01 to 9999999999,99 in cents)",
            code="datev_amount_out_of_range",
        )
    return f"{amount:.2f}".replace(".", ",")


def _text(value: str, limit: int | None = None) -> str:
    """A text field: one line, only what Windows-1252 holds, cut to ``limit``, quoted."""
    flat = _LINE_BREAKS.sub(" ", value).strip()
    flat = flat.encode(ENCODING, errors="replace").decode(ENCODING)
    if limit is not None:
        flat = flat[:limit].rstrip()
    return '"' + flat.replace('"', '""') + '"'


def _day(day: date) -> str:
    return day.strftime("%Y%m%d")


def _euro_only(entry: JournalEntry) -> JournalEntry:
    """DATEV books are kept in euro; chargeledger has no exchange rates to convert others."""
    for posting in entry.postings:
        if posting.units.currency.code != CURRENCY:
            raise InvalidInputError(
                f"entry {entry.id} ({entry.description}) is in {posting.units.currency.code}: "
                "a DATEV batch holds euro only",
                code="datev_currency_unsupported",
                field="currency",
            )
    return entry


def _period(
    chosen: Sequence[JournalEntry], start: date | None, end: date | None
) -> tuple[date, date]:
    """Datum vom and Datum bis (inclusive): the export period, or the entries' dates."""
    first = start if start is not None else (chosen[0].booked_on if chosen else None)
    last = (
        end - timedelta(days=1) if end is not None else (chosen[-1].booked_on if chosen else None)
    )
    if first is None or last is None:
        raise InvalidInputError(
            "a DATEV batch without entries needs its period: give --from and --to",
            code="datev_period_required",
            field="start",
        )
    if last < first:
        raise InvalidInputError(
            "a DATEV batch covers at least one day", code="invalid_period", field="end"
        )
    return first, last


def _fiscal_year_start(day: date, month_day: tuple[int, int]) -> date:
    month, first_day = month_day
    begins = date(day.year, month, first_day)
    return begins if begins <= day else date(day.year - 1, month, first_day)


def _check_one_year(first: date, last: date, year_start: date) -> None:
    """Belegdatum has no year: DATEV reads it from the batch, which lies within one fiscal
    year (from WJ-Beginn) and one calendar year."""
    next_year = year_start.replace(year=year_start.year + 1)
    if last >= next_year or last.year != first.year:
        raise InvalidInputError(
            f"a DATEV batch lies within one fiscal year (from {_iso(year_start)}) and one "
            f"calendar year; {_iso(first)} to {_iso(last)} does not: export it in parts",
            code="datev_period_spans_years",
            field="end",
        )


def _iso(day: date) -> str:
    return day.isoformat()
