"""Reading the records ahead on a second connection (``audit_snapshot._ReadAhead``, used on
PostgreSQL while the chain is walked): batches come out per record type in order, and a reader
that fails makes the verification fail instead of waiting forever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chargeledger.adapters.db.repositories.audit_snapshot import _ReadAhead
from chargeledger.domain.audit import RecordType


class Reader:
    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on

    async def digests(self, record_type: str) -> AsyncIterator[list[tuple[str, str]]]:
        if record_type == self.fail_on:
            raise RuntimeError("connection lost")
        for batch in range(3):
            yield [(f"{record_type}-{batch}", "hash")]


async def read(ahead: _ReadAhead, record_type: str) -> list[Any]:
    return [batch async for batch in ahead.digests(record_type)]


async def test_every_type_comes_out_whole_and_in_order() -> None:
    ahead = _ReadAhead(Reader())  # type: ignore[arg-type]
    try:
        for record_type in RecordType:
            batches = await read(ahead, record_type)
            assert batches == [[(f"{record_type}-{n}", "hash")] for n in range(3)]
    finally:
        await ahead.close()


async def test_a_reader_that_fails_fails_the_reading() -> None:
    ahead = _ReadAhead(Reader(fail_on=RecordType.PAYMENT_EVENT))  # type: ignore[arg-type]
    try:
        assert len(await read(ahead, RecordType.JOURNAL_ENTRY)) == 3
        assert len(await read(ahead, RecordType.INVOICE)) == 3
        with pytest.raises(RuntimeError, match="connection lost"):
            await read(ahead, RecordType.PAYMENT_EVENT)
    finally:
        await ahead.close()
