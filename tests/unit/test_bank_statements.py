"""Bank statements (issue 13): the domain's rules, reading camt.053 (.02 and .08) against the
official schemas, hostile XML, and recognising a file's format. The CSV format is tested in
``test_bank_statement_csv.py``, writing camt.053 in ``test_camt053_writer.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from lxml import etree  # type: ignore[import-untyped]

from chargeledger.adapters.bank.camt053 import Camt053Reader
from chargeledger.adapters.bank.camt053_schemas import schema_bytes
from chargeledger.adapters.bank.camt053_writer import camt053_document
from chargeledger.adapters.bank.reader import BankStatementReader
from chargeledger.domain.bank_statements import (
    CONTENT_REF_PREFIX,
    BankTransactionCode,
    BookedBalance,
    ContentRefs,
    Direction,
    EntryStatus,
    StatementEntry,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.billing.statements import StatementFormat, statement_format
from tests.unit.bank_statement_samples import (
    ACCOUNT,
    CAMT_02,
    CAMT_08,
    CUSTOMER_IBAN,
    RF_REFERENCE,
    entry,
    eur,
    month_end_statement,
)

READER = Camt053Reader()
NS_08 = b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@contextmanager
def refused(code: str, message: str = "") -> Iterator[pytest.ExceptionInfo[InvalidInputError]]:
    with pytest.raises(InvalidInputError) as info:
        yield info
    assert info.value.code == code, info.value.as_dict()
    assert re.search(message, info.value.message), info.value.message


# --- the domain -------------------------------------------------------------------------------


def test_an_entry_amount_is_never_negative_and_the_direction_signs_it() -> None:
    with refused("invalid_statement", "never negative"):
        entry(amount=eur("-1.00"))
    with refused("invalid_statement", "more decimals"):
        entry(amount=eur("1.001"))
    assert entry(direction=Direction.DEBIT).signed_amount == eur("-10.00")
    assert entry().signed_amount == eur("10.00")


def test_a_bank_transaction_code_has_the_whole_iso_triple_or_none() -> None:
    with refused("invalid_statement", "domain, a family and a sub-family"):
        BankTransactionCode("PMNT", "RCDT", None)
    assert BankTransactionCode(proprietary="NTRF+166").domain is None


def test_a_statement_refuses_entries_it_cannot_hold() -> None:
    statement = month_end_statement()
    with refused("invalid_statement", "appears twice"):
        replace(statement, entries=(entry(), entry()))
    with refused("invalid_statement", "in CHF on a EUR account"):
        replace(statement, entries=(entry(), entry(entry_ref="X", amount=Money.of("1", "CHF"))))
    with refused("invalid_statement", "UTC"):
        replace(statement, created_at=datetime(2026, 9, 1))
    with refused("invalid_statement", "ends"):
        replace(statement, from_date=date(2026, 9, 1))


def test_the_balance_gap_is_zero_when_the_booked_entries_explain_the_balances() -> None:
    statement = month_end_statement()
    assert statement.balance_gap() == eur("0.00")
    pending = entry(entry_ref="P", status=EntryStatus.PENDING, amount=eur("99.00"))
    assert replace(statement, entries=(*statement.entries, pending)).balance_gap() == eur("0")
    missing_one = replace(statement, entries=statement.entries[1:])
    assert missing_one.balance_gap() == eur("119.00")
    assert replace(statement, opening_balance=None).balance_gap() is None


def test_content_refs_are_stable_and_tell_identical_entries_apart() -> None:
    twin = entry(entry_ref="", remittance_unstructured="INV-1")
    first, second = ContentRefs(ACCOUNT), ContentRefs(ACCOUNT)
    refs = [first.ref_for([twin]), first.ref_for([twin])]
    assert refs == [second.ref_for([twin]), second.ref_for([twin])]  # read again: the same
    assert refs[0] != refs[1]  # two identical payments stay two entries
    assert ContentRefs(CUSTOMER_IBAN).ref_for([twin]) != refs[0]  # another account
    changed = replace(twin, remittance_unstructured="INV-2")
    assert ContentRefs(ACCOUNT).ref_for([changed]) != refs[0]
    assert all(ref.startswith(CONTENT_REF_PREFIX) and len(ref) <= 35 for ref in refs)


# --- reading camt.053 -------------------------------------------------------------------------


def test_a_camt_053_001_02_month_end_statement_is_read() -> None:
    [statement] = READER.read(CAMT_02)
    assert (statement.statement_id, statement.account_iban, statement.currency) == (
        "2026-08-31-0001",
        ACCOUNT,
        "EUR",
    )
    assert statement.created_at == datetime(2026, 9, 1, 4, 0, tzinfo=UTC)
    assert (statement.from_date, statement.to_date) == (date(2026, 8, 1), date(2026, 8, 31))
    # German banks open with the previous day's closing balance (PRCD).
    assert statement.opening_balance == BookedBalance(eur("1000.00"), date(2026, 7, 31))
    assert statement.closing_balance == BookedBalance(eur("1139.10"), date(2026, 8, 31))
    assert statement.balance_gap() == eur("0")
    transfer, first_debit, second_debit, returned, fee = statement.entries
    assert transfer == StatementEntry(
        entry_ref="2026080412345",
        amount=eur("119.00"),
        direction=Direction.CREDIT,
        status=EntryStatus.BOOKED,
        booking_date=date(2026, 8, 4),
        value_date=date(2026, 8, 4),
        bank_transaction_code=BankTransactionCode("PMNT", "RCDT", "ESCT", "NTRF+166", "ZKA"),
        end_to_end_id=None,  # NOTPROVIDED
        counterparty_name="Fleet Services SARL",
        counterparty_iban=CUSTOMER_IBAN,  # normalised: the bank wrote it in lower case
        counterparty_bic="PSSTFRPPXXX",
        remittance_unstructured="Rechnung INV-2026-0000\n42 Kundennr 1001",
    )
    assert returned.return_reason == "AC04"
    assert returned.is_return
    assert not returned.reversal
    # A returned direct debit keeps the original roles: the customer is the counterparty.
    assert (returned.counterparty_name, returned.counterparty_iban) == (
        "Max Mustermann",
        "GB29NWBK60161331926819",
    )
    assert fee.bank_transaction_code == BankTransactionCode(
        proprietary="NCHG+805", proprietary_issuer="ZKA"
    )
    assert fee.entry_ref.startswith(CONTENT_REF_PREFIX)  # the bank gave no reference
    assert first_debit.direction is second_debit.direction is Direction.CREDIT


def test_a_batch_entry_becomes_one_entry_per_transaction() -> None:
    [statement] = READER.read(CAMT_02)
    batch = [e for e in statement.entries if e.batch_ref is not None]
    assert [e.amount for e in batch] == [eur("25.00"), eur("35.50")]
    assert [e.end_to_end_id for e in batch] == ["E2E-INV-2026-000043", "E2E-INV-2026-000044"]
    assert batch[0].creditor_reference == RF_REFERENCE
    assert batch[1].remittance_unstructured == "INV-2026-000044"
    # NONREF is no reference: the batch is referenced by its content, its members by position.
    batch_ref = batch[0].batch_ref
    assert batch_ref is not None
    assert batch_ref.startswith(CONTENT_REF_PREFIX)
    assert [e.entry_ref for e in batch] == [f"{batch_ref}/1", f"{batch_ref}/2"]
    assert all(e.bank_transaction_code == batch[0].bank_transaction_code for e in batch)
    assert READER.read(CAMT_02) == [statement]  # the same file, the same references


def test_a_camt_053_001_08_document_with_two_statements_is_read() -> None:
    euro, dutch = READER.read(CAMT_08)
    assert euro.currency == "EUR"  # no Acct/Ccy: the balances' currency
    assert euro.created_at == datetime(2026, 9, 1, 4, 30, tzinfo=UTC)  # the group header's
    assert euro.opening_balance == BookedBalance(eur("-20.00"), date(2026, 8, 1))
    assert euro.balance_gap() == eur("0")
    reversal, fleet, fee, pending = euro.entries
    assert reversal.reversal
    assert reversal.return_reason == "AC04"
    assert reversal.booking_date == date(2026, 8, 10)  # DtTm, the bank's own calendar day
    # The reversal of a refund we sent: the original creditor is the counterparty.
    assert (reversal.counterparty_name, reversal.counterparty_bic) == ("Jean Dupont", "PSSTFRPPXXX")
    assert (fleet.entry_ref, fleet.batch_ref, fleet.creditor_reference) == (
        "BATCH-77-A",
        "BATCH-77",
        RF_REFERENCE,
    )
    assert (fee.entry_ref, fee.direction, fee.amount) == ("BATCH-77/2", Direction.DEBIT, eur("5"))
    assert fee.bank_transaction_code == BankTransactionCode(proprietary="FEE")
    assert pending.status is EntryStatus.PENDING
    assert pending.booking_date is None
    assert (dutch.account_iban, dutch.entries, dutch.opening_balance) == (
        "NL91ABNA0417164300",
        (),
        None,
    )
    assert dutch.created_at == datetime(2026, 9, 1, 3, 0, tzinfo=UTC)


def test_a_big_statement_is_read_entry_by_entry() -> None:
    """20 000 entries (the benchmark reads 100 000 and prints the speed): each is validated
    and converted as its end tag is read, and what the reader keeps is the entries."""
    entries = tuple(
        entry(entry_ref=f"E{n}", amount=eur(f"{n % 97}.{n % 100:02d}"), end_to_end_id=f"X{n}")
        for n in range(20_000)
    )
    total = sum((e.amount for e in entries), eur("0"))
    statement = replace(
        month_end_statement(),
        entries=entries,
        opening_balance=BookedBalance(eur("0"), date(2026, 8, 1)),
        closing_balance=BookedBalance(total, date(2026, 8, 31)),
    )
    data = camt053_document(
        [statement], message_id="BIG", created_at=datetime(2026, 9, 1, tzinfo=UTC)
    )
    assert READER.read(data) == [statement]


# --- refusals ---------------------------------------------------------------------------------


def test_an_entry_against_the_schema_is_refused_with_its_line() -> None:
    broken = CAMT_08.replace(
        b"<CdtDbtInd>CRDT</CdtDbtInd>\n        <RvslInd>",
        b"<CdtDbtInd>CREDIT</CdtDbtInd>\n        <RvslInd>",
    )
    line = broken.split(b"CREDIT")[0].count(b"\n") + 1
    with refused("invalid_statement", rf"^line {line}: .*CdtDbtInd.*'CREDIT'") as info:
        READER.read(broken)
    assert info.value.details == {"line": line, "schema": "camt.053.001.08"}
    assert "{urn:" not in info.value.message  # the namespace noise is left out


def test_a_statement_against_the_schema_is_refused_with_its_line() -> None:
    without_balances = re.sub(rb"<Bal>.*?</Bal>", b"", CAMT_02, flags=re.S)
    with refused("invalid_statement", r"line \d+: .*(Bal|Missing child)"):
        READER.read(without_balances)


ENTRY = b"<Ntry><Amt Ccy='EUR'>1</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BkTxCd/></Ntry>"
ENTRY_08 = ENTRY.replace(b"<Sts>BOOK</Sts>", b"<Sts><Cd>BOOK</Cd></Sts>")
LAST_ENTRY_END = b"</Ntry>\n    </Stmt>"
BALANCE_08 = (
    b"<Bal><Tp><CdOrPrtry><Cd>CLAV</Cd></CdOrPrtry></Tp><Amt Ccy='EUR'>1</Amt>"
    b"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-08-31</Dt></Dt></Bal>"
)
NL_ACCOUNT_END = b"<Ccy>EUR</Ccy></Acct>"


@pytest.mark.parametrize(
    ("version", "old", "new", "valid"),
    [
        pytest.param("02", b"<TxsSummry>", ENTRY + b"<TxsSummry>", False, id="entry-before-sum"),
        pytest.param("02", b"<Bal>", ENTRY + b"<Bal>", False, id="entry-before-balances"),
        pytest.param(
            "02",
            b"</Ntry>\n      <Ntry>\n        <NtryRef>",
            b"</Ntry><AddtlStmtInf>x</AddtlStmtInf><Ntry><NtryRef>",
            False,
            id="text-between-entries",
        ),
        pytest.param("02", LAST_ENTRY_END, b"</Ntry><TxsSummry/></Stmt>", False, id="sum-after"),
        pytest.param(
            "02",
            LAST_ENTRY_END,
            b"</Ntry><AddtlStmtInf>x</AddtlStmtInf><AddtlStmtInf>y</AddtlStmtInf></Stmt>",
            False,
            id="two-texts-after",
        ),
        pytest.param("02", b"</GrpHdr>", b"</GrpHdr><Ntry/>", False, id="entry-outside"),
        pytest.param("02", b"<Sts>BOOK</Sts>", b"<Sts>FUTR</Sts>", False, id="unknown-status"),
        pytest.param("02", b"<Id>2026-08-31-0001</Id>", b"", False, id="statement-without-id"),
        pytest.param(
            "02", LAST_ENTRY_END, b"</Ntry><AddtlStmtInf>x</AddtlStmtInf></Stmt>", True, id="text"
        ),
        pytest.param("02", b"</TxsSummry>", b"</TxsSummry>" + ENTRY, True, id="one-more-entry"),
        pytest.param(
            "02", re.compile(rb"<TxsSummry>.*?</TxsSummry>", re.S), b"", True, id="no-summary"
        ),
        # Only the position checks see these: without the entries, the rest is valid.
        pytest.param(
            "08", LAST_ENTRY_END, b"</Ntry>" + BALANCE_08 + b"</Stmt>", False, id="bal-after"
        ),
        pytest.param("08", NL_ACCOUNT_END, NL_ACCOUNT_END + ENTRY_08, False, id="lone-entry-first"),
        pytest.param("08", NL_ACCOUNT_END, NL_ACCOUNT_END + BALANCE_08, True, id="two-balances"),
    ],
)
def test_the_streamed_verdict_is_the_whole_documents_verdict(
    version: str, old: bytes | re.Pattern[bytes], new: bytes, valid: bool
) -> None:
    """Validating entry by entry and then the rest gives the schema's verdict on the whole
    document: each change is refused (or accepted) by both."""
    document = CAMT_02 if version == "02" else CAMT_08
    if isinstance(old, re.Pattern):
        changed = old.sub(new, document)
    else:
        changed = document.replace(old, new, 1)
    assert changed != document
    schema = etree.XMLSchema(etree.fromstring(schema_bytes(version)))
    assert schema.validate(etree.fromstring(changed)) is valid
    if valid:
        READER.read(changed)
    else:
        with refused("invalid_statement"):
            READER.read(changed)


def test_the_unchanged_samples_are_valid_as_whole_documents() -> None:
    for version, data in (("02", CAMT_02), ("08", CAMT_08)):
        schema = etree.XMLSchema(etree.fromstring(schema_bytes(version)))
        assert schema.validate(etree.fromstring(data)), schema.error_log


def test_a_status_outside_book_pending_info_is_refused() -> None:
    with refused("invalid_statement", "status 'FUTR' is not one of BOOK, PDNG, INFO"):
        READER.read(CAMT_08.replace(b"<Cd>PDNG</Cd>", b"<Cd>FUTR</Cd>"))


def test_a_batch_whose_transactions_do_not_add_up_is_refused() -> None:
    with refused("invalid_statement", r"add up to 55.00 EUR, the entry books 60.50 EUR"):
        READER.read(
            CAMT_02.replace(
                b'<Amt Ccy="EUR">35.50</Amt></TxAmt>', b'<Amt Ccy="EUR">30.00</Amt></TxAmt>'
            )
        )


def test_a_reference_used_twice_is_refused() -> None:
    with refused("invalid_statement", "appears twice"):
        READER.read(CAMT_02.replace(b"2026081200077", b"2026080412345"))


def test_an_account_that_is_not_a_valid_iban_is_refused() -> None:
    with refused("invalid_statement", "not a valid IBAN"):
        READER.read(
            CAMT_02.replace(
                b"<IBAN>DE44500105175407324931</IBAN></Id>\n        <Ccy>",
                b"<IBAN>DE44500105175407324932</IBAN></Id>\n        <Ccy>",
            )
        )


@pytest.mark.parametrize(
    ("namespace", "detail"),
    [
        (b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.11", "camt.053.001.11"),
        (b"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08", "camt.054.001.08"),
        (b"urn:example:not-a-bank", "urn:example:not-a-bank"),
    ],
)
def test_an_unsupported_namespace_is_refused(namespace: bytes, detail: str) -> None:
    with refused("unsupported_statement_version", f"{detail}.*supported are camt.053.001.02"):
        READER.read(CAMT_08.replace(NS_08, namespace))


def test_xml_that_is_not_well_formed_is_refused_with_its_line() -> None:
    with refused("invalid_statement", r"line 4: not well-formed XML"):
        READER.read(
            b'<?xml version="1.0"?>\n<Document xmlns="'
            + NS_08
            + b'">\n<BkToCstmrStmt>\n</Document>'
        )


# --- hostile XML ------------------------------------------------------------------------------


def test_an_external_entity_is_never_read() -> None:
    xxe = CAMT_08.replace(
        b"<Document",
        b'<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n<Document',
    ).replace(b"MSG-2026-09-01", b"&secret;")
    with refused("invalid_statement", "DOCTYPE is not allowed") as info:
        READER.read(xxe)
    assert "root:" not in info.value.message


def test_a_billion_laughs_document_is_refused_before_anything_expands() -> None:
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    bomb = CAMT_08.replace(
        b"<Document", f'<!DOCTYPE Document [<!ENTITY lol0 "lol">{levels}]>\n<Document'.encode()
    ).replace(b"MSG-2026-09-01", b"&lol9;")
    with refused("invalid_statement", "DOCTYPE is not allowed"):
        READER.read(bomb)


def test_a_dtd_on_the_network_is_never_fetched() -> None:
    remote = CAMT_08.replace(
        b"<Document", b'<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">\n<Document'
    )
    with refused("invalid_statement", "DOCTYPE is not allowed"):
        READER.read(remote)


def test_nesting_beyond_libxml2s_limit_is_refused() -> None:
    deep = b"<a>" * 5000 + b"</a>" * 5000
    nested = CAMT_08.replace(b"<AddtlStmtInf>", b"").replace(
        b"</Stmt>\n  </BkToCstmrStmt>", b"<X>" + deep + b"</X></Stmt>\n  </BkToCstmrStmt>"
    )
    with refused("invalid_statement", "not well-formed XML: Excessive depth"):
        READER.read(nested)


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with refused("statement_too_large", f"{len(CAMT_08)} bytes; at most 1000"):
        Camt053Reader(max_bytes=1000).read(CAMT_08)


# --- recognising the format -------------------------------------------------------------------

CSV = b"account_iban,booking_date,amount,currency\nDE44500105175407324931,2026-08-03,10.00,EUR\n"


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (CAMT_08, None, StatementFormat.CAMT053),
        (b"\xef\xbb\xbf\n  " + CAMT_08, "statement.csv", StatementFormat.CAMT053),
        (CSV, None, StatementFormat.CSV),
        (CSV.replace(b",", b";"), "export.xml", StatementFormat.CSV),
        (b"\xef\xbb\xbfBooking_Date;Amount;Currency\n", None, StatementFormat.CSV),
        (b"date,value\n", "bank.csv", StatementFormat.CSV),
        (b"garbage", "statement.xml", StatementFormat.CAMT053),
    ],
)
def test_the_format_is_recognised_from_the_bytes_first(
    data: bytes, filename: str | None, expected: StatementFormat
) -> None:
    assert statement_format(data, filename) is expected


def test_a_file_of_no_known_format_is_refused() -> None:
    with refused("unknown_statement_format", "neither"):
        statement_format(b"%PDF-1.7\n...", "statement.pdf")


def test_the_application_reader_reads_every_format_whatever_its_name() -> None:
    reader = BankStatementReader()
    assert reader.read(CAMT_02, "statement.csv") == READER.read(CAMT_02)
    [from_csv] = reader.read(CSV, "statement.xml")
    assert from_csv.entries[0].amount == eur("10.00")
    with refused("invalid_statement", "empty"):
        reader.read(b"\xef\xbb\xbf \n", "empty.xml")
    with refused("unknown_statement_format"):
        reader.read(b"\x00\x01binary", None)
    with refused("statement_too_large"):
        BankStatementReader(max_bytes=100).read(CAMT_02, None)
