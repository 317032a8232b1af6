"""Reading ISO 20022 camt.053 (BankToCustomerStatement) documents, versions .02, .04 and .08.

Every document is validated against the official schema of its namespace (``xsd/``) before
anything in it is used: an invalid file is refused as ``invalid_statement`` with the schema's
message and the line, a namespace other than a supported camt.053 version as
``unsupported_statement_version``. Hostile XML gets nowhere: a DOCTYPE is refused outright
(ISO 20022 message instances carry none, ISO 20022-4 §5.5.3), so no entity is declared, let
alone expanded (billion laughs) or fetched (XXE); the parser never touches the network and
keeps libxml2's limits on depth and text size; the file's size is capped before parsing.

The document is read as a stream (``iterparse``), so a statement of 100 000 entries never
exists as one tree: each entry (``Ntry``) is turned into domain entries (``camt053_fields``)
as soon as its end tag is read, and dropped. The parser validates against the document schema
while it reads (libxml2's streaming validation), which costs little; but libxml2 then reports
no line for a schema error. So a document the stream finds invalid is read once more, the
careful way, only to say where: each entry is validated against its own schema type
(``camt053_schemas``), what remains (group header, statements without their entries) against
the document schema at the end, after checking that the entries stood where the schema's
sequence puts them (after ``Bal``/``TxsSummry``, before ``AddtlStmtInf``, in one run) -
together the same verdict as validating the whole document at once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from stdnum import iban as iban_numbers

from chargeledger.adapters.bank.camt053_fields import (
    Fields,
    Node,
    compact_iban,
    iso_datetime,
    local_date,
)
from chargeledger.adapters.bank.camt053_schemas import (
    SAFE_PARSER_OPTIONS,
    SUPPORTED_VERSIONS,
    namespace,
    schemas,
    version_of,
)
from chargeledger.domain.bank_statements import (
    BookedBalance,
    ContentRefs,
    Statement,
    StatementEntry,
)
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.money import Currency
from chargeledger.services.billing.statements import MAX_STATEMENT_BYTES, check_statement_size

# What may stand right before the run of entries in a statement, and after it (the sequence of
# AccountStatement2/4/9 in .02, .04 and .08 alike: ... Bal+, TxsSummry?, Ntry*, AddtlStmtInf?).
BEFORE_ENTRIES = frozenset({"Bal", "TxsSummry"})
AFTER_ENTRIES = frozenset({"AddtlStmtInf"})


class Camt053Reader:
    """``StatementReader`` for camt.053 documents (see the module docstring)."""

    def __init__(self, max_bytes: int = MAX_STATEMENT_BYTES) -> None:
        self._max_bytes = max_bytes

    def read(self, data: bytes, filename: str | None = None) -> list[Statement]:
        check_statement_size(data, self._max_bytes)
        version = document_version(data)
        return _Document(version).read(data)


def document_version(data: bytes) -> str:
    """The camt.053 version of the document (``"08"``), from its root element's namespace;
    refuses a DOCTYPE and a document that is not XML at all."""
    try:
        for _, root in etree.iterparse(io.BytesIO(data), events=("start",), **SAFE_PARSER_OPTIONS):
            if root.getroottree().docinfo.doctype:
                raise _invalid(
                    "a DOCTYPE is not allowed in a bank statement (ISO 20022 messages have none)",
                    root.sourceline,
                )
            found = etree.QName(root).namespace
            version = version_of(found)
            if version is None:
                supported = ", ".join(f"camt.053.001.{v}" for v in SUPPORTED_VERSIONS)
                raise InvalidInputError(
                    f"the document's namespace is {found or 'none'}; supported are {supported}",
                    code="unsupported_statement_version",
                    field="file",
                    details={"namespace": found},
                )
            return version
    except etree.XMLSyntaxError as exc:
        raise _not_xml(exc) from exc
    raise _invalid("the file holds no XML element", 1)


@dataclass
class _StatementEntries:
    """The entries read so far of one ``Stmt`` element, and where they stood."""

    refs: ContentRefs
    entries: list[StatementEntry] = field(default_factory=list)
    anchor: Any = None  # the element right before the first entry
    last: Any = None  # the last entry element, emptied, still in the tree


class _SchemaInvalidError(Exception):
    """The streaming validation found the document invalid; where is for the careful read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Document:
    def __init__(self, version: str) -> None:
        self.version = version
        self.ns = namespace(version)
        self.fields = Fields(self.ns)
        self.schemas = schemas(version)
        self.tags = {name: f"{{{self.ns}}}{name}" for name in ("Ntry", "Stmt", "BkToCstmrStmt")}
        self.statements: dict[Any, _StatementEntries] = {}

    def read(self, data: bytes) -> list[Statement]:
        """The statements of a valid document; an invalid one is refused with the line."""
        try:
            return self._read(data, streaming=True)
        except (_SchemaInvalidError, InvalidInputError) as invalid:
            # libxml2 reports a schema error after the events of the text it read, so an
            # invalid entry may reach the reader first and fail there: either way the careful
            # read decides, and says where.
            self.statements = {}
            self._read(data, streaming=False)  # raises with the line of the first error
            if isinstance(invalid, InvalidInputError):
                raise
            raise InvalidInputError(  # the careful read found nothing: say what libxml2 said
                f"not valid against camt.053.001.{self.version}: {invalid.message}",
                code="invalid_statement",
                field="file",
                details={"schema": f"camt.053.001.{self.version}"},
            ) from None

    def _read(self, data: bytes, *, streaming: bool) -> list[Statement]:
        """One pass: validated by the parser (``streaming``) or entry by entry, then the
        rest (see the module docstring)."""
        schema = {"schema": self.schemas.document} if streaming else {}
        events = etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            tag=self.tags["Ntry"],
            **SAFE_PARSER_OPTIONS,
            **schema,
        )
        try:
            for _, ntry in events:
                if self._is_entry_of_statement(ntry):
                    self._read_entry(ntry, validate=not streaming)
        except etree.XMLSyntaxError as exc:
            if streaming and _is_schema_error(exc):
                raise _SchemaInvalidError(self._without_namespace(str(exc.msg))) from exc
            raise _not_xml(exc) from exc
        root = events.root
        if not streaming:
            self._check_entry_positions()
            self._validate(self.schemas.document, root.getroottree())
        return [self._statement(stmt) for stmt in self._statement_elements(root)]

    def _is_entry_of_statement(self, ntry: Any) -> bool:
        stmt = ntry.getparent()
        report = stmt.getparent() if stmt is not None else None
        return (
            stmt is not None
            and stmt.tag == self.tags["Stmt"]
            and report is not None
            and report.tag == self.tags["BkToCstmrStmt"]
            and report.getparent() is not None
            and report.getparent().getparent() is None
        )

    def _read_entry(self, ntry: Any, *, validate: bool) -> None:
        stmt = ntry.getparent()
        state = self.statements.get(stmt)
        if state is None:
            state = self.statements[stmt] = _StatementEntries(ContentRefs(self._account(stmt)))
        previous = ntry.getprevious()
        if previous is not None and previous is state.last:
            stmt.remove(previous)
            previous = ntry.getprevious()
        if state.anchor is None:
            if previous is None or etree.QName(previous).localname not in BEFORE_ENTRIES:
                raise _misplaced(ntry, "an entry (Ntry) stands before the balances (Bal)")
            state.anchor = previous
        elif previous is not state.anchor:
            raise _misplaced(ntry, "the entries (Ntry) of a statement stand together")
        if validate:
            self._validate(self.schemas.entry, ntry)
        try:
            state.entries.extend(self.fields.entries(ntry, state.refs))
        except (ChargeledgerError, ValueError) as exc:
            raise _invalid(getattr(exc, "message", str(exc)), ntry.sourceline) from exc
        ntry.clear()
        state.last = ntry

    def _check_entry_positions(self) -> None:
        for stmt, state in self.statements.items():
            stmt.remove(state.last)
            for sibling in state.anchor.itersiblings():
                if etree.QName(sibling).localname not in AFTER_ENTRIES:
                    raise _misplaced(sibling, "only AddtlStmtInf may follow the entries (Ntry)")

    def _validate(self, schema: Any, node: Any) -> None:
        if schema.validate(node):
            return
        error = schema.error_log[0]
        message = self._without_namespace(str(error.message))
        raise InvalidInputError(
            f"line {error.line}: not valid against camt.053.001.{self.version}: {message}",
            code="invalid_statement",
            field="file",
            details={"line": error.line, "schema": f"camt.053.001.{self.version}"},
        )

    def _without_namespace(self, message: str) -> str:
        return message.replace(f"{{{self.ns}}}", "")

    def _statement_elements(self, root: Any) -> list[Any]:
        return list(root.iterfind(f"{self.tags['BkToCstmrStmt']}/{self.tags['Stmt']}"))

    def _account(self, stmt: Any) -> str:
        found = self.fields.node(stmt, skip="Ntry").text("Acct/Id/IBAN")
        return compact_iban(found) if found else ""

    def _statement(self, stmt: Any) -> Statement:
        node = self.fields.node(stmt, skip="Ntry")
        state = self.statements.get(stmt)
        entries = state.entries if state is not None else []
        try:
            account = node.text("Acct/Id/IBAN")
            if account is None:
                raise InvalidInputError(
                    "only accounts identified by an IBAN are supported (Acct/Id/IBAN)",
                    code="invalid_statement",
                )
            if not iban_numbers.is_valid(account):
                raise InvalidInputError(
                    f"the statement's account {account} is not a valid IBAN",
                    code="invalid_statement",
                )
            opening, closing = self.fields.balances(stmt)
            created = node.text("CreDtTm") or self.fields.node(stmt.getparent(), skip="Stmt").text(
                "GrpHdr/CreDtTm"
            )
            period_start = node.text("FrToDt/FrDtTm")
            period_end = node.text("FrToDt/ToDtTm")
            return Statement(
                statement_id=str(node.text("Id")),
                account_iban=compact_iban(account),
                currency=_currency(node, closing, entries),
                created_at=iso_datetime(created) if created else None,
                from_date=local_date(period_start) if period_start else None,
                to_date=local_date(period_end) if period_end else None,
                opening_balance=opening,
                closing_balance=closing,
                entries=tuple(entries),
            )
        except (ChargeledgerError, ValueError) as exc:
            raise _invalid(getattr(exc, "message", str(exc)), stmt.sourceline) from exc


def _currency(stmt: Node, closing: BookedBalance | None, entries: list[StatementEntry]) -> Currency:
    """``Acct/Ccy``, which is optional; else the closing balance's or an entry's."""
    code = stmt.text("Acct/Ccy")
    if code is not None:
        return Currency.of(code)
    if closing is not None:
        return Currency.of(closing.amount.currency)
    if entries:
        return entries[0].amount.currency
    return Currency.of(stmt.first("Bal/Amt").get("Ccy"))


def _is_schema_error(exc: Any) -> bool:
    """Whether the parser stopped on a schema violation (not on malformed XML)."""
    domain = getattr(exc, "domain", None)
    return domain == etree.ErrorDomains.SCHEMASV or "SCHEMASV" in str(exc.error_log)


def _invalid(message: str, line: int | None) -> InvalidInputError:
    return InvalidInputError(
        f"line {line}: {message}",
        code="invalid_statement",
        field="file",
        details={"line": line},
    )


def _misplaced(element: Any, why: str) -> InvalidInputError:
    name = etree.QName(element).localname
    return _invalid(
        f"Element '{name}': This element is not expected here: {why}", element.sourceline
    )


def _not_xml(exc: Any) -> InvalidInputError:
    line = exc.lineno if exc.lineno else None
    return _invalid(f"not well-formed XML: {exc.msg}", line)
