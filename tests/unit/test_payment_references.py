"""Payment references (domain.payment_references): ISO 11649 RF references checked with
python-stdnum, and the EPC QR payload of EPC069-12."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from chargeledger.domain.payment_references import (
    MAX_EPC_PAYLOAD_BYTES,
    creditor_reference,
    epc_qr_payload,
    grouped,
    is_creditor_reference,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

IBAN = "DE89370400440532013000"


def test_the_standards_example() -> None:
    """ISO 11649 Annex: reference 539007547034 is RF18539007547034."""
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert grouped("RF18539007547034") == "RF18 5390 0754 7034"


@given(
    series=st.sampled_from(["INV", "RCT", "CN", "X"]),
    year=st.integers(min_value=2000, max_value=2099),
    number=st.integers(min_value=1, max_value=999_999_999),
)
def test_every_invoice_number_makes_a_reference_stdnum_accepts(
    series: str, year: int, number: int
) -> None:
    reference = creditor_reference(f"{series}-{year}-{number:06d}")
    assert iso11649.is_valid(reference)
    assert is_creditor_reference(reference)
    assert is_creditor_reference(grouped(reference).lower())


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=25))
def test_the_check_agrees_with_stdnum(text: str) -> None:
    """Ours is stricter in one way only: ISO 11649 check digits are digits (python-stdnum
    also folds letters there into its MOD 97-10)."""
    ours, theirs = is_creditor_reference("RF" + text), iso11649.is_valid("RF" + text)
    assert ours == (theirs and text[:2].isdigit())


def test_a_typo_in_a_reference_is_caught() -> None:
    reference = creditor_reference("INV-2026-000042")
    typo = reference[:-1] + ("3" if reference[-1] != "3" else "4")
    assert not is_creditor_reference(typo)


@pytest.mark.parametrize("number", ["", "---", "INV-2026-0000000000000000001"])
def test_a_number_that_cannot_be_a_reference_is_refused(number: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        creditor_reference(number)
    assert refused.value.code == "invalid_payment_reference"


def test_the_epc_payload_has_the_fields_of_epc069_12_version_2() -> None:
    payload = epc_qr_payload(
        beneficiary="Chargeledger Demo Charging GmbH",
        iban="DE89 3704 0044 0532 0130 00",
        amount=Money.of("119.00", "EUR"),
        reference="RF18539007547034",
        bic="cobadeffxxx",
    )
    assert payload == "\n".join(
        [
            "BCD",
            "002",
            "1",
            "SCT",
            "COBADEFFXXX",
            "Chargeledger Demo Charging GmbH",
            IBAN,
            "EUR119.00",
            "",
            "RF18539007547034",
            "",
        ]
    )
    assert len(payload.encode()) <= MAX_EPC_PAYLOAD_BYTES


@pytest.mark.parametrize(
    "amount",
    [Money.of("10.00", "CHF"), Money.of("0", "EUR"), Money.of("1000000000.00", "EUR")],
)
def test_no_epc_code_where_the_standard_has_none(amount: Money) -> None:
    assert (
        epc_qr_payload(beneficiary="X", iban=IBAN, amount=amount, reference="RF18539007547034")
        is None
    )


def test_a_long_name_is_cut_to_the_standards_70_characters() -> None:
    payload = epc_qr_payload(
        beneficiary="N" * 100, iban=IBAN, amount=Money.of(Decimal(1), "EUR"), reference="RF18"
    )
    assert payload is not None
    assert payload.split("\n")[5] == "N" * 70
