"""VAT identification numbers, checked with python-stdnum.

An invalid VAT id on a business account would later produce a wrong reverse-charge invoice
(Council Directive 2006/112/EC art. 196 needs the customer's valid VAT id), so we refuse it at
the door. EU ids carry their country prefix (Greece: ``EL``); other countries' ids are checked
by the national module of the account's country where python-stdnum has one.
"""

from __future__ import annotations

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from chargeledger.errors import InvalidInputError


def normalise_vat_id(value: str, country: str) -> str:
    """Return the compact VAT id (e.g. ``DE136695976``) or raise ``invalid_vat_id``."""
    raw = value.strip() if isinstance(value, str) else ""
    if raw[:1].isdigit() and country.lower() in eu_vat.MEMBER_STATES:
        raw = ("EL" if country == "GR" else country) + raw
    prefix = raw[:2].lower()
    try:
        if prefix in eu_vat.MEMBER_STATES or prefix == "el":
            compact = str(eu_vat.validate(raw))
            # Greece's VAT prefix is EL (VIES), though python-stdnum also accepts GR.
            return "EL" + compact[2:] if compact[:2].upper() == "GR" else compact
        module = get_cc_module(country.lower(), "vat")
        if module is None:
            raise ValidationError()
        compact = str(module.validate(raw))
        return compact if compact[:2].upper() == country else country + compact
    except ValidationError as exc:
        raise InvalidInputError(
            f"{value!r} is not a valid VAT identification number",
            code="invalid_vat_id",
            field="vat_id",
        ) from exc
