"""Bank statement benchmark: a camt.053.001.08 statement of N entries (default 100 000; every
tenth a batch of three transactions, every fiftieth a return) written by
``adapters/bank/camt053_writer.py`` and read back by ``adapters/bank/camt053.py``, next to two
baselines measured in the same run on the same bytes:

- *stream-validate*: lxml's ``iterparse`` validating against the official XSD while it parses
  and dropping every entry, reading nothing out of it (the floor for a validated stream);
- *tree-validate*: parsing the whole document into one tree and validating that (what the
  reader avoids; its memory grows with the file).

Each reading step runs in a fresh process that loads the file first; its peak resident memory
is printed next to that of ``load`` (the file and the compiled schemas, nothing parsed).

Usage: python bench/bank_statements.py [--entries 100000] [--version 08]
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from chargeledger.adapters.bank.camt053 import Camt053Reader
from chargeledger.adapters.bank.camt053_schemas import SAFE_PARSER_OPTIONS, namespace, schemas
from chargeledger.adapters.bank.camt053_writer import camt053_document
from chargeledger.domain.bank_statements import (
    BankTransactionCode,
    BookedBalance,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.money import Money

ACCOUNT = "DE44500105175407324931"
CUSTOMER_IBAN = "FR1420041010050500013M02606"
RECEIVED = BankTransactionCode("PMNT", "RCDT", "ESCT")
COLLECTED = BankTransactionCode("PMNT", "RDDT", "ESDD")
RETURNED = BankTransactionCode("PMNT", "RDDT", "UPDD")


def statement(count: int) -> Statement:
    """``count`` entries: transfers in, SEPA direct debit batches, returns."""
    start = date(2026, 8, 1)
    entries: list[StatementEntry] = []
    total = Money.zero("EUR")
    position = 0
    while len(entries) < count:
        position += 1
        day = start + timedelta(days=position % 28)
        amount = Money.of(f"{10 + position % 90}.{position % 100:02d}", "EUR")
        common: dict[str, Any] = {
            "status": EntryStatus.BOOKED,
            "booking_date": day,
            "value_date": day,
            "counterparty_name": f"Fleet customer {position % 500}",
            "counterparty_iban": CUSTOMER_IBAN,
        }
        if position % 10 == 0 and count - len(entries) >= 3:
            batch = f"BATCH-{position}"
            for member in range(1, 4):
                entries.append(
                    StatementEntry(
                        entry_ref=f"{batch}/{member}",
                        batch_ref=batch,
                        amount=amount,
                        direction=Direction.CREDIT,
                        bank_transaction_code=COLLECTED,
                        end_to_end_id=f"DD-{position}-{member}",
                        remittance_unstructured=f"Invoice INV-2026-{position:06d}-{member}",
                        **common,
                    )
                )
                total += amount
        elif position % 50 == 7:
            entries.append(
                StatementEntry(
                    entry_ref=f"RET-{position}",
                    amount=amount,
                    direction=Direction.DEBIT,
                    return_reason="MD06",
                    bank_transaction_code=RETURNED,
                    end_to_end_id=f"DD-{position}",
                    **common,
                )
            )
            total -= amount
        else:
            entries.append(
                StatementEntry(
                    entry_ref=f"TRF-{position}",
                    amount=amount,
                    direction=Direction.CREDIT,
                    bank_transaction_code=RECEIVED,
                    remittance_unstructured=f"INV-2026-{position:06d}\nEV charging August",
                    creditor_reference="RF18539007547034" if position % 3 == 0 else None,
                    **common,
                )
            )
            total += amount
    opening = Money.of("1000.00", "EUR")
    return Statement(
        statement_id="BENCH-2026-08",
        account_iban=ACCOUNT,
        currency="EUR",
        created_at=datetime(2026, 9, 1, 6, 0, tzinfo=UTC),
        from_date=start,
        to_date=date(2026, 8, 31),
        opening_balance=BookedBalance(opening, start),
        closing_balance=BookedBalance(opening + total, date(2026, 8, 31)),
        entries=tuple(entries),
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory: Linux's VmHWM, which, unlike ``ru_maxrss``, does
    not carry the parent's peak over a fork and exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream_validate(data: bytes, version: str) -> int:
    ntry = f"{{{namespace(version)}}}Ntry"
    seen = 0
    for _, element in etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=ntry,
        schema=schemas(version).document,
        **SAFE_PARSER_OPTIONS,
    ):
        seen += 1
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    return seen


def tree_validate(data: bytes, version: str) -> bool:
    tree = etree.fromstring(data, etree.XMLParser(huge_tree=True)).getroottree()
    return bool(schemas(version).document.validate(tree))


STEPS: dict[str, Callable[[bytes, str], object]] = {
    "load": lambda data, version: None,
    "stream-validate": stream_validate,
    "read": lambda data, version: Camt053Reader().read(data),
    "tree-validate": tree_validate,
}


def run_step(step: str, path: Path, version: str) -> None:
    """One step in this (fresh) process: its time and the process's peak memory."""
    data = path.read_bytes()
    schemas(version)  # compiled outside the timed part
    started = time.perf_counter()
    result = STEPS[step](data, version)
    seconds = time.perf_counter() - started
    count = len(result[0].entries) if isinstance(result, list) else result
    print(f"{seconds:.3f} {peak_rss_mib():.0f} {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--version", choices=("02", "04", "08"), default="08")
    parser.add_argument("--step", choices=tuple(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        run_step(args.step, args.file, args.version)
        return
    source = statement(args.entries)
    count = len(source.entries)
    created = source.created_at or datetime.now(UTC)
    schemas(args.version)
    started = time.perf_counter()
    data = camt053_document([source], message_id="BENCH", created_at=created, version=args.version)
    seconds = time.perf_counter() - started
    print(f"camt.053.001.{args.version}: {count:,} entries, {len(data) / 2**20:.1f} MiB")
    print(f"{'write (+ check)':<16} {seconds:7.2f} s  {count / seconds:10,.0f} entries/s")
    assert Camt053Reader().read(data) == [source], "the statement read back differs"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statement.xml"
        path.write_bytes(data)
        for step in STEPS:
            command = [sys.executable, __file__, "--step", step, "--file", str(path)]
            command += ["--version", args.version]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            seconds_text, peak, _ = output.split()
            speed = (
                f"{count / float(seconds_text):10,.0f} entries/s" if step != "load" else " " * 21
            )
            print(f"{step:<16} {float(seconds_text):7.2f} s  {speed}  peak RSS {peak} MiB")


if __name__ == "__main__":
    main()
