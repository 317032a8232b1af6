"""The double-entry ledger (DESIGN §5): accounts, journal entries, postings and balance checks.

Account names are hierarchical and use the five roots of double-entry bookkeeping as Beancount
spells them (``Assets``, ``Liabilities``, ``Equity``, ``Income``, ``Expenses``), so the books
export to Beancount and to any chart of accounts without renaming. A posting's amount is signed:
positive is a debit, negative a credit. An entry balances per currency (the sum of its postings
in each currency is zero), and entries are never changed: a correction is a new entry.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from chargeledger.domain.ids import new_id
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency, Money

ROOTS = ("Assets", "Liabilities", "Equity", "Income", "Expenses")
# A component starts with a capital letter or digit; letters, digits and dashes follow (the
# Beancount grammar, which is the strictest of the formats we export to).
_COMPONENT = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")


class EntryKind(StrEnum):
    """What a journal entry books: one kind per money event of DESIGN §5."""

    CHARGE_ACCRUED = "charge_accrued"  # a postpaid or ad hoc CDR priced
    INVOICE_ISSUED = "invoice_issued"
    RECEIPT_ISSUED = "receipt_issued"
    CREDIT_NOTE_ISSUED = "credit_note_issued"
    CAPTURE = "capture"
    WALLET_TOP_UP = "wallet_top_up"
    WALLET_DEBIT = "wallet_debit"
    INVOICE_PAYMENT = "invoice_payment"
    REFUND = "refund"
    PAYOUT = "payout"
    WRITE_OFF = "write_off"
    ADJUSTMENT = "adjustment"
    BANK_RECEIPT = "bank_receipt"  # a statement's credit: to invoices, credit or suspense
    BANK_DEBIT = "bank_debit"  # a statement's debit: a return reopens, the rest waits
    BANK_ALLOCATION = "bank_allocation"  # finance matched money waiting in suspense
    CREDIT_APPLIED = "credit_applied"  # a customer's credit paid one of their invoices
    LATE_PAYMENT_CLAIMED = "late_payment_claimed"  # a dunning notice claimed fees, interest
    LATE_PAYMENT_WAIVED = "late_payment_waived"  # finance waived what a notice claimed
    LATE_PAYMENT_PAID = "late_payment_paid"  # a customer's credit paid their claimed fees
    ALLOWANCE_SOLD = "allowance_sold"  # a car maker's pre-paid allowance invoiced (deferred)
    ALLOWANCE_DRAWN = "allowance_drawn"  # a session used allowance: deferred revenue earned
    REVENUE_SHARE_SETTLED = "revenue_share_settled"  # a site host's self-billed share owed
    CHARGEBACK = "chargeback"  # the PSP withdrew a disputed payment and its dispute fee
    CHARGEBACK_REVERSED = "chargeback_reversed"  # a chargeback won: the money came back


def account_name(*components: str) -> str:
    """A validated hierarchical account name, e.g. ``account_name("Income", "Charging")``."""
    name = ":".join(components)
    check_account_name(name)
    return name


def check_account_name(name: str) -> None:
    if not _valid_account_name(name):
        raise InvalidInputError(
            f"{name!r} is not a ledger account: Root:Component[:...], root one of "
            f"{', '.join(ROOTS)}, components starting with a capital letter or digit",
            code="invalid_ledger_account",
            field="account",
        )


@lru_cache(maxsize=65536)
def _valid_account_name(name: str) -> bool:
    """Remembered: a month's booking names the same few thousand accounts again and again
    (issue 17); the cache is bounded, so memory stays flat."""
    parts = name.split(":")
    return parts[0] in ROOTS and len(parts) >= 2 and all(_COMPONENT.fullmatch(p) for p in parts)


def customer_key(account_id: uuid.UUID) -> str:
    """The account component for a customer account: stable, unique and valid everywhere."""
    return "C" + account_id.hex.upper()


_CUSTOMER_KEY = re.compile(r"C[0-9A-F]{32}")


def customer_of(account: str) -> uuid.UUID | None:
    """The customer account a ledger account is kept for (its last component is the
    :func:`customer_key`: receivables, unbilled receivables, wallets), else None."""
    last = account.rsplit(":", 1)[-1]
    return uuid.UUID(hex=last[1:]) if _CUSTOMER_KEY.fullmatch(last) else None


# The chart of accounts chargeledger posts to (DESIGN §5).
def receivable(account_id: uuid.UUID) -> str:
    return f"Assets:Receivable:{customer_key(account_id)}"


def unbilled(account_id: uuid.UUID) -> str:
    return f"Assets:Receivable:Unbilled:{customer_key(account_id)}"


def revenue(component: str) -> str:
    """Revenue split by tariff component: Energy, Time, Parking, Fixed, Reservation."""
    return f"Income:Charging:{component}"


def vat_payable(country: str) -> str:
    return f"Liabilities:VAT:{country.upper()}"


def psp(gateway: str) -> str:
    """``stripe`` → ``Assets:PSP:Stripe``, ``stripe_test`` → ``Assets:PSP:StripeTest``."""
    words = re.split(r"[^A-Za-z0-9]+", gateway)
    return f"Assets:PSP:{''.join(w[:1].upper() + w[1:] for w in words if w)}"


def wallet(account_id: uuid.UUID) -> str:
    return f"Liabilities:Wallets:{customer_key(account_id)}"


BANK = "Assets:Bank"
# Bank movements not yet explained (unmatched receipts, unknown debits) until finance decides.
BANK_SUSPENSE = "Liabilities:Suspense:Bank"


CUSTOMER_CREDIT = "Liabilities:CustomerCredit"


def customer_credit(account_id: uuid.UUID) -> str:
    """What a customer paid beyond their invoices: owed to them, used by their next invoice."""
    return f"{CUSTOMER_CREDIT}:{customer_key(account_id)}"


def partner_key(partner_id: uuid.UUID) -> str:
    """The account component for a partner organisation (site host, car maker, utility)."""
    return "P" + partner_id.hex.upper()


def contract_liability(contract_id: uuid.UUID) -> str:
    """Revenue received in advance under a contract (an OEM bundle's pre-paid allowance):
    owed as charging until sessions draw it (IFRS 15 contract liability)."""
    return f"Liabilities:Deferred:K{contract_id.hex.upper()}"


def partner_payable(partner_id: uuid.UUID) -> str:
    """What we owe a partner: a site host's revenue share, once self-billed."""
    return f"Liabilities:Payable:{partner_key(partner_id)}"


def input_vat(country: str) -> str:
    """VAT a supplier charged us (a site host's self-billed share), to deduct."""
    return f"Assets:VAT:Input:{country.upper()}"


REVENUE_SHARE = "Expenses:RevenueShare"
CONTRACT_FEES = "Fees"  # revenue component of contract lines: fixed fees, shortfalls

PSP_FEES = "Expenses:PSPFees"
BAD_DEBT = "Expenses:BadDebt"
CHARGEBACKS = "Expenses:Chargebacks"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: positive ``units`` debit the account, negative ones credit it.
    The amount travels with its currency, as a Beancount posting's ``units`` is an
    ``Amount``, so a line cannot lose the currency its entry must balance in."""

    account: str
    units: Money


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced, immutable booking of one money event.

    ``source_type``/``source_id`` name the record it books (a charge, an invoice, a payment
    event); with ``kind`` they are unique, so an event is booked once however often it is
    replayed (DESIGN §2 exactly-once).
    """

    kind: EntryKind
    booked_on: date  # the accounting date, in the operator's time zone
    description: str
    postings: tuple[Posting, ...]
    source_type: str
    source_id: str
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        postings = tuple(p for p in self.postings if not p.units.is_zero)
        object.__setattr__(self, "postings", postings)
        if len(postings) < 2:
            raise InvalidInputError(
                f"a journal entry needs at least two non-zero postings ({self.description})",
                code="unbalanced_entry",
            )
        for posting in postings:
            check_account_name(posting.account)
        unbalanced = {c: t for c, t in totals_by_currency(postings).items() if t != 0}
        if unbalanced:
            raise InvalidInputError(
                f"journal entry does not balance: {unbalanced} ({self.description})",
                code="unbalanced_entry",
            )


def totals_by_currency(postings: Iterable[Posting]) -> dict[Currency, Decimal]:
    totals: dict[Currency, Decimal] = defaultdict(lambda: ZERO)
    for posting in postings:
        totals[posting.units.currency] += posting.units.amount
    return dict(totals)


@dataclass(frozen=True, slots=True)
class Balance:
    """The balance of one account in one currency: debits minus credits."""

    account: str
    currency: Currency
    debit: Decimal
    credit: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))

    @property
    def balance(self) -> Decimal:
        return self.debit - self.credit


def trial_balance(balances: Iterable[Balance]) -> dict[Currency, Decimal]:
    """The sum of all balances per currency: zero in books that balance."""
    totals: dict[Currency, Decimal] = defaultdict(lambda: ZERO)
    for balance in balances:
        totals[balance.currency] += balance.balance
    return dict(totals)


def rolled_up(balances: Iterable[Balance]) -> dict[tuple[str, Currency], Decimal]:
    """Balances summed up the hierarchy: ``Assets:Receivable`` includes its sub-accounts."""
    totals: dict[tuple[str, Currency], Decimal] = defaultdict(lambda: ZERO)
    for balance in balances:
        parts = balance.account.split(":")
        for depth in range(1, len(parts) + 1):
            totals[(":".join(parts[:depth]), balance.currency)] += balance.balance
    return dict(totals)
