"""Writing camt.053 (``adapters/bank/camt053_writer.py``): every written document is valid
against the official schema, holds what a bank statement holds (a batch, a return, an RF
reference, an invoice number in the text) and reads back as the statement written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from lxml import etree  # type: ignore[import-untyped]

from chargeledger.adapters.bank.camt053 import Camt053Reader
from chargeledger.adapters.bank.camt053_schemas import namespace, schema_bytes
from chargeledger.adapters.bank.camt053_writer import camt053_document
from chargeledger.domain.bank_statements import Direction, Statement
from chargeledger.errors import InvalidInputError
from tests.unit.bank_statement_samples import (
    CAMT_02,
    CAMT_08,
    RF_REFERENCE,
    entry,
    eur,
    month_end_statement,
)

READER = Camt053Reader()
SENT_AT = datetime(2026, 9, 1, 5, 0, tzinfo=UTC)
VERSIONS = ["02", "04", "08"]


def written(statements: list[Statement], version: str = "08") -> bytes:
    return camt053_document(statements, message_id="MSG-1", created_at=SENT_AT, version=version)


def valid_against_the_official_schema(data: bytes, version: str) -> etree._Element:
    """The whole document against the XSD file, compiled here and not by the code under test."""
    schema = etree.XMLSchema(etree.fromstring(schema_bytes(version)))
    document = etree.fromstring(data)
    assert schema.validate(document), schema.error_log
    return document


@contextmanager
def refused(message: str) -> Iterator[None]:
    with pytest.raises(InvalidInputError) as info:
        yield
    assert info.value.code == "invalid_statement", info.value.as_dict()
    assert re.search(message, info.value.message), info.value.message


@pytest.mark.parametrize("version", VERSIONS)
def test_a_month_end_statement_is_written_valid_and_reads_back_equal(version: str) -> None:
    statement = month_end_statement()
    data = written([statement], version)
    document = valid_against_the_official_schema(data, version)
    ns = {"c": namespace(version)}
    batch = document.xpath("//c:Ntry[count(c:NtryDtls/c:TxDtls) = 2]", namespaces=ns)
    assert [entry.findtext("c:Amt", namespaces=ns) for entry in batch] == ["60.50"]
    assert document.xpath(
        "//c:Ntry[c:RvslInd = 'true']//c:RtrInf/c:Rsn/c:Cd/text()", namespaces=ns
    ) == ["MD06"]
    assert document.xpath("//c:Strd/c:CdtrRefInf/c:Ref/text()", namespaces=ns) == [RF_REFERENCE]
    assert "Invoice INV-2026-000042" in document.xpath("//c:Ustrd/text()", namespaces=ns)
    assert READER.read(data) == [statement]


@pytest.mark.parametrize("source", [CAMT_02, CAMT_08], ids=["from-02", "from-08"])
def test_a_bank_statement_read_and_written_again_reads_back_equal(source: bytes) -> None:
    statements = READER.read(source)
    data = written(statements)
    valid_against_the_official_schema(data, "08")
    assert READER.read(data) == statements


def test_entries_are_written_one_per_line_under_at_least_one_balance() -> None:
    entries = tuple(entry(entry_ref=f"E{n}", amount=eur("1.00")) for n in range(500))
    statement = replace(
        month_end_statement(), entries=entries, closing_balance=None, opening_balance=None
    )
    with refused("at least one balance"):
        written([statement])
    closing = month_end_statement().closing_balance
    assert closing is not None
    data = written([replace(statement, closing_balance=replace(closing, amount=eur("500")))])
    assert data.count(b"\n<Ntry>") == 500


def test_a_mixed_batch_needs_version_08() -> None:
    [statement, _] = READER.read(CAMT_08)  # a batch of a credit and a debit
    with refused("cannot state a transaction's own direction"):
        written([statement], "02")
    assert READER.read(written([statement], "04")) == [statement]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        pytest.param(
            (entry(entry_ref="A", batch_ref="B"), entry(entry_ref="C")),
            "two or more consecutive",
            id="batch-of-one",
        ),
        pytest.param(
            (
                entry(entry_ref="A", batch_ref="B"),
                entry(entry_ref="C", batch_ref="B", booking_date=date(2026, 8, 4)),
            ),
            "share status, dates and reversal",
            id="batch-over-two-days",
        ),
        pytest.param(
            (
                entry(entry_ref="A", batch_ref="B"),
                entry(entry_ref="C", batch_ref="B"),
                entry(entry_ref="D"),
                entry(entry_ref="E", batch_ref="B"),
                entry(entry_ref="F", batch_ref="B"),
            ),
            "two or more consecutive",
            id="batch-in-two-places",
        ),
        pytest.param((entry(entry_ref="NONREF"),), "no reference", id="no-reference"),
        pytest.param(
            (entry(remittance_unstructured="bell \x07"),), "character XML cannot carry", id="bell"
        ),
        pytest.param(
            (entry(counterparty_name="N" * 141),), "cannot be written.*maxLength", id="long-name"
        ),
        pytest.param(
            (entry(direction=Direction.DEBIT, counterparty_iban="not an iban"),),
            "cannot be written.*IBAN",
            id="bad-iban",
        ),
    ],
)
def test_what_camt_053_cannot_carry_is_refused(entries: tuple[object, ...], message: str) -> None:
    statement = replace(month_end_statement(), entries=entries)
    with refused(message):
        written([statement])


def test_a_statement_period_is_written_with_both_ends_or_none() -> None:
    with refused("both its ends"):
        written([replace(month_end_statement(), to_date=None)])
    no_period = replace(month_end_statement(), from_date=None, to_date=None)
    assert READER.read(written([no_period])) == [no_period]
