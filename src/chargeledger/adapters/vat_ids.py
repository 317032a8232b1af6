"""VAT identification numbers, checked with python-stdnum (the ``VatIdChecker`` port).

EU ids carry their country prefix (Greece: ``EL``, as VIES spells it); other countries' ids
are checked by the national module of the account's country where python-stdnum has one.
"""

from __future__ import annotations

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from chargeledger.errors import InvalidInputError


class StdnumVatIds:
    """``VatIdChecker`` on python-stdnum's check-digit rules (no network look-up)."""

    def normalise(self, vat_id: str, country: str) -> str:
        raw = vat_id.strip() if isinstance(vat_id, str) else ""
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
                f"{vat_id!r} is not a valid VAT identification number",
                code="invalid_vat_id",
                field="vat_id",
            ) from exc
