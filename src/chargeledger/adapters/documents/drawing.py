"""Pieces of printed documents drawn the same way wherever they appear: data that must be read
character for character (signed meter records, keys) as monospace lines cut at a fixed width,
so that no character is lost to word wrapping and a line can be typed back exactly."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from chargeledger.adapters.documents.printing import printable

MONOSPACE = "Courier"


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
