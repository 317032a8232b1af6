"""Writing camt.053 documents (.08 by default; .02 and .04 too) from domain statements.

The demo writes its month-end bank statement with this, and the benchmark a statement of
100 000 entries, so the document is written as text, entry by entry, rather than built as a
tree. It is written the way :mod:`camt053` reads, so that reading a written statement gives
the same statement back: an entry's ``entry_ref`` becomes its ``AcctSvcrRef``; consecutive
entries with the same ``batch_ref`` become one batch entry (``Ntry`` with one ``TxDtls`` per
entry, ``AcctSvcrRef`` = the batch reference) unless a transaction's reference is the derived
``BATCH/position``; the counterparty is the debtor of a credit and the creditor of a debit
(the other way round for a return or reversal); remittance lines become ``Ustrd`` elements.
The statement's ``created_at`` is written as ``Stmt/CreDtTm`` (which .02 and .04 require: a
statement without one takes the message's time there).

Every document is checked against the official schema before it is returned, so nothing that
could not be read back leaves this module.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree  # type: ignore[import-untyped]

from chargeledger.adapters.bank.camt053_fields import NO_REFERENCE
from chargeledger.adapters.bank.camt053_schemas import SAFE_PARSER_OPTIONS, namespace, schemas
from chargeledger.domain.bank_statements import (
    BankTransactionCode,
    BookedBalance,
    Direction,
    Statement,
    StatementEntry,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money, plain_decimal

# XML 1.0 forbids these characters; they cannot be written, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def camt053_document(
    statements: Sequence[Statement],
    *,
    message_id: str,
    created_at: datetime,
    version: str = "08",
) -> bytes:
    """The camt.053.001.``version`` document (UTF-8) holding ``statements``; raises
    ``InvalidInputError(invalid_statement)`` for a statement camt.053 cannot carry."""
    out = io.StringIO()
    _Writer(version, out).document(statements, message_id, created_at)
    data = out.getvalue().encode("utf-8")
    check_valid(data, version)
    return data


def check_valid(data: bytes, version: str) -> None:
    """Validate a written document against its schema as a stream (no tree is kept)."""
    try:
        events = etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            schema=schemas(version).document,
            **SAFE_PARSER_OPTIONS,
        )
        for _, element in events:
            element.clear()
    except etree.XMLSyntaxError as exc:
        raise InvalidInputError(
            f"the statement cannot be written as camt.053.001.{version}: {exc.msg}",
            code="invalid_statement",
        ) from exc


class _Writer:
    def __init__(self, version: str, out: io.StringIO) -> None:
        self.version = version
        self.out = out

    def document(
        self, statements: Sequence[Statement], message_id: str, created_at: datetime
    ) -> None:
        write = self.out.write
        write('<?xml version="1.0" encoding="UTF-8"?>\n')
        write(f'<Document xmlns="{namespace(self.version)}"><BkToCstmrStmt>')
        write(f"\n<GrpHdr>{_el('MsgId', message_id)}{_el('CreDtTm', _moment(created_at))}</GrpHdr>")
        for statement in statements:
            self.statement(statement, statement.created_at or created_at)
        write("\n</BkToCstmrStmt></Document>\n")

    def statement(self, statement: Statement, created_at: datetime) -> None:
        write = self.out.write
        write(f"\n<Stmt>{_el('Id', statement.statement_id)}")
        if statement.created_at is not None or self.version != "08":
            write(_el("CreDtTm", _moment(created_at)))
        write(_period(statement.from_date, statement.to_date))
        write(
            f"<Acct><Id>{_el('IBAN', statement.account_iban)}</Id>"
            f"{_el('Ccy', statement.currency.code)}</Acct>"
        )
        balances = [("OPBD", statement.opening_balance), ("CLBD", statement.closing_balance)]
        if not any(balance for _, balance in balances):
            raise _unwritable("camt.053 needs at least one balance (Bal) per statement")
        for kind, balance in balances:
            if balance is not None:
                write(_balance(kind, balance))
        for group in _entry_groups(statement.entries):
            write("\n")
            write(self.entry(group))
        write("\n</Stmt>")

    def entry(self, group: list[StatementEntry]) -> str:
        first = group[0]
        batch = len(group) > 1
        if batch and self.version == "02" and len({e.direction for e in group}) > 1:
            raise _unwritable(
                f"batch {first.batch_ref!r}: camt.053.001.02 cannot state a transaction's own "
                "direction; write a batch of credits and debits as .08"
            )
        total = sum((entry.signed_amount for entry in group), Money.zero(first.amount.currency))
        direction = Direction.DEBIT if total.is_negative else Direction.CREDIT
        status = first.status.value
        parts = [
            "<Ntry>",
            _amount(abs(total)),
            _el("CdtDbtInd", direction.value),
            _el("RvslInd", "true") if first.reversal else "",
            f"<Sts>{status}</Sts>" if self.version != "08" else f"<Sts><Cd>{status}</Cd></Sts>",
            _day("BookgDt", first.booking_date),
            _day("ValDt", first.value_date),
            _el("AcctSvcrRef", _written_ref(first.batch_ref if batch else first.entry_ref)),
            "<BkTxCd/>" if batch else _code(first.bank_transaction_code, empty="<BkTxCd/>"),
        ]
        details = [
            self.transaction(entry, position, batch) for position, entry in enumerate(group, 1)
        ]
        if any(details):
            parts.append(f"<NtryDtls>{''.join(details)}</NtryDtls>")
        parts.append("</Ntry>")
        return "".join(parts)

    def transaction(self, entry: StatementEntry, position: int, batch: bool) -> str:
        own_ref = (
            entry.entry_ref
            if batch and entry.entry_ref != f"{entry.batch_ref}/{position}"
            else None
        )
        refs = _el("AcctSvcrRef", _written_ref(own_ref)) + _el("EndToEndId", entry.end_to_end_id)
        side = "Dbtr" if (entry.direction is Direction.CREDIT) != entry.is_return else "Cdtr"
        body = "".join(
            (
                _wrap("RltdPties", self.party(entry, side)),
                _wrap("RltdAgts", self.agent(entry, side)),
                _remittance(entry),
                _return(entry.return_reason),
            )
        )
        if not (batch or refs or body):
            return ""
        parts = [_wrap("Refs", refs), self.transaction_amount(entry, batch)]
        if batch:
            parts.append(_code(entry.bank_transaction_code, empty=""))
        parts.append(body)
        return f"<TxDtls>{''.join(parts)}</TxDtls>"

    def transaction_amount(self, entry: StatementEntry, batch: bool) -> str:
        """.04 and .08 state each transaction's amount and direction; .02 only a batch
        transaction's amount (``AmtDtls/TxAmt``), which goes the batch's way."""
        if self.version == "02":
            return f"<AmtDtls><TxAmt>{_amount(entry.amount)}</TxAmt></AmtDtls>" if batch else ""
        return _amount(entry.amount) + _el("CdtDbtInd", entry.direction.value)

    def party(self, entry: StatementEntry, side: str) -> str:
        name = _el("Nm", entry.counterparty_name)
        if name and self.version == "08":
            name = f"<Pty>{name}</Pty>"
        account = (
            f"<{side}Acct><Id>{_el('IBAN', entry.counterparty_iban)}</Id></{side}Acct>"
            if entry.counterparty_iban
            else ""
        )
        return (f"<{side}>{name}</{side}>" if name else "") + account

    def agent(self, entry: StatementEntry, side: str) -> str:
        if not entry.counterparty_bic:
            return ""
        tag = "BIC" if self.version == "02" else "BICFI"
        return f"<{side}Agt><FinInstnId>{_el(tag, entry.counterparty_bic)}</FinInstnId></{side}Agt>"


def _entry_groups(entries: Sequence[StatementEntry]) -> Iterator[list[StatementEntry]]:
    """Consecutive entries of one batch together, every other entry alone."""
    seen: set[str] = set()
    group: list[StatementEntry] = []
    for entry in entries:
        if group and entry.batch_ref is not None and entry.batch_ref == group[0].batch_ref:
            group.append(entry)
            continue
        if group:
            yield _checked_batch(group, seen)
        group = [entry]
    if group:
        yield _checked_batch(group, seen)


def _checked_batch(group: list[StatementEntry], seen: set[str]) -> list[StatementEntry]:
    first = group[0]
    if first.batch_ref is None:
        return group
    if len(group) < 2 or first.batch_ref in seen:
        raise _unwritable(f"batch {first.batch_ref!r}: a batch is two or more consecutive entries")
    seen.add(first.batch_ref)
    shared = {(e.status, e.booking_date, e.value_date, e.reversal) for e in group}
    if len(shared) > 1:
        raise _unwritable(
            f"batch {first.batch_ref!r}: the entries of a batch share status, dates and reversal"
        )
    return group


def _balance(kind: str, balance: BookedBalance) -> str:
    direction = Direction.DEBIT if balance.amount.is_negative else Direction.CREDIT
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>{_amount(abs(balance.amount))}"
        f"{_el('CdtDbtInd', direction.value)}<Dt>{_el('Dt', balance.on.isoformat())}</Dt></Bal>"
    )


def _period(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return ""
    if start is None or end is None:
        raise _unwritable("camt.053 states a statement period with both its ends or not at all")
    return (
        f"<FrToDt>{_el('FrDtTm', f'{start.isoformat()}T00:00:00')}"
        f"{_el('ToDtTm', f'{end.isoformat()}T23:59:59')}</FrToDt>"
    )


def _code(code: BankTransactionCode | None, empty: str) -> str:
    if code is None:
        return empty
    domain = ""
    if code.domain is not None:
        family = _el("Cd", code.family) + _el("SubFmlyCd", code.sub_family)
        domain = f"<Domn>{_el('Cd', code.domain)}<Fmly>{family}</Fmly></Domn>"
    proprietary = ""
    if code.proprietary is not None:
        issuer = _el("Issr", code.proprietary_issuer)
        proprietary = f"<Prtry>{_el('Cd', code.proprietary)}{issuer}</Prtry>"
    return f"<BkTxCd>{domain}{proprietary}</BkTxCd>"


def _remittance(entry: StatementEntry) -> str:
    lines = entry.remittance_unstructured.split("\n") if entry.remittance_unstructured else []
    unstructured = "".join(_el("Ustrd", line) for line in lines)
    structured = ""
    if entry.creditor_reference:
        issuer = _el("Issr", "ISO") if entry.creditor_reference.upper().startswith("RF") else ""
        structured = (
            f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>{issuer}</Tp>"
            f"{_el('Ref', entry.creditor_reference)}</CdtrRefInf></Strd>"
        )
    return _wrap("RmtInf", unstructured + structured)


def _return(reason: str | None) -> str:
    if reason is None:
        return ""
    kind = "Cd" if len(reason) <= 4 else "Prtry"  # ExternalReturnReason1Code: 1-4 characters
    return f"<RtrInf><Rsn>{_el(kind, reason)}</Rsn></RtrInf>"


def _amount(money: Money) -> str:
    value = plain_decimal(money.amount, money.currency.minor_units)
    return f'<Amt Ccy="{money.currency.code}">{value}</Amt>'


def _day(tag: str, day: date | None) -> str:
    return f"<{tag}>{_el('Dt', day.isoformat())}</{tag}>" if day is not None else ""


def _moment(moment: datetime) -> str:
    return moment.isoformat()


def _written_ref(ref: str | None) -> str | None:
    if ref is not None and ref.upper() in NO_REFERENCE:
        raise _unwritable(f"{ref!r} reads as 'no reference'; an entry needs a real one")
    return ref


def _wrap(tag: str, content: str) -> str:
    return f"<{tag}>{content}</{tag}>" if content else ""


def _el(tag: str, text: Any) -> str:
    if text is None:
        return ""
    value = str(text)
    if _NOT_XML.search(value):
        raise _unwritable(f"{tag} holds a character XML cannot carry: {value!r}")
    return f"<{tag}>{escape(value)}</{tag}>"


def _unwritable(message: str) -> InvalidInputError:
    return InvalidInputError(message, code="invalid_statement", field="statement")


class Camt053Writer:
    """The ``StatementWriter`` port: camt.053.001.08."""

    def camt053(
        self, statements: Sequence[Statement], *, message_id: str, created_at: datetime
    ) -> bytes:
        return camt053_document(statements, message_id=message_id, created_at=created_at)
