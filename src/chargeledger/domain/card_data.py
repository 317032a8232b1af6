"""Card data is never stored (DESIGN §2 "No card data", PCI DSS v4.0 req. 3.3/3.4): a value we
would store that holds something shaped like a card number (PAN) is refused.

A PAN is 13-19 digits passing the Luhn check (ISO/IEC 7812-1), written in one piece or in
groups split by single spaces or dashes ("4242 4242 4242 4242", "3782-822463-10005"). Every
run of consecutive groups that adds up to 13-19 digits is checked, so a card followed by more
digits ("4242424242424242 12 30") is still found; a longer unbroken digit string is not taken
apart (that would flag nearly every long number, e.g. the digits of an IBAN).

Random ids are not card numbers: a hexadecimal word with letters in it ("c318165c47674849815")
and a UUID ("35327a22-8994-4cbf-9747-734812313bef") are left out before the search, because
random ids and idempotency keys hold Luhn-passing digit runs about once in 300 and must not be
refused. A card glued to other letters ("x4242424242424242") is still found; one glued to hex
letters ("4242424242424242ab") reads as an id. The guard catches card numbers written by
mistake into a field; it is no barrier to someone set on encoding one (nothing is).
"""

from __future__ import annotations

import re

from chargeledger.errors import InvalidInputError

PAN_LENGTHS = range(13, 20)
_DIGIT_GROUPS = re.compile(r"\d+(?:[ -]\d+)*")
_RANDOM_IDS = re.compile(
    r"(?<![0-9a-z-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-z-])"
    r"|(?<![0-9a-z])(?=[0-9]*[a-f])[0-9a-f]+(?![0-9a-z])",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """True when ``text`` holds 13-19 digits (in one piece or in groups) that pass Luhn, outside
    hexadecimal ids and UUIDs."""
    for match in _DIGIT_GROUPS.finditer(_RANDOM_IDS.sub(" ", text)):
        groups = _SEPARATOR.split(match.group())
        for first in range(len(groups)):
            digits = ""
            for group in groups[first:]:
                digits += group
                if len(digits) > PAN_LENGTHS.stop - 1:
                    break
                if len(digits) in PAN_LENGTHS and luhn_valid(digits):
                    return True
    return False


def refuse_card_data(value: str, field_name: str) -> None:
    """Raise ``card_data_refused`` when a value that is stored looks like a card number (the
    message never repeats the value)."""
    if looks_like_card_number(value):
        raise InvalidInputError(
            f"{field_name} looks like a card number; card data is never stored",
            code="card_data_refused",
            field=field_name,
        )
