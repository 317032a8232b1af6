"""Bank statements as the bank reported them, ready to be matched against receivables.

DESIGN §2: receivables are reconciled "with PSP payouts and bank statements". A statement is
the ISO 20022 *BankToCustomerStatement* (camt.053) model reduced to what reconciliation reads:
the account, the period, the booked opening and closing balances, and one
:class:`StatementEntry` per payment. Readers of other formats (CSV) fill the same model.

Rules kept here, whatever the file format:

- An entry's ``amount`` is never negative; its ``direction`` says which way the money went
  (camt.053 ``Ntry/Amt`` and ``CdtDbtInd``); :attr:`StatementEntry.signed_amount` is the
  movement on the account. Amounts are exact in the statement's currency (DESIGN §2).
- One entry per payment: a bank entry (``Ntry``) that books a batch of several transactions
  (``NtryDtls/TxDtls``, e.g. a SEPA direct debit collection) becomes one entry per
  transaction, each carrying the batch's reference in ``batch_ref`` (camt.053 ``ReportEntry``:
  "batch booking").
- ``entry_ref`` identifies the entry for de-duplication (DESIGN §2 "Exactly once"): the bank's
  own reference (``AcctSvcrRef``) where it gives one, else :class:`ContentRefs` derives a
  stable one from the entry's content and the account. Within a statement it is unique.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency, Money, plain_decimal, within_minor_units

# Prefix of the references derived from an entry's content, which a bank never uses: they fit
# camt.053's Max35Text (prefix + 28 hex digits = 112 bits) so a written file can carry them.
CONTENT_REF_PREFIX = "sha256-"
_CONTENT_REF_DIGITS = 28


class Direction(StrEnum):
    """camt.053 ``CreditDebitCode``: a credit adds to the account, a debit takes from it."""

    CREDIT = "CRDT"
    DEBIT = "DBIT"


class EntryStatus(StrEnum):
    """camt.053 ``EntryStatus`` (ExternalEntryStatus1Code): only booked entries move the
    booked balance; pending and information entries are reported, not booked."""

    BOOKED = "BOOK"
    PENDING = "PDNG"
    INFORMATION = "INFO"


@dataclass(frozen=True, slots=True)
class BankTransactionCode:
    """camt.053 ``BkTxCd``: the ISO domain/family/sub-family triple (e.g. ``PMNT``/``RDDT``/
    ``ESDD``, a received SEPA direct debit) and the bank's proprietary code (e.g. a German
    GVC such as ``NTRF+105``). The ISO triple comes whole or not at all (``Domn`` requires
    ``Fmly`` and ``SubFmlyCd``)."""

    domain: str | None = None
    family: str | None = None
    sub_family: str | None = None
    proprietary: str | None = None
    proprietary_issuer: str | None = None

    def __post_init__(self) -> None:
        triple = (self.domain, self.family, self.sub_family)
        if any(part is None for part in triple) and any(part is not None for part in triple):
            raise InvalidInputError(
                "a bank transaction code has a domain, a family and a sub-family, or none",
                code="invalid_statement",
                field="bank_transaction_code",
            )
        if self.proprietary_issuer is not None and self.proprietary is None:
            raise InvalidInputError(
                "a proprietary bank transaction code issuer needs the code",
                code="invalid_statement",
                field="bank_transaction_code",
            )


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One payment on the account as the bank reported it.

    ``counterparty_*`` is the other side of the payment: the debtor of a credit, the creditor
    of a debit, and the original roles for a return or reversal (a returned direct debit is a
    debit whose counterparty is the customer who was debited). ``remittance_unstructured``
    keeps the bank's ``Ustrd`` lines joined by ``\\n`` (a line break the bank made may cut a
    word or an invoice number in two; matching decides how to read it).
    ``creditor_reference`` is the structured reference (``Strd/CdtrRefInf/Ref``, e.g. an
    ISO 11649 ``RF`` reference). ``return_reason`` is the ISO return reason code
    (``RtrInf/Rsn/Cd``, e.g. ``AC04`` closed account, ``MD06`` refund requested by the
    debtor).
    """

    entry_ref: str
    amount: Money
    direction: Direction
    status: EntryStatus
    booking_date: date | None = None
    value_date: date | None = None
    reversal: bool = False
    bank_transaction_code: BankTransactionCode | None = None
    return_reason: str | None = None
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    counterparty_bic: str | None = None
    remittance_unstructured: str | None = None
    creditor_reference: str | None = None
    batch_ref: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction(self.direction))
        object.__setattr__(self, "status", EntryStatus(self.status))
        if self.amount.amount < ZERO:
            raise InvalidInputError(
                f"an entry's amount is never negative ({self.amount}); the direction says "
                "which way it went",
                code="invalid_statement",
                field="amount",
            )
        if not within_minor_units(self.amount.amount, self.amount.currency):
            raise InvalidInputError(
                f"{self.amount} has more decimals than {self.amount.currency} has",
                code="invalid_statement",
                field="amount",
            )

    @property
    def signed_amount(self) -> Money:
        """The movement on the account: positive for a credit, negative for a debit."""
        return self.amount if self.direction is Direction.CREDIT else -self.amount

    @property
    def is_return(self) -> bool:
        """A return or reversal of an earlier payment (``RvslInd`` or ``RtrInf``)."""
        return self.reversal or self.return_reason is not None


@dataclass(frozen=True, slots=True)
class BookedBalance:
    """A booked balance (camt.053 ``Bal``: ``OPBD``/``PRCD`` opening, ``CLBD`` closing) on a
    date; negative when the account is overdrawn (``CdtDbtInd`` ``DBIT``)."""

    amount: Money
    on: date


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's statement for a period (camt.053 ``Stmt``); ``statement_id`` is the
    bank's ``Stmt/Id``. ``created_at`` is UTC-aware (DESIGN §2), ``None`` where the format has
    no creation time (CSV)."""

    statement_id: str
    account_iban: str
    currency: Currency
    created_at: datetime | None
    from_date: date | None
    to_date: date | None
    opening_balance: BookedBalance | None
    closing_balance: BookedBalance | None
    entries: tuple[StatementEntry, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))
        object.__setattr__(self, "entries", tuple(self.entries))
        if not self.statement_id.strip():
            raise _invalid("a statement needs its id", "statement_id")
        if not self.account_iban.strip():
            raise _invalid("a statement needs its account", "account_iban")
        if self.created_at is not None and self.created_at.utcoffset() != timedelta(0):
            raise _invalid("a statement's creation time is in UTC", "created_at")
        if self.from_date and self.to_date and self.to_date < self.from_date:
            raise _invalid(
                f"the statement period ends ({self.to_date}) before it starts ({self.from_date})",
                "to_date",
            )
        for balance in (self.opening_balance, self.closing_balance):
            if balance is not None and balance.amount.currency != self.currency:
                raise _invalid(
                    f"a balance in {balance.amount.currency} on a {self.currency} account",
                    "balance",
                )
        _check_entries(self.currency, self.entries)

    def booked_movement(self) -> Money:
        """The sum of the booked entries' signed amounts."""
        total = Money.zero(self.currency)
        for entry in self.entries:
            if entry.status is EntryStatus.BOOKED:
                total += entry.signed_amount
        return total

    def balance_gap(self) -> Money | None:
        """Closing balance minus (opening balance + booked movement): zero for a complete
        statement, ``None`` when a balance is missing. Anything else means entries are
        missing from the file (or it is one page of several)."""
        if self.opening_balance is None or self.closing_balance is None:
            return None
        expected = self.opening_balance.amount + self.booked_movement()
        return self.closing_balance.amount - expected


def _check_entries(currency: Currency, entries: Sequence[StatementEntry]) -> None:
    refs: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        if entry.amount.currency != currency:
            raise _invalid(
                f"entry {position} ({entry.entry_ref}) is in {entry.amount.currency} on a "
                f"{currency} account",
                "entries",
            )
        if not entry.entry_ref:
            raise _invalid(f"entry {position} has no reference", "entries")
        if entry.entry_ref in refs:
            raise _invalid(
                f"entry reference {entry.entry_ref!r} appears twice in the statement; it "
                "must identify one entry",
                "entries",
            )
        refs.add(entry.entry_ref)


def _invalid(message: str, field: str) -> InvalidInputError:
    return InvalidInputError(message, code="invalid_statement", field=field)


class ContentRefs:
    """Stable references for the entries of one account that the bank gave none.

    The reference is a hash of the account and everything the entry says (dates, amount,
    direction, status, codes, parties, texts) plus how many entries with the same content
    came before it in this statement, so two identical payments on one day stay two entries
    while reading the same file (or a later statement repeating the day) again gives the
    same references. A batch is referenced by the content of all its transactions.
    """

    def __init__(self, account_iban: str) -> None:
        self._account = account_iban
        self._seen: Counter[str] = Counter()

    def ref_for(self, entries: Iterable[StatementEntry]) -> str:
        """The reference of ``entries`` (one entry, or the transactions of one batch)."""
        content = "\x1e".join(_content(entry) for entry in entries)
        self._seen[content] += 1
        text = f"{self._account}\x1d{content}\x1d{self._seen[content]}"
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return CONTENT_REF_PREFIX + digest[:_CONTENT_REF_DIGITS]


def _content(entry: StatementEntry) -> str:
    code = entry.bank_transaction_code
    fields = (
        _text(entry.booking_date),
        _text(entry.value_date),
        plain_decimal(entry.amount.amount),
        entry.amount.currency.code,
        entry.direction.value,
        entry.status.value,
        "R" if entry.reversal else "",
        *(
            (code.domain, code.family, code.sub_family, code.proprietary, code.proprietary_issuer)
            if code is not None
            else (None,) * 5
        ),
        entry.return_reason,
        entry.end_to_end_id,
        entry.counterparty_name,
        entry.counterparty_iban,
        entry.counterparty_bic,
        entry.remittance_unstructured,
        entry.creditor_reference,
    )
    return "\x1f".join(_text(value) for value in fields)


def _text(value: object) -> str:
    return "" if value is None else str(value)
