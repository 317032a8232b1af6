"""The demo's contracts (issue 14), made before the simulated day so that its sessions are
priced and billed under them: a fleet with volume tiers and a monthly commitment it misses, a
site host with a revenue share, and a car maker's bundle whose allowance its buyers draw.
Their effects show on the month-end invoices, the self-billed invoice and the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console
from chargeledger.domain.accounts import Account, AccountKind, BillingMode
from chargeledger.domain.contract_records import ContractRecord, Partner, PartnerKind
from chargeledger.domain.contracts import Contract, ContractType, Renewal
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import DocumentKind, Invoice
from chargeledger.domain.text import money_figure
from chargeledger.money import Currency
from chargeledger.services import customers
from chargeledger.services.billing import allowances, invoice_documents
from chargeledger.services.common import operator_today
from chargeledger.services.contracts import records
from chargeledger.services.demo_seed import SeedReport
from chargeledger.services.transactions import in_transaction, reading

FLEET_TERMS: dict[str, Any] = {
    "tiers": {
        "model": "marginal",
        "bands": [
            {"from_kwh": "0", "price_per_kwh": "0.36"},
            {"from_kwh": "60", "price_per_kwh": "0.29"},
        ],
    },
    "monthly_commitment": "1500.00",
    "fixed_fees": [{"basis": "per_card", "amount": "1.50", "description": "Fleet card"}],
    "payment_terms_days": 30,
    "purchase_order": "PO-2026-118",
    "cost_centre": "FLEET-OPS",
    "credit_limit": "25000.00",
}
HOST_TERMS: dict[str, Any] = {"revenue_share": {"percent": "10"}}
OEM_TERMS: dict[str, Any] = {"allowance": {"unit": "kwh", "amount": "120", "price": "36.00"}}


@dataclass
class ContractsDemo:
    numbers: dict[str, str] = field(default_factory=dict)  # kind → contract number
    allowance_invoice: str = ""
    effects: dict[str, str] = field(default_factory=dict)  # contract number → what it did


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _year_term(start: date) -> date:
    return date(start.year + 1, start.month, 1) - timedelta(days=1)


async def set_up_contracts(runtime: Runtime, seed: SeedReport) -> ContractsDemo:
    """The three contracts, signed, and the car maker's allowance invoiced."""
    settings = runtime.settings
    seller, zone = settings.seller(), settings.operator_time_zone
    today = operator_today(runtime.clock, zone)
    start, end = _first_of_month(today), _year_term(_first_of_month(today))
    demo = ContractsDemo()
    postpaid = [a for a in seed.accounts if a.billing_mode is BillingMode.POSTPAID]
    fleet = next(a for a in postpaid if a.kind is AccountKind.BUSINESS)
    drivers = [a for a in postpaid if a.kind is AccountKind.INDIVIDUAL][:4]
    host_site = next(s for s in seed.sites if s.address.country == seller.country)
    maker = await in_transaction(
        runtime.uow,
        customers.create_account,
        runtime.clock,
        runtime.vat_ids,
        Account(
            kind=AccountKind.BUSINESS,
            name="Voltwerk Automobile AG",
            email="bundles@voltwerk.example",
            billing_address=Address("Werkstraße 1", "38440", "Wolfsburg", seller.country),
            currency=Currency.of("EUR"),
            payment_terms_days=30,
            reference="C90001",
        ),
    )
    host = await in_transaction(
        runtime.uow,
        records.add_partner,
        runtime.clock,
        Partner(
            PartnerKind.SITE_HOST,
            "Markthalle Nord GmbH",
            "pacht@markthalle-nord.example",
            Address(
                "Marktplatz 3",
                host_site.address.postal_code,
                host_site.address.city,
                seller.country,
            ),
            vat_id=f"{seller.country}811907980",
            iban="DE02120300000000202051",
        ),
    )
    made = (
        ("fleet", ContractType.FLEET, fleet.id, None, FLEET_TERMS, (), ()),
        ("site_host", ContractType.SITE_HOST, None, host.id, HOST_TERMS, (), (host_site.id,)),
        (
            "oem_bundle",
            ContractType.OEM_BUNDLE,
            maker.id,
            None,
            OEM_TERMS,
            tuple(d.id for d in drivers),
            (),
        ),
    )
    for index, (name, kind, account_id, partner_id, terms, accounts, sites) in enumerate(made, 1):
        number = f"K-{start.year}-{index:03d}"
        record = ContractRecord(
            Contract(number, kind, start, end, Renewal(term_months=12, notice_days=90)),
            Currency.of("EUR"),
            account_id=account_id,
            partner_id=partner_id,
            title=f"Demo {name.replace('_', ' ')} contract",
        )
        draft = records.ContractDraft(record, terms, "Terms as signed", accounts, sites)
        view = await in_transaction(
            runtime.uow, records.create_contract, runtime.clock, "demo", draft, today
        )
        await in_transaction(
            runtime.uow, records.sign_contract, runtime.clock, view.record.id, start, today
        )
        demo.numbers[name] = number
        if kind is ContractType.OEM_BUNDLE:
            sold = await in_transaction(
                runtime.uow,
                allowances.sell_allowance,
                runtime.clock,
                seller,
                zone,
                settings.vat_rates,
                view.record.id,
            )
            demo.allowance_invoice = sold.number or ""
    return demo


async def contract_effects(runtime: Runtime, demo: ContractsDemo) -> ContractsDemo:
    """What the month end made of each contract, read back from the documents and books."""
    documents = await reading(runtime.uow, invoice_documents.issued_documents)
    fleet_number = demo.numbers["fleet"]
    for document in documents:
        if document.contract_reference == fleet_number:
            demo.effects[fleet_number] = _fleet_effect(document)
        elif document.kind is DocumentKind.SELF_BILLED:
            demo.effects[demo.numbers["site_host"]] = (
                f"self-billed {document.number}: {money_figure(document.gross_total, 'EUR')} "
                "owed to the host"
            )
    async with runtime.uow() as uow:
        record = await uow.contracts.get_by_number(demo.numbers["oem_bundle"])
        drawn = Decimal(0) if record is None else await uow.contracts.drawn(record.id)
    demo.effects[demo.numbers["oem_bundle"]] = (
        f"allowance sold on {demo.allowance_invoice}; {drawn.normalize():f} of 120 kWh drawn"
    )
    return demo


def _fleet_effect(invoice: Invoice) -> str:
    parts = []
    for line in invoice.lines:
        if line.session_id is None:
            parts.append(f"{line.description.split(',')[0]} {money_figure(line.net, 'EUR')}")
    return f"{invoice.number}: " + "; ".join(parts)


def print_contracts(demo: ContractsDemo) -> None:
    table = Table(title="Contracts and what they billed this month")
    table.add_column("contract")
    table.add_column("kind")
    table.add_column("effect")
    for kind, number in demo.numbers.items():
        table.add_row(number, kind, demo.effects.get(number, "nothing this month"))
    console.print(table)
