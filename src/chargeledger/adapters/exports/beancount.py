"""The ledger as a Beancount file (plain-text double-entry accounting, Beancount v3 syntax).

An accountant can load the file with ``bean-check`` / ``bean-query`` / Fava and sees the same
balances as chargeledger. The syntax rules relied on (Beancount language reference, "Syntax
overview", and the v3 lexer):

- Account names are ``Root:Component[:...]``; the root is one of Assets, Liabilities, Equity,
  Income, Expenses (the default ``name_*`` options) and each component starts with an
  upper-case letter or a digit, followed by letters, digits and dashes. The domain refuses any
  other name when it builds a :class:`~chargeledger.domain.ledger.JournalEntry`
  (``check_account_name`` is that grammar, without the non-ASCII letters Beancount also
  allows), so names are written unchanged.
- A posting to an account needs an ``open`` directive dated on or before it; an ``open`` may
  list the currencies the account may hold, and Beancount then refuses postings in others. Every
  account is opened once, on the first day of the export, with the currencies it holds there.
- Currencies start with an upper-case letter and end with one or a digit
  (``[A-Z][A-Z0-9'._-]*[A-Z0-9]``); ISO 4217 codes always do, anything else is refused here
  rather than written as a file Beancount cannot read.
- Strings are double-quoted; inside them a backslash and a double quote must be escaped, and
  the C escapes ``\\n``, ``\\r`` and ``\\t`` are understood, so a multi-line description stays on
  one line of the file. Other characters (UTF-8) are written as they are.
- Metadata keys are lower case (``[a-z][a-zA-Z0-9_-]+``) followed by a colon, indented under the
  transaction; numbers are plain decimals with an optional minus sign, never an exponent.
- A transaction balances when the weights of its postings sum to zero per currency within a
  tolerance inferred from the precision of its numbers; chargeledger's entries balance exactly
  (the domain refuses any other), so amounts are written exactly as stored.
- Beancount orders directives of one day by type (``open`` before transactions) and then by
  their position in the file, so the file order is the export order of
  :func:`~chargeledger.services.billing.exporting.entries_between`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from chargeledger.domain.ledger import JournalEntry
from chargeledger.errors import InvalidInputError
from chargeledger.services.billing.exporting import (
    NO_SOURCES,
    ExportSources,
    amount_text,
    entries_between,
)

_CURRENCY = re.compile(r"[A-Z][A-Z0-9'._-]*[A-Z0-9]")
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def quoted(text: str) -> str:
    """``text`` as a Beancount string literal: quoted, with backslashes, double quotes and line
    breaks escaped (Beancount unescapes ``\\\\``, ``\\"``, ``\\n``, ``\\r`` and ``\\t``)."""
    return '"' + text.translate(_STRING_ESCAPES) + '"'


def check_currency(currency: str) -> None:
    if not _CURRENCY.fullmatch(currency):
        raise InvalidInputError(
            f"{currency!r} cannot be written as a Beancount commodity "
            "(upper-case letters and digits, starting with a letter)",
            code="unexportable_currency",
            field="currency",
        )


def payee(entry: JournalEntry) -> str:
    """The event the entry books, in words (``Invoice issued``): entries carry no counterparty,
    and grouping by event is what a payee filter in Fava is useful for here."""
    return entry.kind.value.replace("_", " ").capitalize()


class BeancountExporter:
    """:class:`~chargeledger.services.billing.exporting.AccountingExporter` for Beancount v3."""

    name: str = "beancount"
    media_type: str = "text/plain; charset=utf-8"
    encoding: str = "utf-8"
    needs_sources: bool = False

    def export(
        self,
        entries: Sequence[JournalEntry],
        *,
        start: date | None,
        end: date | None,
        title: str,
        sources: ExportSources = NO_SOURCES,
    ) -> str:
        chosen = entries_between(entries, start, end)
        held = _currencies_by_account(chosen)
        currencies = sorted({c for account_currencies in held.values() for c in account_currencies})
        for currency in currencies:
            check_currency(currency)
        blocks = [_header(title, currencies, start, end)]
        if chosen:
            opened_on = start if start is not None else chosen[0].booked_on
            blocks.append(_opens(opened_on, held))
        blocks += [transaction(entry) for entry in chosen]
        return "\n".join(blocks)


def transaction(entry: JournalEntry) -> str:
    """One entry as a transaction: the ``*`` (cleared) flag, because booked entries are final
    (DESIGN §2: append-only), its identity as metadata, then its postings in stored order."""
    lines = [
        f"{entry.booked_on.isoformat()} * {quoted(payee(entry))} {quoted(entry.description)}",
        f"  entry-id: {quoted(str(entry.id))}",
        f"  kind: {quoted(entry.kind.value)}",
        f"  source: {quoted(f'{entry.source_type}:{entry.source_id}')}",
    ]
    amounts = [amount_text(p.units.amount, p.units.currency) for p in entry.postings]
    account_width = max(len(p.account) for p in entry.postings)
    amount_width = max(len(a) for a in amounts)
    lines += [
        f"  {p.account:<{account_width}}  {amount:>{amount_width}} {p.units.currency}"
        for p, amount in zip(entry.postings, amounts, strict=True)
    ]
    return "\n".join(lines) + "\n"


def _header(title: str, currencies: Iterable[str], start: date | None, end: date | None) -> str:
    period = (
        f"; Entries booked from {start.isoformat() if start else 'the beginning'} "
        f"{'up to, excluding, ' + end.isoformat() if end else 'onwards'}."
    )
    lines = [
        "; Exported by chargeledger. Check with: bean-check <this file>",
        period,
        f'option "title" {quoted(title)}',
    ]
    lines += [f'option "operating_currency" {quoted(c)}' for c in currencies]
    return "\n".join(lines) + "\n"


def _opens(opened_on: date, held: dict[str, set[str]]) -> str:
    day = opened_on.isoformat()
    return (
        "\n".join(
            f"{day} open {account} {','.join(sorted(currencies))}"
            for account, currencies in sorted(held.items())
        )
        + "\n"
    )


def _currencies_by_account(entries: Iterable[JournalEntry]) -> dict[str, set[str]]:
    held: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        for posting in entry.postings:
            held[posting.account].add(posting.units.currency)
    return dict(held)
