"""Books for the report tests (issue 13): invoices of three months, paid, part-paid, credited,
over-paid and returned through real bank statements, so every report has something to show and
the ledger holds what really happened.

Invoices (19 % VAT, 10.00 net = 11.90 gross; issued on the first working day after the month):

| account | invoice | gross | due | what happened | left |
|---|---|---|---|---|---|
| anna (14 days) | Nov 2025 | 11.90 | 2025-12-15 | credit note of 1.00 net (1.19) | 10.71 |
| anna | Dec 2025 | 23.80 | 2026-01-16 | 5.00 paid by invoice number | 18.80 |
| anna | Jan 2026 | 11.90 | 2026-02-16 | nothing | 11.90 |
| ben (30 days) | Jan 2026 | 35.70 | 2026-03-04 | paid by RF reference | 0 |
| carla (14 days) | Jan 2026 | 11.90 | 2026-02-16 | 23.80 paid: 11.90 is her credit | 0 |
| dora (14 days) | Dec 2025 | 11.90 | 2026-01-16 | paid, then returned (AC04) | 11.90 |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account
from chargeledger.domain.bank_statements import (
    Direction,
    Statement,
)
from chargeledger.domain.invoicing import Invoice
from chargeledger.services.billing import bank_reconciliation as bank
from tests.integration.bank_world import bank_entry, day_statement
from tests.integration.billing_world import (
    OPERATOR_TZ,
    ChargeSpec,
    World,
    book_charges,
    create_customer,
    credit,
    new_world,
    run_month,
    utc,
)


@dataclass
class Receivables:
    world: World
    accounts: dict[str, Account]
    invoices: dict[str, Invoice]  # "anna_nov", "anna_dec", "anna_jan", "ben_jan", ...


async def _import(runtime: Runtime, world: World, statement: Statement) -> None:
    await bank.import_statements(
        runtime.uow,
        runtime.locks,
        world.clock,
        OPERATOR_TZ,
        [statement],
        filename="statement.xml",
        imported_by="finance@example.org",
    )


async def receivables_world(runtime: Runtime) -> Receivables:
    world = await new_world(runtime, utc("2025-12-01T08:00"))
    clock, de = world.clock, world.de
    accounts = {
        "anna": await create_customer(runtime, clock, "Anna Becker"),
        "ben": await create_customer(runtime, clock, "Ben Braun GmbH", terms=30),
        "carla": await create_customer(runtime, clock, "Carla Conti"),
        "dora": await create_customer(runtime, clock, "Dora Dietz"),
    }
    a = accounts
    specs = {
        "anna_nov": ChargeSpec(de, a["anna"], utc("2025-11-10T10:00"), {"Energy": "10.00"}),
        "anna_dec": ChargeSpec(
            de, a["anna"], utc("2025-12-10T10:00"), {"Energy": "15.00", "Time": "5.00"}
        ),
        "anna_jan": ChargeSpec(de, a["anna"], utc("2026-01-10T10:00"), {"Energy": "10.00"}),
        "ben_jan": ChargeSpec(
            de, a["ben"], utc("2026-01-12T10:00"), {"Energy": "25.00", "Parking": "5.00"}
        ),
        "carla_jan": ChargeSpec(de, a["carla"], utc("2026-01-14T10:00"), {"Energy": "10.00"}),
        "dora_dec": ChargeSpec(de, a["dora"], utc("2025-12-16T10:00"), {"Energy": "10.00"}),
    }
    await book_charges(runtime, clock, specs)
    invoices: dict[str, Invoice] = {}
    for month, issued_at, suffix in (
        ("2025-11", "2025-12-01T08:00", "nov"),
        ("2025-12", "2026-01-02T08:00", "dec"),
        ("2026-01", "2026-02-02T08:00", "jan"),
    ):
        clock.current = utc(issued_at)
        run = await run_month(world, month)
        for invoice in run.issued:
            name = next(n for n, acc in accounts.items() if acc.id == invoice.account_id)
            invoices[f"{name}_{suffix}"] = invoice
    await credit(world, invoices["anna_nov"], net_amount="1.00")
    clock.current = utc("2026-02-03T18:00")
    paid = date(2026, 2, 3)
    ref = {name: invoice.payment_reference for name, invoice in invoices.items()}
    await _import(
        runtime,
        world,
        day_statement(
            "2026-02-03",
            paid,
            bank_entry("e1", "35.70", paid, creditor_reference=ref["ben_jan"]),
            bank_entry(
                "e2", "5.00", paid, remittance_unstructured=f"{invoices['anna_dec'].number} part"
            ),
            bank_entry("e3", "23.80", paid, creditor_reference=ref["carla_jan"]),
            bank_entry(
                "e4", "11.90", paid, creditor_reference=ref["dora_dec"], end_to_end_id="E2E-D"
            ),
        ),
    )
    clock.current = utc("2026-02-05T18:00")
    returned = date(2026, 2, 5)
    await _import(
        runtime,
        world,
        day_statement(
            "2026-02-05",
            returned,
            bank_entry(
                "r1",
                "11.90",
                returned,
                direction=Direction.DEBIT,
                reversal=True,
                return_reason="AC04",
                end_to_end_id="E2E-D",
            ),
        ),
    )
    return Receivables(world, accounts, invoices)


OUTSTANDING = {
    "anna_nov": Decimal("10.71"),
    "anna_dec": Decimal("18.80"),
    "anna_jan": Decimal("11.90"),
    "dora_dec": Decimal("11.90"),
}
