"""The VAT-id checker (``adapters/vat_ids.py``, the ``VatIdChecker`` port): one compact form
per id, and a refusal for anything a reverse-charge invoice could not carry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.de import vat as de_vat
from stdnum.iso7064 import mod_11_10

from chargeledger.adapters.vat_ids import StdnumVatIds
from chargeledger.errors import InvalidInputError

VAT_IDS = StdnumVatIds()


@contextmanager
def raises_code(code: str, field: str) -> Iterator[None]:
    with pytest.raises(InvalidInputError) as info:
        yield
    assert (info.value.code, info.value.field) == (code, field), info.value.as_dict()


@pytest.mark.parametrize(
    ("vat_id", "country", "compact"),
    [
        # Examples from python-stdnum's documentation of each national module.
        ("DE 136,695 976", "DE", "DE136695976"),
        ("de136695976", "DE", "DE136695976"),
        ("PT 501 964 843", "PT", "PT501964843"),
        ("NL4495445B01", "NL", "NL004495445B01"),
        ("FR 40 303 265 045", "FR", "FR40303265045"),
        ("IT 00743110157", "IT", "IT00743110157"),
        ("EL 094259216", "GR", "EL094259216"),
        ("GB 980 7806 84", "GB", "GB980780684"),
        # Bare digits get the account country's prefix (EL for Greece).
        ("136695976", "DE", "DE136695976"),
        ("501964843", "PT", "PT501964843"),
        ("094259216", "GR", "EL094259216"),
        ("980780684", "GB", "GB980780684"),
        # An EU id with its own prefix is accepted on an account elsewhere in the EU.
        ("DE136695976", "AT", "DE136695976"),
    ],
)
def test_valid_vat_ids_normalise_to_compact_form(vat_id: str, country: str, compact: str) -> None:
    """Reverse-charge invoices print the customer's VAT id; one canonical form per id."""
    assert VAT_IDS.normalise(vat_id, country) == compact


def test_greek_vat_id_with_iso_prefix_normalises_to_el() -> None:
    """The module says EU ids carry their VAT prefix, which for Greece is EL (VIES refuses GR);
    the same id typed as GR... must not be stored in a second form."""
    assert VAT_IDS.normalise("GR094259216", "GR") == "EL094259216"


@pytest.mark.parametrize(
    ("vat_id", "country"),
    [
        ("DE136695977", "DE"),  # wrong check digit
        ("DE13669597", "DE"),  # too short
        ("136695977", "DE"),  # bare digits, wrong check digit
        ("PT501964842", "PT"),
        ("FR40303265046", "FR"),
        ("EL094259217", "GR"),
        ("GB980780685", "GB"),
        ("GB980780684", "DE"),  # a GB id does not pass the DE rules
        ("XX123456789", "DE"),
        ("123456789", "US"),  # no national VAT module to check it with
        ("not a vat id", "DE"),
    ],
)
def test_invalid_vat_ids_are_refused(vat_id: str, country: str) -> None:
    """Council Directive 2006/112/EC art. 196: reverse charge needs a valid VAT id."""
    with raises_code("invalid_vat_id", "vat_id"):
        VAT_IDS.normalise(vat_id, country)


german_vat_bases = st.integers(min_value=10_000_000, max_value=99_999_999).map(str)


@given(base=german_vat_bases)
def test_generated_german_vat_ids(base: str) -> None:
    """Any number with a correct ISO 7064 mod 11,10 check digit is a valid German VAT id,
    with or without its prefix; the bare form gets the DE prefix from the account."""
    number = base + mod_11_10.calc_check_digit(base)
    assert de_vat.is_valid(number)
    assert VAT_IDS.normalise(number, "DE") == "DE" + number
    assert VAT_IDS.normalise("DE " + number, "DE") == "DE" + number


@given(base=german_vat_bases, wrong=st.integers(min_value=1, max_value=9))
def test_generated_german_vat_ids_with_a_wrong_check_digit(base: str, wrong: int) -> None:
    good = int(mod_11_10.calc_check_digit(base))
    number = base + str((good + wrong) % 10)
    with raises_code("invalid_vat_id", "vat_id"):
        VAT_IDS.normalise(number, "DE")
