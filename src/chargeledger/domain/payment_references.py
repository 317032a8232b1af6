"""How a payer names the invoice they pay: an ISO 11649 structured creditor reference ("RF
reference") on every invoice, and the EPC QR code ("GiroCode") that carries it to a banking
app (issue 13).

The reference is the invoice number's letters and digits behind "RF" and two check digits
(ISO 11649 §4: ISO 7064 MOD 97-10 over the reference with "RF00" moved to its end, letters as
10..35), so finance staff recognise the invoice in it and a bank line that carries it names
exactly one invoice. ``tests/unit/test_payment_references.py`` checks every reference we make
with python-stdnum's ``iso11649``; references read from bank statements are checked with it
at the statement edge.

The QR payload follows EPC069-12 v2.1 ("Quick Response Code: guidelines to enable data
capture for the initiation of a SEPA credit transfer"), version 002, UTF-8, one field per line.
"""

from __future__ import annotations

import re
from decimal import Decimal

from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

MAX_REFERENCE_BODY = 21  # ISO 11649: up to 25 characters, "RF" and 2 check digits included
MAX_EPC_PAYLOAD_BYTES = 331  # EPC069-12 §3.4
MAX_EPC_AMOUNT = Decimal("999999999.99")


# Letters as 10..35 (A = 10 ... Z = 35), digits as themselves.
_AS_DIGITS = str.maketrans({chr(ord("A") + n): str(10 + n) for n in range(26)})


def _numeric(text: str) -> int:
    """Letters as 10..35, digits as themselves (ISO 7064 MOD 97-10 as ISO 11649 uses it);
    ``text`` is upper case letters and digits."""
    return int(text.translate(_AS_DIGITS))


def creditor_reference(invoice_number: str) -> str:
    """``INV-2026-000042`` → ``RF<cc>INV2026000042``."""
    body = re.sub(r"[^0-9A-Za-z]", "", invoice_number).upper()
    if not body or len(body) > MAX_REFERENCE_BODY:
        raise InvalidInputError(
            f"{invoice_number!r} cannot be an ISO 11649 reference (1 to 21 letters and digits)",
            code="invalid_payment_reference",
        )
    check = 98 - _numeric(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_creditor_reference(text: str) -> bool:
    """A well-formed RF reference (spaces ignored) whose check digits hold."""
    compact = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", compact):
        return False
    return _numeric(compact[4:] + compact[:4]) % 97 == 1


def grouped(reference: str) -> str:
    """For print: in groups of four (``RF18 5390 0754 7034``), as ISO 11649 recommends."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def epc_qr_payload(
    *, beneficiary: str, iban: str, amount: Money, reference: str, bic: str | None = None
) -> str | None:
    """The EPC QR text for a SEPA credit transfer of ``amount`` to ``iban`` with the structured
    ``reference``; None where the standard has no code for it (not euro, nothing to pay, an
    amount above its maximum)."""
    if amount.currency.code != "EUR" or amount.amount <= 0 or amount.amount > MAX_EPC_AMOUNT:
        return None
    fields = [
        "BCD",  # service tag
        "002",  # version: the BIC is optional inside the EEA
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        (bic or "").replace(" ", "").upper(),
        beneficiary.strip()[:70],
        iban.replace(" ", "").upper(),
        f"EUR{amount.amount.quantize(Decimal('0.01'))}",
        "",  # purpose code
        reference,  # structured remittance information (ISO 11649)
        "",  # unstructured remittance information: not with a structured one
    ]
    payload = "\n".join(fields)
    return payload if len(payload.encode()) <= MAX_EPC_PAYLOAD_BYTES else None
