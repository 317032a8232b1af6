"""Builders for the invoicing and numbering tests: sites, stations, accounts, completed
sessions and their charges, booked the way ``services.billing.charges`` books them after pricing
(charge row + accrual entry in one transaction), without OCPP and without the pricing engine.

Every amount of the standard world is chosen by hand so the tests can state exact results:
see the comments at ``JANUARY`` for the VAT each charge carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, BillingCycle, BillingMode
from chargeledger.domain.billing import (
    COMPONENTS,
    DEFAULT_VAT_RATES,
    Charge,
    VatCategory,
    vat_treatment,
)
from chargeledger.domain.catalog import Site, Station
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import DocumentKind, Invoice, Party, VatSubtotal
from chargeledger.domain.ledger import receivable, unbilled
from chargeledger.domain.payment_routes import decide_payment_route
from chargeledger.domain.postings import charge_accrual
from chargeledger.money import Currency
from chargeledger.services import catalog, customers
from chargeledger.services.billing import invoicing
from chargeledger.services.billing.invoice_ports import InvoiceFilter

OPERATOR_TZ = "Europe/Berlin"
SELLER = Party(
    name="Ladenetz Betrieb GmbH",
    street="Ring 1",
    postal_code="10115",
    city="Berlin",
    country="DE",
    vat_id="DE136695976",
    iban="DE89370400440532013000",
)
ZERO_CENTS = Decimal("0.00")


def utc(text: str) -> datetime:
    """``2026-01-31T22:50`` read as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> Decimal:
    return Decimal(text)


class FixedClock:
    """The Clock port at a time the test chooses (issue dates follow it)."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass(frozen=True)
class Place:
    site: Site
    station: Station


@dataclass
class World:
    runtime: Runtime
    clock: FixedClock
    de: Place
    pt: Place
    accounts: dict[str, Account] = field(default_factory=dict)
    charges: dict[str, Charge] = field(default_factory=dict)


async def create_place(
    runtime: Runtime, clock: FixedClock, name: str, country: str, tz: str, cpid: str
) -> Place:
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name=name,
                address=Address("Rua 1" if country == "PT" else "Ring 1", "1000", name, country),
                latitude=Decimal("45"),
                longitude=Decimal("5"),
                time_zone=tz,
            ),
        )
        fields = {
            "site_id": site.id,
            "charge_point_id": cpid,
            "vendor": "T",
            "model": "T1",
            "security_profile": 3,  # client certificates: no password to hash
        }
        station = await catalog.create_station(uow, clock, runtime.station_secrets, fields, None)
        await uow.commit()
    return Place(site, station)


async def create_customer(
    runtime: Runtime,
    clock: FixedClock,
    name: str,
    *,
    kind: AccountKind = AccountKind.INDIVIDUAL,
    country: str = "DE",
    vat_id: str | None = None,
    cycle: BillingCycle = BillingCycle.MONTHLY,
    mode: BillingMode = BillingMode.POSTPAID,
    terms: int = 14,
) -> Account:
    account = Account(
        kind=kind,
        name=name,
        email=f"{uuid.uuid4().hex[:10]}@example.org",
        billing_address=Address("Street 1", "1000", "City", country),
        currency=Currency.of("EUR"),
        vat_id=vat_id,
        payment_terms_days=terms,
        billing_mode=mode,
        billing_cycle=cycle,
    )
    async with runtime.uow() as uow:
        kept = await customers.create_account(uow, clock, runtime.vat_ids, account)
        await uow.commit()
        return kept


@dataclass(frozen=True)
class ChargeSpec:
    """A completed session of 40 minutes at ``place`` and its net amounts per component."""

    place: Place
    account: Account | None
    started_at: datetime
    nets: dict[str, str]


def build_charge(spec: ChargeSpec, session_id: uuid.UUID) -> Charge:
    site = spec.place.site
    account = spec.account
    supply_day = spec.started_at.astimezone(ZoneInfo(site.time_zone)).date()
    vat = vat_treatment(
        DEFAULT_VAT_RATES,
        site.address.country,
        supply_day,
        None if account is None else account.billing_address.country,
        None if account is None else account.vat_id,
    )
    unknown = set(spec.nets) - set(COMPONENTS)
    assert not unknown, unknown
    return Charge(
        session_id=session_id,
        account_id=None if account is None else account.id,
        ad_hoc=account is None,
        site_id=site.id,
        site_name=site.name,
        station_id=spec.place.station.id,
        station_name=spec.place.station.charge_point_id,
        evse_id=1,
        country=site.address.country,
        time_zone=site.time_zone,
        currency="EUR",
        started_at=spec.started_at,
        stopped_at=spec.started_at + timedelta(minutes=40),
        energy_kwh=Decimal("12.5"),
        charging_hours=Decimal("0.5"),
        idle_hours=Decimal("0.166667"),
        components=tuple((name, Decimal(spec.nets.get(name, "0.00"))) for name in COMPONENTS),
        vat=vat,
        tariff_id=None,
    )


async def book_charges(
    runtime: Runtime, clock: FixedClock, specs: dict[str, ChargeSpec]
) -> dict[str, Charge]:
    """Sessions (COMPLETED) + charges + accrual entries, in one transaction."""
    now = clock.now()
    booked: dict[str, Charge] = {}
    async with runtime.uow() as uow:
        for name, spec in specs.items():
            session = Session(
                station_id=spec.place.station.id,
                evse_id=1,
                transaction_ref=uuid.uuid4().hex[:20],
                ocpp_version="1.6",
                started_at=spec.started_at,
                meter_start_wh=Decimal(0),
                account_id=None if spec.account is None else spec.account.id,
                payment_route=decide_payment_route(None, spec.account, None, has_card=False),
                status=SessionStatus.COMPLETED,
                stopped_at=spec.started_at + timedelta(minutes=40),
                meter_stop_wh=Decimal(12500),
                created_at=now,
                updated_at=now,
            )
            await uow.sessions.add(session)
            booked[name] = build_charge(spec, session.id)
        charges = list(booked.values())
        await uow.billing.add_charges(charges, now)
        entries = [
            charge_accrual(c, c.stopped_at.astimezone(ZoneInfo(OPERATOR_TZ)).date())
            for c in charges
        ]
        await uow.ledger.add([e for e in entries if e is not None], now)
        await uow.commit()
    return booked


async def new_world(runtime: Runtime, now: datetime) -> World:
    clock = FixedClock(now)
    de = await create_place(runtime, clock, "Berlin Depot", "DE", "Europe/Berlin", "DE-CP1")
    pt = await create_place(runtime, clock, "Lisboa Hub", "PT", "Europe/Lisbon", "PT-CP1")
    return World(runtime, clock, de, pt)


# The standard world, invoiced for January 2026 on 2 February 2026 (the operator is in Berlin).
# VAT per charge is net × rate rounded half-up to the cent; the gross follows.
async def standard_world(runtime: Runtime) -> World:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    clock = world.clock
    world.accounts = {
        "anna": await create_customer(runtime, clock, "Anna Becker"),
        "lusa": await create_customer(
            runtime,
            clock,
            "Lusa Transportes Lda",
            kind=AccountKind.BUSINESS,
            country="PT",
            vat_id="PT501964843",
            terms=30,
        ),
        "weekly": await create_customer(
            runtime,
            clock,
            "Weekly Fleet GmbH",
            kind=AccountKind.BUSINESS,
            cycle=BillingCycle.WEEKLY,
            terms=7,
        ),
        "quarterly": await create_customer(
            runtime,
            clock,
            "Quarterly Logistik AG",
            kind=AccountKind.BUSINESS,
            cycle=BillingCycle.QUARTERLY,
            terms=21,
        ),
        "prepaid": await create_customer(runtime, clock, "Prepaid Pia", mode=BillingMode.PREPAID),
    }
    a = world.accounts
    de, pt = world.de, world.pt
    specs = {
        # anna, DE 19 %: 10.45 → VAT 1.9855 → 1.99, gross 12.44
        "a1": ChargeSpec(
            de, a["anna"], utc("2026-01-10T13:00"), {"Energy": "9.20", "Time": "1.25"}
        ),
        # Sat 31 Jan 23:50 in Berlin: January. 20.45 → 3.8855 → 3.89, gross 24.34
        "a2": ChargeSpec(de, a["anna"], utc("2026-01-31T22:50"), {"Energy": "20.45"}),
        # Sun 1 Feb 00:10 in Berlin (still 31 Jan in UTC): February. 5.00 → 0.95, gross 5.95
        "a3": ChargeSpec(de, a["anna"], utc("2026-01-31T23:10"), {"Energy": "5.00"}),
        # lusa at the PT site, PT 23 %: 31 Dec 23:30 in Lisbon (1 Jan in Berlin): December.
        # 3.00 → 0.69, gross 3.69
        "l0": ChargeSpec(pt, a["lusa"], utc("2025-12-31T23:30"), {"Energy": "3.00"}),
        # lusa at the DE site: reverse charge (AE, 0 %). 42.50 gross 42.50
        "l1": ChargeSpec(
            de, a["lusa"], utc("2026-01-15T10:00"), {"Energy": "40.00", "Parking": "2.50"}
        ),
        # 31 Jan 23:50 in Lisbon (1 Feb 00:50 in Berlin): January. 8.13 → 1.8699 → 1.87, 10.00
        "l2": ChargeSpec(pt, a["lusa"], utc("2026-01-31T23:50"), {"Energy": "8.13"}),
        # weekly, DE 19 %: ISO weeks 2026-W01 (29 Dec–4 Jan) to W05 (26 Jan–1 Feb)
        "w1": ChargeSpec(de, a["weekly"], utc("2025-12-30T09:00"), {"Energy": "10.00"}),  # W01
        "w2": ChargeSpec(de, a["weekly"], utc("2026-01-07T09:00"), {"Energy": "20.00"}),  # W02
        # Sun 18 Jan 23:30 Berlin → W03; Mon 19 Jan 00:30 Berlin (Sunday in UTC) → W04
        "w3": ChargeSpec(de, a["weekly"], utc("2026-01-18T22:30"), {"Energy": "30.00"}),
        "w4": ChargeSpec(de, a["weekly"], utc("2026-01-18T23:30"), {"Energy": "40.00"}),
        "w5": ChargeSpec(de, a["weekly"], utc("2026-01-28T09:00"), {"Energy": "50.00"}),  # W05
        # quarterly, DE 19 %: 15.00 → 2.85; 31 Mar 23:30 CEST → Q1: 25.00 → 4.75;
        # 1 Apr 00:30 CEST (31 Mar in UTC) → Q2: 1.00 → 0.19
        "q1": ChargeSpec(de, a["quarterly"], utc("2026-01-20T10:00"), {"Energy": "15.00"}),
        "q2": ChargeSpec(de, a["quarterly"], utc("2026-03-31T21:30"), {"Energy": "25.00"}),
        "q3": ChargeSpec(de, a["quarterly"], utc("2026-03-31T22:30"), {"Energy": "1.00"}),
        # prepaid, never invoiced: 6.00 → 1.14
        "p1": ChargeSpec(de, a["prepaid"], utc("2026-01-12T10:00"), {"Energy": "6.00"}),
        # ad hoc payers: DE 4.20 → 0.798 → 0.80, gross 5.00; PT 8.13 → 1.87, gross 10.00
        "h1": ChargeSpec(de, None, utc("2026-01-05T12:00"), {"Energy": "4.20"}),
        "h2": ChargeSpec(pt, None, utc("2026-01-21T18:00"), {"Fixed": "1.00", "Energy": "7.13"}),
    }
    world.charges = await book_charges(runtime, clock, specs)
    return world


# --- reading back --------------------------------------------------------------------------


async def all_documents(runtime: Runtime) -> list[Invoice]:
    async with runtime.uow() as uow:
        page = await uow.billing.list_invoices(InvoiceFilter(), limit=10_000, offset=0)
    return list(page.items)


async def balance_of(runtime: Runtime, account: str, currency: str = "EUR") -> Decimal:
    """Debits minus credits of exactly ``account`` (not its sub-accounts)."""
    async with runtime.uow() as uow:
        found = await uow.ledger.balances(account)
    return sum(
        (b.balance for b in found if b.account == account and b.currency == currency),
        Decimal("0.00"),
    )


async def receivables(runtime: Runtime, account_id: uuid.UUID) -> tuple[Decimal, Decimal]:
    """(Assets:Receivable:<key>, Assets:Receivable:Unbilled:<key>)."""
    return (
        await balance_of(runtime, receivable(account_id)),
        await balance_of(runtime, unbilled(account_id)),
    )


async def ledger_counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.uow() as uow:
        return await uow.ledger.count()


def day(text: str) -> date:
    return date.fromisoformat(text)


# --- running and checking ----------------------------------------------------------------

S, AE = VatCategory.STANDARD, VatCategory.REVERSE_CHARGE
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Council Directive 2006/112/EC, Art. 196)"
)


async def run_month(world: World, label: str, issue: bool = True) -> invoicing.RunResult:
    return await invoicing.run_invoices(
        world.runtime.uow, world.clock, SELLER, OPERATOR_TZ, label, issue=issue
    )


def invoices_of(documents: Sequence[Invoice], account_id: uuid.UUID) -> dict[date, Invoice]:
    found = [i for i in documents if i.account_id == account_id]
    assert all(i.kind is DocumentKind.INVOICE for i in found)
    by_start = {i.period_start: i for i in found}
    assert len(by_start) == len(found), "two invoices for one period"
    return by_start


def expect(
    invoice: Invoice,
    *,
    period: tuple[str, str],
    charges: Sequence[Charge],
    nets: Sequence[str],
    subtotals: Sequence[tuple[VatCategory, str, str, str]],
    gross: str,
    due: str | None,
) -> None:
    assert (invoice.period_start, invoice.period_end) == (day(period[0]), day(period[1]))
    assert [line.charge_id for line in invoice.lines] == [c.id for c in charges]
    assert [line.net for line in invoice.lines] == [d(n) for n in nets]
    note = {AE: REVERSE_CHARGE_NOTE, S: None}
    assert invoice.vat_subtotals == tuple(
        VatSubtotal(cat, d(pct), d(taxable), d(tax), note[cat])
        for cat, pct, taxable, tax in subtotals
    )
    assert invoice.net_total == sum((d(n) for n in nets), Decimal(0))
    assert invoice.gross_total == d(gross)
    assert invoice.due_date == (None if due is None else day(due))


async def credit(
    world: World,
    original: Invoice,
    positions: tuple[int, ...] | None = None,
    net_amount: str | None = None,
) -> Invoice:
    async with world.runtime.uow() as uow:
        kept = await invoicing.issue_credit_note(
            uow,
            world.clock,
            original.id,
            "disputed session",
            OPERATOR_TZ,
            positions=positions,
            net_amount=None if net_amount is None else d(net_amount),
        )
        await uow.commit()
        return kept
