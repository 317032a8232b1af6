"""Sample books and invoices for the export tests, and the ways we read the exports back:
Beancount's own loader, realization and ``bean-check`` script, and the ``csv`` module."""

from __future__ import annotations

import csv
import io
import subprocess
import sysconfig
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data, realization
from hypothesis import strategies as st

from chargeledger.adapters.exports import (
    BeancountExporter,
)
from chargeledger.domain.billing import VatCategory
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.invoicing import (
    DocumentKind,
    Invoice,
    InvoiceLine,
    Party,
    issued,
)
from chargeledger.domain.ledger import (
    BANK,
    PSP_FEES,
    EntryKind,
    JournalEntry,
    Posting,
    psp,
    receivable,
    revenue,
    unbilled,
    vat_payable,
)
from chargeledger.money import Money

D = Decimal
FLEET = uuid.UUID("c3f2a0b1-0000-4000-8000-000000000001")
DRIVER = uuid.UUID("0a1b2c3d-0000-4000-8000-000000000002")
TRICKY = 'Ladepark Köln "Nord" \\ Süd\nzweite Zeile\twith tab, 充电 ⚡'


def entry(
    kind: EntryKind, day: date, description: str, *postings: tuple[str, str, str], source: str = ""
) -> JournalEntry:
    return JournalEntry(
        kind=kind,
        booked_on=day,
        description=description,
        postings=tuple(
            Posting(account, Money.of(D(amount), cur)) for account, amount, cur in postings
        ),
        source_type="invoice" if kind is not EntryKind.CHARGE_ACCRUED else "charge",
        source_id=source or str(uuid.uuid4()),
    )


def sample_books() -> list[JournalEntry]:
    """A month of a fleet (EUR) and a Swiss driver (CHF), deliberately out of order."""
    return [
        entry(
            EntryKind.INVOICE_ISSUED,
            date(2026, 1, 31),
            "Invoice INV-2026-000001 to Fleet GmbH",
            (receivable(FLEET), "11.90", "EUR"),
            (unbilled(FLEET), "-11.90", "EUR"),
        ),
        entry(
            EntryKind.CHARGE_ACCRUED,
            date(2026, 1, 5),
            TRICKY,
            (unbilled(FLEET), "11.90", "EUR"),
            (revenue("Energy"), "-8.00", "EUR"),
            (revenue("Parking"), "-2", "EUR"),
            (vat_payable("de"), "-1.9", "EUR"),
            source='charge "1" \\ x',
        ),
        entry(
            EntryKind.CHARGE_ACCRUED,
            date(2026, 1, 7),
            "Session in Zürich",
            (unbilled(DRIVER), "21.55", "CHF"),
            (revenue("Energy"), "-20.00", "CHF"),
            (vat_payable("CH"), "-1.55", "CHF"),
        ),
        entry(
            EntryKind.CREDIT_NOTE_ISSUED,
            date(2026, 2, 3),
            "Credit note CN-2026-000001 for INV-2026-000001: meter fault",
            (revenue("Energy"), "4.00", "EUR"),
            (vat_payable("DE"), "0.76", "EUR"),
            (receivable(FLEET), "-4.76", "EUR"),
        ),
        entry(
            EntryKind.INVOICE_PAYMENT,
            date(2026, 2, 10),
            "Payment of INV-2026-000001",
            (psp("sandbox"), "7.14", "EUR"),
            (receivable(FLEET), "-7.14", "EUR"),
        ),
        entry(
            EntryKind.PAYOUT,
            date(2026, 2, 15),
            "PSP payout",
            (BANK, "6.90", "EUR"),
            (PSP_FEES, "0.24", "EUR"),
            (psp("sandbox"), "-7.14", "EUR"),
        ),
    ]


def beancount_text(entries: Sequence[JournalEntry], **period: date) -> str:
    return BeancountExporter().export(
        entries, start=period.get("start"), end=period.get("end"), title='Books "2026" \\ Q1'
    )


def load_clean(text: str) -> tuple[list[data.Directive], dict[str, object]]:
    entries, errors, options = loader.load_string(text)
    assert errors == [], "\n".join(str(e.message) for e in errors)
    return entries, options


def our_balances(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], Decimal]:
    """Per account and currency, the non-zero sums (an account that nets to zero has no
    position in Beancount's inventory)."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for booked in entries:
        for posting in booked.postings:
            totals[(posting.account, posting.units.currency)] += posting.units.amount
    return {key: amount for key, amount in totals.items() if amount}


def beancount_balances(directives: list[data.Directive]) -> dict[tuple[str, str], Decimal]:
    """Per account and currency, as Beancount's realization computes them."""
    totals = {}
    root = realization.realize(directives)  # type: ignore[no-untyped-call]
    for real_account in realization.iter_children(root):  # type: ignore[no-untyped-call]
        for position in real_account.balance:
            totals[(real_account.account, position.units.currency)] = position.units.number
    return {key: amount for key, amount in totals.items() if amount}


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sysconfig.get_path("scripts")) / "bean-check"
    assert script.exists(), f"bean-check is not installed at {script} (pip install beancount)"
    return subprocess.run([str(script), str(path)], capture_output=True, text=True, check=False)


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


SELLER = Party("Charge GmbH", "Hauptstr. 1", "10115", "Berlin", "DE", vat_id="DE136695976")


def sample_invoices() -> list[Invoice]:
    """An issued invoice, a draft, and a credit note of the first one's second line."""
    buyer = Party('Fleet "Nord" GmbH, Köln', "Ring 2", "50667", "Köln", "DE", vat_id="DE811128135")
    lines = tuple(
        InvoiceLine(
            position=i,
            description=f"Charging session {i}",
            net=net,
            vat_category=VatCategory.STANDARD,
            vat_percent=D(19),
            components=(("Energy", net - D(2)), ("Parking", D(2))),
            country="DE",
        )
        for i, net in enumerate((D("10.00"), D("5.50")), 1)
    )
    draft = Invoice(
        kind=DocumentKind.INVOICE,
        account_id=FLEET,
        seller=SELLER,
        buyer=buyer,
        currency="EUR",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 2, 1),
        lines=lines,
    )
    invoice = issued(
        draft, "INV-2026-000001", "INV-2026", date(2026, 2, 1), datetime(2026, 2, 1, tzinfo=UTC)
    )
    note = credit_note(invoice, "Meter fault,\nsee ticket #42", [], positions=(2,))
    note = issued(
        note, "CN-2026-000001", "CN-2026", date(2026, 2, 3), datetime(2026, 2, 3, tzinfo=UTC)
    )
    other = replace(draft, id=uuid.uuid4(), account_id=None, currency="CHF", buyer=SELLER)
    return [invoice, other, note]


ACCOUNT_POOL = [
    unbilled(FLEET),
    receivable(FLEET),
    receivable(DRIVER),
    revenue("Energy"),
    revenue("Time"),
    vat_payable("DE"),
    psp("sandbox"),
    BANK,
    PSP_FEES,
    "Equity:Opening-Balances",
    "Liabilities:Wallets:0ABC",
]
cents = st.integers(min_value=-(10**9), max_value=10**9).filter(bool)


@st.composite
def balanced_entries(draw: st.DrawFn) -> JournalEntry:
    currencies = draw(
        st.lists(st.sampled_from(["EUR", "CHF", "USD"]), min_size=1, max_size=2, unique=True)
    )
    postings = []
    for currency in currencies:
        most = 3 if len(currencies) == 2 else 6
        amounts = draw(st.lists(cents, min_size=1, max_size=most - 1).filter(sum))
        amounts.append(-sum(amounts))
        postings += [
            Posting(draw(st.sampled_from(ACCOUNT_POOL)), Money.of(D(a).scaleb(-2), currency))
            for a in amounts
        ]
    return JournalEntry(
        kind=draw(st.sampled_from(EntryKind)),
        booked_on=draw(st.dates(date(2020, 1, 1), date(2030, 12, 31))),
        description=draw(st.text(max_size=40)),
        postings=tuple(postings),
        source_type="test",
        source_id=draw(st.text(max_size=10)),
    )
