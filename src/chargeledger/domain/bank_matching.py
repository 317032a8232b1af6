"""Which open invoice a bank transfer pays, and how sure we are (issue 13).

The rules, in order (the first that names exactly one invoice wins):

1. ``reference``: the transfer's structured creditor reference (``Strd/CdtrRefInf/Ref``) is an
   invoice's ISO 11649 RF reference; also when a payer typed the RF reference into the free
   text. Certain: the check digits guard against typos.
2. ``invoice_number``: an invoice number appears in the remittance text, in any spelling banks
   and payers produce (``INV-2026-000042``, ``INV 2026 000042``, ``inv2026000042``, cut by a
   line break). Near certain.
3. ``amount_and_iban``: the amount is exactly what one invoice still asks, and the payer's
   IBAN paid that invoice's account before. Likely.
4. ``amount_and_name``: the amount is exactly what one invoice still asks, and the payer's name
   is the invoice's buyer (case, punctuation and legal form ignored). A guess.

Matches at or above :data:`AUTO_BOOK_CONFIDENCE` are booked at once; the rest wait in the
unmatched queue with the best guess shown to finance, who decide. A payment larger than what
the invoice asks settles it and the rest becomes account credit; a smaller one settles part.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.bank_statements import Direction, EntryStatus, StatementEntry
from chargeledger.domain.invoicing import InvoiceAddressee
from chargeledger.domain.payment_references import is_creditor_reference
from chargeledger.money import Currency, Money

AUTO_BOOK_CONFIDENCE = Decimal("0.80")

# Our invoice numbers as a payer may write them: series, year, number (domain.invoicing).
_NUMBER_IN_TEXT = re.compile(r"(INV)[\s\-_/.]*(\d{4})[\s\-_/.]*(\d{6,})")
_RF_IN_TEXT = re.compile(r"RF\s*\d\s*\d(?:\s*[0-9A-Z]){1,21}")
_LEGAL_FORMS = re.compile(
    r"\b(gmbh|ag|kg|ohg|ug|se|ltd|limited|lda|sa|sarl|srl|bv|nv|inc|llc|plc|co|e\s?k|e\s?v)\b"
)


class MatchRule(StrEnum):
    PAYOUT = "payout"
    REFERENCE = "reference"
    INVOICE_NUMBER = "invoice_number"
    AMOUNT_AND_IBAN = "amount_and_iban"
    AMOUNT_AND_NAME = "amount_and_name"


CONFIDENCE = {
    MatchRule.PAYOUT: Decimal("1.00"),
    MatchRule.REFERENCE: Decimal("1.00"),
    MatchRule.INVOICE_NUMBER: Decimal("0.95"),
    MatchRule.AMOUNT_AND_IBAN: Decimal("0.85"),
    MatchRule.AMOUNT_AND_NAME: Decimal("0.60"),
}


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An issued invoice with something still to pay, as matching sees it."""

    invoice_id: uuid.UUID
    number: str
    reference: str
    account_id: uuid.UUID | None
    buyer_name: str
    outstanding: Money
    buyer_email: str | None = None
    seller_name: str = ""

    @property
    def addressee(self) -> InvoiceAddressee:
        """Who the confirmation of a payment goes to (read with the open item, not again)."""
        return InvoiceAddressee(
            self.invoice_id, self.number, self.account_id, self.seller_name, self.buyer_email
        )


@dataclass(frozen=True, slots=True)
class Match:
    invoice: OpenInvoice
    rule: MatchRule

    @property
    def confidence(self) -> Decimal:
        return CONFIDENCE[self.rule]

    @property
    def automatic(self) -> bool:
        return self.confidence >= AUTO_BOOK_CONFIDENCE


@dataclass(frozen=True, slots=True)
class Allocation:
    """How a payment of ``paid`` divides: ``settles`` the invoice, ``credit`` is over."""

    settles: Money
    credit: Money


def allocate(paid: Money, outstanding: Money) -> Allocation:
    settles = min(paid.amount, max(outstanding.amount, Decimal(0)))
    return Allocation(Money(settles, paid.currency), Money(paid.amount - settles, paid.currency))


def compact_number(number: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", number.upper())


def invoice_number_of(reference: str) -> str | None:
    """The invoice number an RF reference of ours was made from (``RF94INV2026000001`` →
    ``INV-2026-000001``, see ``domain.invoicing.format_number``), None for anything else."""
    compact = re.sub(r"\s", "", reference).upper()
    if not is_creditor_reference(compact):
        return None
    found = re.fullmatch(r"([A-Z]+)(\d{4})(\d{6,})", compact[4:])
    return "-".join(found.groups()) if found else None


@functools.lru_cache(maxsize=8192)  # a statement names the same payers again and again
def compact_name(name: str) -> str:
    """A name as two spellings of one payer share it: lower case, no legal form, no
    punctuation or spaces."""
    lowered = re.sub(r"[^\w\s]", " ", name.lower())
    return re.sub(r"\s+", "", _LEGAL_FORMS.sub(" ", lowered))


def is_incoming_payment(entry: StatementEntry) -> bool:
    """A booked credit that is not the reversal of one of our own debits."""
    return (
        entry.status is EntryStatus.BOOKED
        and entry.direction is Direction.CREDIT
        and not entry.is_return
    )


_Amount = tuple[Currency, Decimal]


class OpenInvoices:
    """The open invoices, indexed once per import so that each entry is matched in constant
    time (a statement of 100 000 entries against as many invoices): by reference, by number,
    and by amount with the buyer's account and with the buyer's name."""

    def __init__(
        self,
        invoices: Iterable[OpenInvoice],
        known_ibans: dict[str, set[uuid.UUID]] | None = None,
    ) -> None:
        self._by_reference: dict[str, OpenInvoice] = {}
        self._by_number: dict[str, OpenInvoice] = {}
        # By invoice id inside each key: settling one removes it in constant time.
        self._by_account: dict[tuple[_Amount, uuid.UUID | None], dict[uuid.UUID, OpenInvoice]]
        self._by_account = defaultdict(dict)
        self._by_name: dict[tuple[_Amount, str], dict[uuid.UUID, OpenInvoice]] = defaultdict(dict)
        self._names: dict[uuid.UUID, str] = {}
        for invoice in invoices:
            self._add(invoice)
        self._known_ibans = known_ibans or {}

    def _keys(
        self, invoice: OpenInvoice
    ) -> tuple[tuple[_Amount, uuid.UUID | None], tuple[_Amount, str]]:
        amount = (invoice.outstanding.currency, invoice.outstanding.amount)
        name = self._names.get(invoice.invoice_id)
        if name is None:
            name = self._names[invoice.invoice_id] = compact_name(invoice.buyer_name)
        return (amount, invoice.account_id), (amount, name)

    def _add(self, invoice: OpenInvoice) -> None:
        self._by_reference[invoice.reference] = invoice
        self._by_number[compact_number(invoice.number)] = invoice
        by_account, by_name = self._keys(invoice)
        self._by_account[by_account][invoice.invoice_id] = invoice
        self._by_name[by_name][invoice.invoice_id] = invoice

    def settled(self, invoice: OpenInvoice, by: Money) -> None:
        """Take ``by`` off what ``invoice`` asks (a later entry of the same import sees it)."""
        by_account, by_name = self._keys(invoice)
        self._by_account[by_account].pop(invoice.invoice_id, None)
        self._by_name[by_name].pop(invoice.invoice_id, None)
        left = Money(invoice.outstanding.amount - by.amount, invoice.outstanding.currency)
        if left.amount <= 0:
            del self._by_reference[invoice.reference]
            del self._by_number[compact_number(invoice.number)]
            return
        self._add(replace(invoice, outstanding=left))

    def match(self, entry: StatementEntry) -> Match | None:
        """The invoice ``entry`` pays by the first rule that names exactly one, or None."""
        for rule, found in (
            (MatchRule.REFERENCE, self._by_its_reference(entry)),
            (MatchRule.INVOICE_NUMBER, self._by_number_in_text(entry)),
        ):
            if found is not None and found.outstanding.currency == entry.amount.currency:
                return Match(found, rule)
            if found is not None:
                return None  # it names an invoice of another currency: finance decides
        amount = (entry.amount.currency, entry.amount.amount)
        if entry.counterparty_iban:
            paid_before = self._known_ibans.get(_iban(entry.counterparty_iban), set())
            by_iban = [
                invoice
                for account_id in paid_before
                for invoice in self._by_account.get((amount, account_id), {}).values()
            ]
            if len(by_iban) == 1:
                return Match(by_iban[0], MatchRule.AMOUNT_AND_IBAN)
        name = compact_name(entry.counterparty_name or "")
        by_name = list(self._by_name.get((amount, name), {}).values()) if name else []
        if len(by_name) == 1:
            return Match(by_name[0], MatchRule.AMOUNT_AND_NAME)
        return None

    def _by_its_reference(self, entry: StatementEntry) -> OpenInvoice | None:
        candidates = [entry.creditor_reference or ""]
        text = (entry.remittance_unstructured or "").upper()
        candidates += [m.group(0) for m in _RF_IN_TEXT.finditer(text)]
        for candidate in candidates:
            reference = re.sub(r"\s", "", candidate.upper())
            if reference and is_creditor_reference(reference):
                found = self._by_reference.get(reference)
                if found is not None:
                    return found
        return None

    def _by_number_in_text(self, entry: StatementEntry) -> OpenInvoice | None:
        text = " ".join((entry.remittance_unstructured or "").upper().split())
        joined = (entry.remittance_unstructured or "").upper().replace("\n", "")
        named = {
            self._by_number.get("".join(m.groups()))
            for source in (text, joined)
            for m in _NUMBER_IN_TEXT.finditer(source)
        }
        named.discard(None)
        return named.pop() if len(named) == 1 else None


def _iban(value: str) -> str:
    return re.sub(r"\s", "", value).upper()


# --- PSP payouts ------------------------------------------------------------------------------

# How a PSP names itself on a payout's bank line (Stripe: "STRIPE" and the payout id).
PSP_NAMES = ("stripe", "sandbox", "chargeledger psp")


@dataclass(frozen=True, slots=True)
class BookedPayout:
    """A payout the PSP reported and the ledger booked (Bank net, fees, PSP gross), waiting
    for the bank line that brings the money in."""

    payout_id: str
    net: Money
    booked_on: date


@dataclass(frozen=True, slots=True)
class PayoutMatch:
    payout: BookedPayout
    difference: Money  # what the bank brought in beyond (or short of) the payout's net


class OpenPayouts:
    """Payouts waiting for their bank line. A bank line is a payout's when it names the
    payout's id (Stripe puts it in the text), or when it comes from a PSP and is exactly the
    net of one waiting payout. Its money is booked already (``paid_out``): the line confirms
    it, and only a difference is booked (to suspense, for finance to explain)."""

    def __init__(self, payouts: Iterable[BookedPayout]) -> None:
        self._by_id = {p.payout_id: p for p in payouts}

    def match(self, entry: StatementEntry) -> PayoutMatch | None:
        if not is_incoming_payment(entry) or not self._by_id:
            return None
        text = " ".join(
            filter(
                None, (entry.remittance_unstructured, entry.end_to_end_id, entry.creditor_reference)
            )
        ).lower()
        named = [p for payout_id, p in self._by_id.items() if payout_id.lower() in text]
        found = named[0] if len(named) == 1 else None
        if found is None:
            payer = (entry.counterparty_name or "").lower()
            if any(name in payer or name in text for name in PSP_NAMES):
                same = [p for p in self._by_id.values() if p.net == entry.amount]
                found = same[0] if len(same) == 1 else None
        if found is None or found.net.currency != entry.amount.currency:
            return None
        del self._by_id[found.payout_id]
        return PayoutMatch(found, entry.amount - found.net)
