"""How the PDF prints: its fonts and styles, and text the built-in fonts can show.

The PDF uses the PDF core fonts (Helvetica), which fpdf2 writes with ``WinAnsiEncoding``
(Windows-1252): Latin-1 plus ``€``, dashes and typographic quotes. Names can hold any Unicode
(a Polish site, a Greek customer), and a character outside that set would make fpdf2 refuse
the whole document, so text is transliterated first: accents stripped where the base letter
exists (``Ł`` → ``L``, ``ő`` → ``o``), anything else replaced by ``?``. The e-invoice (UTF-8
XML) keeps the exact text; only the printed copy is approximated.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from fpdf.fonts import FontFace

from chargeledger.domain.text import UNIT_DECIMALS, money_figure, money_text, plain_number

PDF_ENCODING = "windows-1252"
FONT = "Helvetica"
GREY = (95, 95, 95)
HEADINGS = FontFace(emphasis="BOLD", fill_color=(232, 232, 232))
BOLD = FontFace(emphasis="BOLD")
# Letters that Unicode does not decompose into a base letter and a mark.
_LETTERS = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "ĸ": "k",
        "Ŀ": "L",
        "ŀ": "l",
        "Ŋ": "N",
        "ŋ": "n",
        "Ŧ": "T",
        "ŧ": "t",
        "ẞ": "SS",
        "\u2212": "-",  # minus sign
        "\u2009": " ",  # thin space
        "\u202f": " ",  # narrow no-break space
        "\u2011": "-",  # non-breaking hyphen
    }
)


def printable(text: str) -> str:
    """``text`` in characters the core fonts can print (see the module docstring)."""
    result = []
    for char in text.translate(_LETTERS):
        if _encodable(char):
            result.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        result.append(base if base and all(_encodable(c) for c in base) else "?")
    return "".join(result)


def money(amount: Decimal, currency: str) -> str:
    """``1,234.50 EUR``: the currency's minor units and its ISO code (unambiguous abroad)."""
    return money_text(amount, currency, grouped=True)


def plain_amount(amount: Decimal, currency: str) -> str:
    """An amount in a table column whose heading names the currency."""
    return money_figure(amount, currency, grouped=True)


def hours_minutes(hours: Decimal) -> str:
    """A duration in hours as ``h:mm`` (minutes rounded half-up)."""
    minutes = int((hours * 60).to_integral_value(ROUND_HALF_UP))
    return f"{minutes // 60}:{minutes % 60:02d}"


def kwh(energy: Decimal) -> str:
    """Energy as every text prints it (:mod:`chargeledger.domain.text`): ``20``, ``30.825``."""
    return plain_number(energy, UNIT_DECIMALS["kWh"])


def day(value: date | None) -> str:
    """ISO 8601 dates: read the same way in every country the operator bills."""
    return value.isoformat() if value else ""


def _encodable(char: str) -> bool:
    try:
        char.encode(PDF_ENCODING)
    except UnicodeEncodeError:
        return False
    return True
