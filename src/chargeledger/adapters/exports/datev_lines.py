"""Journal entries as DATEV booking lines: Umsatz, Konto and Gegenkonto.

A DATEV line books one positive amount between two accounts (``Soll/Haben-Kennzeichen`` is
the side of ``Konto``), where our entries have any number of postings. An entry becomes lines
in three steps, each of which keeps the entry balanced, so every line and the whole batch
balance (debits = credits):

1. **Accounts.** Each posting's ledger account becomes a DATEV account
   (:mod:`~chargeledger.adapters.exports.datev_charts`); a customer's receivable becomes the
   customer's Debitor (:class:`DebtorNumbers`).
2. **VAT the DATEV way.** Revenue is booked *gross* on the revenue account of its VAT
   treatment (an automatic account, or a BU-Schlüssel), and DATEV splits off the VAT to its
   VAT account and the UStVA. That is how DATEV users book sales (SKR03 8400 / SKR04 4400
   "Erlöse 19 % USt" are automatic accounts), and it is the only way the revenue reaches the
   VAT return's base amounts (Kz 81, 86, 21): a net revenue line plus a VAT line booked by
   hand onto 1776 would report the VAT without its base. So the VAT of each treatment
   (:class:`~chargeledger.domain.postings.TaxedRevenue`, from the charge or credit note the
   entry books) moves from the entry's ``Liabilities:VAT:<country>`` posting into the gross
   revenue legs; what is left on the VAT posting (the cents by which an invoice's VAT per rate
   differs from the sum of its charges', ``postings.document_issued``) is booked directly on
   the country's VAT account. DATEV recomputes the VAT of a gross line as gross × rate /
   (100 + rate), rounded: for a gross that is a rounded net plus its VAT rounded half-up this
   gives back exactly that VAT (the difference is at most 0.84 of half a cent), so DATEV's VAT
   equals ours when a treatment's revenue goes to one account, as it does by default. Revenue
   split over several accounts (an override per component) is split with its VAT shared by
   the largest remainder, and DATEV's per-line rounding may then differ by a cent.
   Reverse-charge revenue carries the buyer's VAT id (``EU-Land u. UStID``) for DATEV's
   Zusammenfassende Meldung, as its line is not booked on the buyer's Debitor.
3. **Lines.** The debit and credit legs are paired in order, each pair booking the smaller of
   the two remainders. Our entries have one leg on one side (the receivable, the PSP, the
   Debitor), so each revenue leg is one whole line. A revenue leg is always the
   ``Gegenkonto``: the BU-Schlüssel belongs to it.

Contracts (issue 14, see the ``datev_charts`` docstring): an allowance's deferred revenue is
booked gross on the automatic advance account, its VAT taken off the entry's VAT posting as
revenue's is; a draw books the deferred net and the revenue net grossed up alike, so their VAT
cancels, and the line that would join the two automatic accounts goes through the clearing
account in two. A partner's payable is its Kreditor.

Every line carries the entry's date (``Belegdatum``, DDMM: the year is the header's), the
document number of the invoice, receipt or credit note the entry books (``Belegfeld 1``, which
DATEV's open-item matching uses) or else the entry's source id, and its description.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.adapters.exports.datev_charts import (
    ADVANCE_COUNTRY,
    ADVANCE_PERCENT,
    DatevChart,
    RevenueRule,
)
from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import ComponentAmount, VatCategory
from chargeledger.domain.dunning import late_payment_receivable
from chargeledger.domain.ledger import (
    EntryKind,
    JournalEntry,
    Posting,
    customer_credit,
    customer_of,
    partner_payable,
    receivable,
)
from chargeledger.domain.postings import WALK_IN, TaxedRevenue
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Money
from chargeledger.services.billing.exporting import ExportSources

BELEGFELD_LENGTH = 36  # Belegfeld 1, "Rechnungs-/Belegnummer"
# Belegfeld 1 takes letters, digits and $ % - / (DATEV-Format, Buchungsstapel field 11; the
# characters & * + of older descriptions are left out, as the current expression has none).
_NOT_IN_BELEGFELD = re.compile(r"[^A-Z0-9$%/-]")
_DIGITS = re.compile(r"[1-9][0-9]*")
REVENUE_ROOT = "Income:Charging:"  # revenue of supplies, with VAT (late-payment income has none)
VAT_ROOT = "Liabilities:VAT:"
DEFERRED_ROOT = "Liabilities:Deferred:"  # a contract's pre-paid allowance (taxed advance)
_PARTNER_KEY = re.compile(r"P([0-9A-F]{32})")


@dataclass(frozen=True, slots=True)
class Booking:
    """One line of a Buchungsstapel, as far as chargeledger fills it."""

    amount: Decimal  # Umsatz: positive
    side: str  # Soll/Haben-Kennzeichen of ``account``: "S" or "H"
    account: int  # Konto
    contra: int  # Gegenkonto (ohne BU-Schlüssel)
    bu_key: str
    day: date  # Belegdatum
    document: str  # Belegfeld 1
    text: str  # Buchungstext (the caller shortens it)
    eu_vat_id: str = ""  # EU-Land u. UStID (Bestimmung)


@dataclass(slots=True)
class _Leg:
    account: int
    amount: Decimal  # positive: debit
    revenue: bool = False
    bu_key: str = ""
    eu_vat_id: str = ""

    @property
    def key(self) -> tuple[int, bool, str, str]:
        return (self.account, self.revenue, self.bu_key, self.eu_vat_id)


class DebtorNumbers:
    """The Debitor of each customer account (see the ``datev_charts`` docstring): its
    reference when that is a number in the Debitor range, else the chart's explicit number,
    else the collective Debitor. Two customers on one individual number are refused."""

    def __init__(self, chart: DatevChart, customers: Mapping[uuid.UUID, Account]) -> None:
        self._chart = chart
        self._numbers: dict[uuid.UUID, int] = {}
        owners: dict[int, uuid.UUID] = {}
        for account_id in sorted(set(customers) | set(chart.debtors)):
            number = self._individual(account_id, customers.get(account_id))
            if number is None:
                continue
            other = owners.setdefault(number, account_id)
            if other != account_id or number == chart.collective_debtor:
                shared = "the collective Debitor" if other == account_id else f"account {other}"
                raise InvalidInputError(
                    f"customer account {account_id} would share Debitor {number} with "
                    f"{shared}: give it another reference or DATEV debtor",
                    code="datev_debtor_conflict",
                    field="reference",
                )
            self._numbers[account_id] = number

    def _individual(self, account_id: uuid.UUID, account: Account | None) -> int | None:
        reference = (account.reference if account is not None else None) or ""
        if _DIGITS.fullmatch(reference) and int(reference) in self._chart.debtor_numbers:
            return int(reference)
        return self._chart.debtors.get(account_id)

    def __call__(self, account_id: uuid.UUID) -> int:
        if account_id == WALK_IN:
            return self._chart.collective_debtor
        return self._numbers.get(account_id, self._chart.collective_debtor)


def bookings(
    entry: JournalEntry, chart: DatevChart, sources: ExportSources, debtors: DebtorNumbers
) -> list[Booking]:
    """The entry as DATEV lines (see the module docstring)."""
    legs = _merged(_legs(entry, chart, sources, debtors))
    if sum(leg.amount for leg in legs):
        raise _mismatch(entry, "its VAT differs from the charge or credit note it books")
    document = belegfeld(_document_number(entry, sources))
    lines: list[Booking] = []
    for debit, credit, amount in _pairs(legs):
        if debit.revenue and credit.revenue:  # two automatic accounts: through the clearing
            clearing = _Leg(chart.advance_clearing, ZERO)
            lines.append(_line(clearing, credit, amount, entry, document))
            lines.append(_line(debit, clearing, amount, entry, document))
        else:
            lines.append(_line(debit, credit, amount, entry, document))
    # A pair on one account (a leg of revenue and one not, mapped alike) moves nothing.
    return [line for line in lines if line.account != line.contra]


def _pairs(legs: Sequence[_Leg]) -> Iterator[tuple[_Leg, _Leg, Decimal]]:
    """Debit and credit legs paired in order, each pair taking the smaller remainder; legs
    that balance are used up together."""
    debits = deque((leg, leg.amount) for leg in legs if leg.amount > 0)
    credits = deque((leg, -leg.amount) for leg in legs if leg.amount < 0)
    while debits and credits:
        (debit, owed), (credit, given) = debits.popleft(), credits.popleft()
        amount = min(owed, given)
        yield debit, credit, amount
        if owed > amount:
            debits.appendleft((debit, owed - amount))
        if given > amount:
            credits.appendleft((credit, given - amount))


def belegfeld(text: str) -> str:
    """``text`` as Belegfeld 1: upper case, only the characters DATEV allows, at most 36."""
    return _NOT_IN_BELEGFELD.sub("", text.upper())[:BELEGFELD_LENGTH]


def _document_number(entry: JournalEntry, sources: ExportSources) -> str:
    if entry.source_type == "invoice":
        return sources.numbers.get(entry.source_id) or entry.source_id
    return entry.source_id


def _line(
    debit: _Leg, credit: _Leg, amount: Decimal, entry: JournalEntry, document: str
) -> Booking:
    if debit.revenue and not credit.revenue:  # revenue reversed: the other side is Konto
        account, side, contra = credit, "H", debit
    else:
        account, side, contra = debit, "S", credit
    return Booking(
        amount=amount,
        side=side,
        account=account.account,
        contra=contra.account,
        bu_key=contra.bu_key,
        day=entry.booked_on,
        document=document,
        text=entry.description,
        eu_vat_id=contra.eu_vat_id,
    )


def _legs(
    entry: JournalEntry, chart: DatevChart, sources: ExportSources, debtors: DebtorNumbers
) -> list[_Leg]:
    revenue = [p for p in entry.postings if p.account.startswith(REVENUE_ROOT)]
    legs: list[_Leg] = []
    absorbed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    if revenue:
        legs, found = _revenue_legs(entry, revenue, chart, sources)
        absorbed.update(found)
    advances = [p for p in entry.postings if p.account.startswith(DEFERRED_ROOT)]
    for posting in advances:  # gross on the automatic advance account
        tax = _advance_tax(posting.units.amount)
        legs.append(_Leg(_account(posting.account, chart, debtors), posting.units.amount + tax))
        legs[-1].revenue = True
        absorbed[ADVANCE_COUNTRY] += tax
    for posting in entry.postings:
        name, amount = posting.account, posting.units.amount
        if name.startswith((REVENUE_ROOT, DEFERRED_ROOT)):
            continue
        if name.startswith(VAT_ROOT):
            amount -= absorbed.pop(name.removeprefix(VAT_ROOT), ZERO)
            if amount and advances:
                raise _unmapped_advance(entry)
        if amount:
            legs.append(_Leg(_account(name, chart, debtors), amount))
    if any(absorbed.values()):
        raise _mismatch(entry, f"VAT of {sorted(absorbed)} is not booked on it")
    return legs


def _advance_tax(amount: Decimal) -> Decimal:
    """The VAT of the automatic advance account on ``amount`` (net, signed), half-up."""
    tax = (abs(amount) * ADVANCE_PERCENT / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return tax if amount >= 0 else -tax


def _drawn_revenue(revenue: Sequence[Posting]) -> tuple[TaxedRevenue, ...]:
    """A draw's revenue as the advance's treatment: its VAT was paid on the sale, and is
    booked here only to cancel the advance's (see the module docstring)."""
    nets = tuple(ComponentAmount(p.account.rsplit(":", 1)[-1], -p.units.amount) for p in revenue)
    total = sum((net for _, net in nets), ZERO)
    tax = abs(_advance_tax(total))
    return (TaxedRevenue(ADVANCE_COUNTRY, VatCategory.STANDARD, ADVANCE_PERCENT, nets, tax),)


def _unmapped_advance(entry: JournalEntry) -> InvalidInputError:
    return InvalidInputError(
        f"entry {entry.id} ({entry.description}) sells an allowance whose VAT is not "
        f"{ADVANCE_PERCENT} % in {ADVANCE_COUNTRY}, the VAT of DATEV's advance account",
        code="datev_unmapped_vat",
        field="revenue",
    )


def _revenue_legs(
    entry: JournalEntry, revenue: Sequence[Posting], chart: DatevChart, sources: ExportSources
) -> tuple[list[_Leg], dict[str, Decimal]]:
    """Gross revenue legs per rule, and the VAT per country they carry (signed as the entry's
    VAT postings)."""
    treatments = sources.revenue.get((entry.source_type, entry.source_id))
    if entry.kind is EntryKind.ALLOWANCE_DRAWN:
        treatments = _drawn_revenue(revenue)
    if treatments is None:
        raise InvalidInputError(
            f"entry {entry.id} ({entry.description}) books revenue, but the VAT of it is not "
            "known: DATEV needs the rate of every revenue amount",
            code="datev_vat_unknown",
        )
    # Revenue is credited when it is earned (a charge, an invoice's contract lines with a tier
    # discount among them) and debited only when a credit note reverses it: the entry's kind
    # says which, not the sign of its sum.
    sign = Decimal(1) if entry.kind is EntryKind.CREDIT_NOTE_ISSUED else Decimal(-1)
    _check_nets(entry, revenue, treatments, sign)
    legs: list[_Leg] = []
    absorbed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    vat_id = _buyer_vat_id(entry, sources)
    for treatment in treatments:
        reverse_charge = treatment.category is VatCategory.REVERSE_CHARGE
        legs += _treatment_legs(treatment, chart, sign, vat_id if reverse_charge else "")
        absorbed[treatment.country] += sign * treatment.tax
    return legs, absorbed


def _check_nets(
    entry: JournalEntry,
    revenue: Sequence[Posting],
    treatments: Sequence[TaxedRevenue],
    sign: Decimal,
) -> None:
    """The treatments add up to the entry's revenue, component by component."""
    booked: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for posting in revenue:
        booked[posting.account.rsplit(":", 1)[-1]] += posting.units.amount
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for treatment in treatments:
        for name, net in treatment.nets:
            expected[name] += sign * net
    if {k: v for k, v in booked.items() if v} != {k: v for k, v in expected.items() if v}:
        raise _mismatch(entry, "its revenue differs from the charge or credit note it books")


def _treatment_legs(
    treatment: TaxedRevenue, chart: DatevChart, sign: Decimal, vat_id: str
) -> list[_Leg]:
    """One treatment's revenue per rule: gross (its VAT shared by the largest remainder when
    its components go to several accounts), or net with the VAT on the rule's VAT account."""
    groups = _by_rule(treatment, chart)
    shares = [ZERO] * len(groups)
    if treatment.tax and len(groups) == 1:  # one rule takes it all, a negative tax too
        shares = [treatment.tax]  # (a contract's tier discount, issue 14)
    elif treatment.tax:
        tax = Money.of(treatment.tax, "EUR")  # DATEV books are in euro (datev._euro_only)
        shares = [share.amount for share in tax.allocate(list(groups.values()))]
    legs = []
    for (rule, net), tax_share in zip(groups.items(), shares, strict=True):
        if rule.vat_account is None:
            gross = sign * (net + tax_share)
            legs.append(_Leg(rule.account, gross, True, rule.bu_key, vat_id))
        else:
            legs.append(_Leg(rule.account, sign * net, revenue=True))
            legs.append(_Leg(rule.vat_account, sign * tax_share))
    return legs


def _by_rule(treatment: TaxedRevenue, chart: DatevChart) -> dict[RevenueRule, Decimal]:
    groups: dict[RevenueRule, Decimal] = defaultdict(lambda: ZERO)
    for name, net in treatment.nets:
        rule = chart.revenue_rule(
            treatment.country, treatment.category.value, treatment.percent, name
        )
        if rule is None:
            raise InvalidInputError(
                f"no DATEV revenue account for {treatment.category.value} "
                f"{treatment.percent.normalize():f} % VAT in {treatment.country} in "
                f"{chart.name}: map it in CHARGELEDGER_DATEV_ACCOUNTS_FILE",
                code="datev_unmapped_vat",
                field="revenue",
                details={
                    "country": treatment.country,
                    "category": treatment.category.value,
                    "percent": f"{treatment.percent.normalize():f}",
                },
            )
        groups[rule] += net
    return dict(groups)


def _buyer_vat_id(entry: JournalEntry, sources: ExportSources) -> str:
    for posting in entry.postings:
        customer = customer_of(posting.account)
        account = sources.customers.get(customer) if customer is not None else None
        if account is not None and account.vat_id:
            return account.vat_id
    return ""


def _account(name: str, chart: DatevChart, debtors: DebtorNumbers) -> int:
    customer = customer_of(name)
    # A customer's over-payment (their credit) is a credit balance on their Debitor, as DATEV
    # keeps it: the next invoice's payment is set off on the same personal account.
    # A customer's dues and credit all sit on their Debitor: invoices, over-payments (a
    # credit balance) and what a dunning notice claimed (fees, compensation, interest).
    if customer is not None and name in (
        receivable(customer),
        customer_credit(customer),
        late_payment_receivable(customer),
    ):
        return debtors(customer)
    partner = _PARTNER_KEY.fullmatch(name.rsplit(":", 1)[-1])
    if partner is not None and name == partner_payable(uuid.UUID(hex=partner[1])):
        return chart.creditor(uuid.UUID(hex=partner[1]))
    number = chart.account(name)
    if number is None:
        raise InvalidInputError(
            f"{name} has no DATEV account in {chart.name}: map it (or a parent of it) in "
            "CHARGELEDGER_DATEV_ACCOUNTS_FILE",
            code="datev_unmapped_account",
            field="account",
            details={"account": name},
        )
    return number


def _merged(legs: Sequence[_Leg]) -> list[_Leg]:
    """Legs on the same account (and tax code) as one, in first-seen order; zeros dropped."""
    merged: dict[tuple[int, bool, str, str], _Leg] = {}
    for leg in legs:
        kept = merged.setdefault(
            leg.key, _Leg(leg.account, ZERO, leg.revenue, leg.bu_key, leg.eu_vat_id)
        )
        kept.amount += leg.amount
    return [leg for leg in merged.values() if leg.amount]


def _mismatch(entry: JournalEntry, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"entry {entry.id} ({entry.description}) cannot be exported to DATEV: {why}",
        code="datev_sources_mismatch",
    )
