"""Rows of charges, invoices and invoice lines, to and from the domain objects (split from
``billing.py``): amounts fixed-scale, VAT treatment and parties as stored."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import RowMapping

from chargeledger.domain.billing import (
    COMPONENTS,
    Charge,
    ComponentAmount,
    VatCategory,
    VatTreatment,
)
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Layout,
    Party,
    TaxOverride,
)
from chargeledger.money import Currency

NET_COLUMNS = tuple(f"{name.lower()}_net" for name in COMPONENTS)


def money_value(value: Decimal, currency: Currency) -> Decimal:
    """Amounts come back at the column's scale (4 places); bill them in minor units."""
    return value.quantize(currency.quantum)


def percent_value(value: Decimal) -> Decimal:
    """19.000 → 19, 25.500 → 25.5: rates as they are written."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


CHARGE_COLUMNS = (
    *("id", "session_id", "account_id", "ad_hoc", "site_id", "site_name", "station_id"),
    *("station_name", "evse_id", "country", "time_zone", "currency", "started_at"),
    *("stopped_at", "energy_kwh", "charging_hours", "idle_hours", *NET_COLUMNS),
    *("vat_category", "vat_percent", "vat_note", "tariff_id", "created_at"),
)


def charge_values(charge: Charge, created_at: datetime) -> tuple[Any, ...]:
    """The row that stores ``charge``, in :data:`CHARGE_COLUMNS` order (a bulk insert's row)."""
    nets = dict(charge.components)
    vat = charge.vat
    return (
        *(charge.id, charge.session_id, charge.account_id, charge.ad_hoc, charge.site_id),
        *(charge.site_name, charge.station_id, charge.station_name, charge.evse_id),
        *(charge.country, charge.time_zone, charge.currency.code, charge.started_at),
        *(charge.stopped_at, charge.energy_kwh, charge.charging_hours, charge.idle_hours),
        *(nets[name] for name in COMPONENTS),
        *(vat.category.value, vat.percent, vat.note, charge.tariff_id),
        charge.created_at or created_at,
    )


def charge_of(row: RowMapping) -> Charge:
    currency = Currency.of(row["currency"])
    return Charge(
        session_id=row["session_id"],
        account_id=row["account_id"],
        ad_hoc=row["ad_hoc"],
        site_id=row["site_id"],
        site_name=row["site_name"],
        station_id=row["station_id"],
        station_name=row["station_name"],
        evse_id=row["evse_id"],
        country=row["country"],
        time_zone=row["time_zone"],
        currency=currency,
        started_at=row["started_at"],
        stopped_at=row["stopped_at"],
        energy_kwh=row["energy_kwh"],
        charging_hours=row["charging_hours"],
        idle_hours=row["idle_hours"],
        components=tuple(
            ComponentAmount(name, money_value(row[column], currency))
            for name, column in zip(COMPONENTS, NET_COLUMNS, strict=True)
        ),
        vat=VatTreatment(
            VatCategory(row["vat_category"]), percent_value(row["vat_percent"]), row["vat_note"]
        ),
        tariff_id=row["tariff_id"],
        id=row["id"],
        created_at=row["created_at"],
    )


class ChargeReader:
    """``charge_of`` for many rows selected in :data:`CHARGE_COLUMNS` order (issue 17: an
    invoice run reads a month of charges): the same values, with the currencies, VAT
    treatments and components' quanta each built once per reader rather than once per row."""

    def __init__(self) -> None:
        self._currencies: dict[str, Currency] = {}
        self._vats: dict[tuple[str, Decimal, str | None], VatTreatment] = {}

    def charge(self, row: Sequence[Any]) -> Charge:
        charge_id, session_id, account_id, ad_hoc, site_id, site_name, station_id = row[:7]
        station_name, evse_id, country, time_zone, code, started_at, stopped_at = row[7:14]
        energy_kwh, charging_hours, idle_hours = row[14:17]
        nets = row[17:22]
        category, percent, note, tariff_id, created_at = row[22:]
        currency = self._currencies.get(code)
        if currency is None:
            currency = self._currencies[code] = Currency.of(code)
        vat = self._vats.get((category, percent, note))
        if vat is None:
            vat = VatTreatment(VatCategory(category), percent_value(percent), note)
            self._vats[(category, percent, note)] = vat
        quantum = currency.quantum
        return Charge(
            session_id=session_id,
            account_id=account_id,
            ad_hoc=ad_hoc,
            site_id=site_id,
            site_name=site_name,
            station_id=station_id,
            station_name=station_name,
            evse_id=evse_id,
            country=country,
            time_zone=time_zone,
            currency=currency,
            started_at=started_at,
            stopped_at=stopped_at,
            energy_kwh=energy_kwh,
            charging_hours=charging_hours,
            idle_hours=idle_hours,
            components=tuple(
                ComponentAmount(name, net.quantize(quantum))
                for name, net in zip(COMPONENTS, nets, strict=True)
            ),
            vat=vat,
            tariff_id=tariff_id,
            id=charge_id,
            created_at=created_at,
        )


def party_of(doc: dict[str, Any]) -> Party:
    return Party(**doc)


def invoice_row(invoice: Invoice, created_at: datetime) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "kind": invoice.kind.value,
        "status": invoice.status.value,
        "series": invoice.series,
        "number": invoice.number,
        "account_id": invoice.account_id,
        "seller": dataclasses.asdict(invoice.seller),
        "buyer": dataclasses.asdict(invoice.buyer),
        "currency": invoice.currency.code,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "layout": invoice.layout.value,
        "payment_terms_days": invoice.payment_terms_days,
        "vat_note": invoice.vat_note,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "original_id": invoice.original_id,
        "original_number": invoice.original_number,
        "reason": invoice.reason,
        "run_key": invoice.run_key,
        "purchase_order": invoice.purchase_order,
        "contract_reference": invoice.contract_reference,
        "annex": invoice.annex,
        "tax_overrides": [
            [category.value, str(percent), str(tax)]
            for category, percent, tax in invoice.tax_overrides
        ],
        "net_total": invoice.net_total,
        "tax_total": invoice.tax_total,
        "gross_total": invoice.gross_total,
        "created_at": invoice.created_at or created_at,
        "issued_at": invoice.issued_at,
    }


def line_row(invoice_id: uuid.UUID, line: InvoiceLine) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "position": line.position,
        "description": line.description,
        "net": line.net,
        "vat_category": line.vat_category.value,
        "vat_percent": line.vat_percent,
        "country": line.country,
        "charge_id": line.charge_id,
        "session_id": line.session_id,
        "site_name": line.site_name,
        "station_name": line.station_name,
        "local_start": None if line.local_start is None else line.local_start.isoformat(),
        "energy_kwh": line.energy_kwh,
        "charging_hours": line.charging_hours,
        "idle_hours": line.idle_hours,
        "components": {name: str(amount) for name, amount in line.components},
        "cost_centre": line.cost_centre,
        "driver": line.driver,
        "repricing_id": line.repricing_id,
    }


def line_of(row: RowMapping, currency: Currency) -> InvoiceLine:
    local = row["local_start"]
    return InvoiceLine(
        position=row["position"],
        description=row["description"],
        net=money_value(row["net"], currency),
        vat_category=VatCategory(row["vat_category"]),
        vat_percent=percent_value(row["vat_percent"]),
        country=row["country"],
        charge_id=row["charge_id"],
        session_id=row["session_id"],
        site_name=row["site_name"],
        station_name=row["station_name"],
        local_start=None if local is None else datetime.fromisoformat(local),
        energy_kwh=row["energy_kwh"],
        charging_hours=row["charging_hours"],
        idle_hours=row["idle_hours"],
        components=tuple(
            ComponentAmount(name, money_value(Decimal(value), currency))
            for name, value in row["components"].items()
        ),
        cost_centre=row["cost_centre"],
        driver=row["driver"],
        repricing_id=row["repricing_id"],
    )


def invoice_of(row: RowMapping, lines: Sequence[InvoiceLine]) -> Invoice:
    return Invoice(
        kind=DocumentKind(row["kind"]),
        account_id=row["account_id"],
        seller=party_of(row["seller"]),
        buyer=party_of(row["buyer"]),
        currency=Currency.of(row["currency"]),
        period_start=row["period_start"],
        period_end=row["period_end"],
        lines=tuple(lines),
        status=DocumentStatus(row["status"]),
        layout=Layout(row["layout"]),
        payment_terms_days=row["payment_terms_days"],
        vat_note=row["vat_note"],
        series=row["series"],
        number=row["number"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        original_id=row["original_id"],
        original_number=row["original_number"],
        reason=row["reason"],
        run_key=row["run_key"],
        purchase_order=row["purchase_order"],
        contract_reference=row["contract_reference"],
        annex=row["annex"],
        tax_overrides=tuple(
            TaxOverride(VatCategory(category), percent_value(Decimal(percent)), Decimal(tax))
            for category, percent, tax in row["tax_overrides"]
        ),
        id=row["id"],
        created_at=row["created_at"],
        issued_at=row["issued_at"],
    )
