"""The ``StatementReader`` the application uses: any supported statement file, whatever its
name, goes to the reader of its format (``services.billing.statements.statement_format``)."""

from __future__ import annotations

from chargeledger.adapters.bank.camt053 import Camt053Reader
from chargeledger.adapters.bank.csv_statement import CsvStatementReader
from chargeledger.domain.bank_statements import Statement
from chargeledger.services.billing.statements import (
    MAX_STATEMENT_BYTES,
    StatementFormat,
    StatementReader,
    check_statement_size,
    statement_format,
)


class BankStatementReader:
    """Reads camt.053 (.02, .04, .08) and CSV statements of at most ``max_bytes``."""

    def __init__(self, max_bytes: int = MAX_STATEMENT_BYTES) -> None:
        self._max_bytes = max_bytes
        self._readers: dict[StatementFormat, StatementReader] = {
            StatementFormat.CAMT053: Camt053Reader(max_bytes),
            StatementFormat.CSV: CsvStatementReader(max_bytes),
        }

    def read(self, data: bytes, filename: str | None = None) -> list[Statement]:
        check_statement_size(data, self._max_bytes)
        return self._readers[statement_format(data, filename)].read(data, filename)
