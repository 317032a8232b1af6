"""DATEV lines of the contract entries (issue 14): a car maker's allowance sold as a taxed
advance (SKR03 1718 / SKR04 3272, automatic 19 %), a session's draw released through the
advance clearing account (1593 / 1495) so that its VAT cancels, and a site host's revenue share
on Verkaufsprovisionen (4760 / 6770) with its input VAT (1576 / 1406), owed on its Kreditor.
The entries are those of ``tests/unit/exports/datev_books.contract_entries``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chargeledger.adapters.exports.datev_charts import load_chart
from chargeledger.domain.billing import ComponentAmount, VatCategory
from chargeledger.domain.charge_documents import charges_document
from chargeledger.domain.contract_lines import PeriodUse, VatGroup, contract_lines
from chargeledger.domain.contract_postings import allowance_sold_entry
from chargeledger.domain.contract_terms import FeeBasis, FixedFee, Terms
from chargeledger.domain.invoicing import DocumentKind, InvoiceLine, Party, issued
from chargeledger.domain.ledger import JournalEntry
from chargeledger.domain.postings import (
    charge_accrual,
    charge_revenue,
    document_issued,
    invoice_contract_revenue,
)
from chargeledger.errors import ConfigurationError, InvalidInputError
from chargeledger.services.billing.exporting import ExportSources
from tests.unit.exports.datev_books import (
    CUSTOMERS,
    EUR,
    FLEET,
    FLEET_CHARGES,
    OEM_CONTRACT,
    SELLER,
    SITE_HOST,
    D,
    books,
    contract_entries,
    day,
    export,
    movements,
    read,
)

COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegfeld 1",
)
# chart: advance account, clearing, revenue 19 %, VAT 19 %, revenue share, input VAT
ACCOUNTS = {
    "SKR03": ("1718", "1593", "8400", "1776", "4760", "1576"),
    "SKR04": ("3272", "1495", "4400", "3806", "6770", "1406"),
}


def lines(chart: str, overrides: Path | None = None) -> list[tuple[str, ...]]:
    found = read(export(contract_entries(), books(load_chart(chart, overrides=overrides))))
    return [found.values(row, *COLUMNS) for row in found.rows]


@pytest.mark.parametrize("chart", ["SKR03", "SKR04"])
def test_contract_entries_as_datev_lines(chart: str) -> None:
    advance, clearing, revenue, _, share, input_vat = ACCOUNTS[chart]
    assert lines(chart) == [
        # sold: 840.34 + 159.66 = 1,000.00 gross on the advance account, on Fleet's Debitor
        ("1000,00", "S", "10042", advance, "", "OEM-1"),
        # drawn: 8.73 + 19 % (1.6587 → 1.66) = 10.39 gross, once on each automatic account
        ("10,39", "S", clearing, revenue, "", "DRAW-2026-02-03"),
        ("10,39", "H", clearing, advance, "", "DRAW-2026-02-03"),
        # revenue share: 12.30 + 2.34 owed on the collective Kreditor
        ("12,30", "S", share, "70000", "", "SB-2026-000001"),
        ("2,34", "S", input_vat, "70000", "", "SB-2026-000001"),
    ]


@pytest.mark.parametrize("chart", ["SKR03", "SKR04"])
def test_datev_s_vat_split_leaves_each_account_as_the_ledger_did(chart: str) -> None:
    """DATEV splits 1,000.00 × 19/119 = 159.66 off the sale and 10.39 × 19/119 = 1.6589 →
    1.66 off each line of the draw (+1.66 and -1.66 on the VAT account: paid on the sale)."""
    advance, clearing, revenue, vat, share, input_vat = ACCOUNTS[chart]
    moved = movements(read(export(contract_entries(), books(load_chart(chart)))), chart)
    assert moved == {
        "10042": D("1000.00"),
        advance: D("-840.34") + D("8.73"),  # sold less drawn
        vat: D("-159.66"),
        revenue: D("-8.73"),
        share: D("12.30"),
        input_vat: D("2.34"),
        "70000": D("-14.64"),
    }
    assert clearing not in moved


def test_an_allowance_sold_at_another_rate_is_refused() -> None:
    """1718 carries 19 %: a sale at 7 % (100.00 net, 7.00 VAT) would have DATEV compute
    107.00 × 19/119 = 17.08 of VAT, so it is refused rather than misbooked."""
    sold = allowance_sold_entry(
        OEM_CONTRACT, FLEET.id, D("100.00"), D("7.00"), "DE", EUR, day("2026-01-31"), "OEM-2"
    )
    with pytest.raises(InvalidInputError) as raised:
        export([sold])
    assert raised.value.code == "datev_unmapped_vat"


def test_a_partner_s_own_kreditor_from_the_overrides_file(tmp_path: Path) -> None:
    overrides = tmp_path / "datev.json"
    overrides.write_text(json.dumps({"creditors": {str(SITE_HOST): 70123}}), encoding="utf-8")
    share_lines = [line for line in lines("SKR03", overrides) if line[5] == "SB-2026-000001"]
    assert [(line[2], line[3]) for line in share_lines] == [("4760", "70123"), ("1576", "70123")]
    overrides.write_text(json.dumps({"creditors": {str(SITE_HOST): 10123}}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a Kreditor"):
        load_chart("SKR03", overrides=overrides)


def contract_invoice() -> tuple[list[JournalEntry], ExportSources]:
    """The fleet's two January charges (30.90 net) on an invoice with a contract's tier
    discount (−5.00 energy) and a fee (+2.50): 28.40 net, 19 % = 5.396 → 5.40."""
    base = charges_document(
        DocumentKind.INVOICE,
        FLEET_CHARGES,
        account_id=FLEET.id,
        seller=SELLER,
        buyer=Party(FLEET.name, "Ring 2", "50667", "Köln", "DE"),
        period=(date(2026, 1, 1), date(2026, 2, 1)),
        run_key="contract",
        payment_terms_days=30,
    )
    group = VatGroup(VatCategory.STANDARD, D("19"), "DE")
    terms = Terms(fixed_fees=(FixedFee(FeeBasis.FLAT, D("2.50"), "Fleet service"),))
    use = PeriodUse(FLEET_CHARGES, {FeeBasis.FLAT: 1}, None, group)
    fee = contract_lines(terms, "FL-1", use, 3, EUR)
    tier = InvoiceLine(
        position=4,
        description="Volume tiers (marginal), contract FL-1",
        net=D("-5.00"),
        vat_category=VatCategory.STANDARD,
        vat_percent=D("19"),
        components=(ComponentAmount("Energy", D("-5.00")),),
        country="DE",
    )
    draft = replace(base, lines=base.lines + fee + (tier,))
    invoice = issued(
        draft, "INV-2026-000009", "INV-2026", date(2026, 2, 2), datetime(2026, 2, 2, tzinfo=UTC)
    )
    accruals = [charge_accrual(c, c.stopped_at.date()) for c in FLEET_CHARGES]
    entries = [e for e in (*accruals, document_issued(invoice)) if e is not None]
    revenue = {("charge", str(c.id)): charge_revenue(c) for c in FLEET_CHARGES}
    revenue[("invoice", str(invoice.id))] = invoice_contract_revenue(invoice)
    given = ExportSources(
        revenue=revenue, numbers={str(invoice.id): invoice.number or ""}, customers=CUSTOMERS
    )
    return entries, given


@pytest.mark.parametrize("chart", ["SKR03", "SKR04"])
def test_an_invoice_with_a_tier_discount_and_a_fee(chart: str) -> None:
    """A negative and a positive contract line on one invoice: each its own gross revenue
    line; the revenue account ends at the invoice's net and VAT at the invoice's VAT."""
    entries, given = contract_invoice()
    _, _, revenue, vat, _, _ = ACCOUNTS[chart]
    moved = movements(read(export(entries, books(load_chart(chart)), given=given)), chart)
    assert moved[revenue] == D("-28.40")  # 30.90 − 5.00 + 2.50
    assert moved[vat] == D("-5.40")  # what the invoice states
    assert moved["10042"] == D("33.80")  # the fleet owes the invoice's gross
    assert sum(moved.values()) == 0
