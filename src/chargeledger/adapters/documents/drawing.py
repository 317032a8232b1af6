"""Pieces of printed documents drawn the same way wherever they appear: an annex's paragraphs;
data that must be read character for character (signed meter records, keys, hashes) as
monospace lines cut at a fixed width, so that no character is lost to word wrapping and a line
can be typed back exactly; and QR codes drawn as vector squares (no raster image), so a
document stays the same bytes whenever it is rendered."""

from __future__ import annotations

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from chargeledger.adapters.documents.printing import FONT, printable

MONOSPACE = "Courier"


def paragraph(pdf: FPDF, value: str, size: float, style: str = "", height: float = 4.2) -> None:
    """``value`` in the document's font, wrapped across the printable width."""
    pdf.set_font(FONT, style, size)
    pdf.multi_cell(0, height, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def monospace(pdf: FPDF, text: str, size: float = 7.0) -> None:
    """``text`` in Courier across the printable width, cut every N characters (N: what fits
    a line) and at its own line breaks; nothing is re-flowed, trimmed or hyphenated."""
    pdf.set_font(MONOSPACE, size=size)
    per_line = max(int(pdf.epw / pdf.get_string_width("0")) - 1, 1)
    height = size * 0.45
    for line in printable(text).splitlines() or [""]:
        for start in range(0, max(len(line), 1), per_line):
            pdf.cell(
                pdf.epw, height, line[start : start + per_line], new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )


def _modules(payload: str, error: str) -> list[list[bool]]:
    code = segno.make_qr(payload, error=error, boost_error=False, encoding="utf-8")
    return [[bool(dark) for dark in row] for row in code.matrix_iter(scale=1, border=4)]


def draw_qr(
    pdf: FPDF,
    payload: str,
    caption: str,
    module_mm: float,
    *,
    error: str = "m",
    max_side_mm: float | None = None,
) -> None:
    """``caption`` then the QR code of ``payload`` (byte mode, UTF-8, error correction level
    ``error``, a 4-module quiet zone as ISO/IEC 18004 asks) at the left margin, on a new page
    when it would not fit; modules of ``module_mm``, smaller where the code would be wider
    than ``max_side_mm``. ``segno.DataOverflowError`` when ``payload`` is too long for any QR
    code. The cursor ends below it."""
    modules = _modules(payload, error)
    if max_side_mm is not None:
        module_mm = min(module_mm, max_side_mm / len(modules))
    side = len(modules) * module_mm
    if pdf.get_y() + side + 8 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FONT, size=8)
    pdf.multi_cell(0, 4.6, printable(caption), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left, top = pdf.l_margin, pdf.get_y()
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                x, y = left + column * module_mm, top + row * module_mm
                pdf.rect(x, y, module_mm, module_mm, style="F")
    pdf.set_fill_color(255)
    pdf.set_y(top + side)
