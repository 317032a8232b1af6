"""Dunning blocks an account's tokens at the configured level and lifts the block when the
invoice is paid (issue 13), seen by a real OCPP 1.6 charge point over a real websocket: its
Authorize answers Blocked after the final notice, Accepted while the invoice is disputed,
Blocked again when the dispute ends, and Accepted once a bank transfer matched by the
invoice's RF reference has paid it. A card a person blocked stays Blocked throughout: dunning
never touches a token's own status. SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.outbox import Channel
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing import invoicing
from chargeledger.services.billing.dunning import DunningTerms, run_dunning, set_disputed
from tests.conftest import LoginAs
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    ChargeSpec,
    FixedClock,
    Place,
    book_charges,
    utc,
)
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    BLOCKED_TAG,
    CP16,
    Station16,
    World,
    connected,
    open_world,
)

TERMS = DunningTerms(time_zone=OPERATOR_TZ)  # the default schedule: level 3 blocks


async def invoiced(world: World, clock: FixedClock) -> Invoice:
    """January's charging of the driver's account, invoiced on 2 February (due the 16th)."""
    runtime = world.runtime
    station = world.network.stations[CP16]
    async with runtime.uow() as uow:
        site = await uow.sites.get(station.site_id)
    assert site is not None
    spec = ChargeSpec(
        Place(site, station), world.network.account, utc("2026-01-15T10:00"), {"Energy": "10.00"}
    )
    await book_charges(runtime, clock, {"january": spec})
    run = await invoicing.run_invoices(runtime.uow, clock, SELLER, OPERATOR_TZ, "2026-01")
    [invoice] = run.issued
    return invoice


async def dun(runtime: Runtime, clock: FixedClock, day: str) -> list[int | None]:
    clock.current = utc(f"{day}T09:00")
    async with runtime.uow() as uow:
        report = await run_dunning(uow, clock, TERMS)
        await uow.commit()
    return [n.level for n in report.notices]


async def authorize(station: Station16, tag: str) -> str:
    answer = await station.request(call.Authorize(id_tag=tag))
    return str(answer.id_tag_info["status"])


async def dispute(runtime: Runtime, clock: FixedClock, invoice: Invoice, disputed: bool) -> None:
    clock.current = clock.current.replace(hour=clock.current.hour + 1)
    async with runtime.uow() as uow:
        await set_disputed(uow, clock, OPERATOR_TZ, invoice.id, disputed, "finance@example.org")
        await uow.commit()


async def pay_by_transfer(runtime: Runtime, clock: FixedClock, invoice: Invoice) -> None:
    """The bank statement of the day: the gross with the invoice's RF reference."""
    statement = (
        "account_iban,booking_date,amount,currency,counterparty_name,creditor_reference\n"
        f"{SELLER.iban},2026-03-24,{invoice.gross_total},EUR,Driver One,"
        f"{invoice.payment_reference}\n"
    ).encode()
    report = await bank.import_statement_file(
        runtime.uow,
        runtime.locks,
        clock,
        OPERATOR_TZ,
        runtime.statements,
        statement,
        filename="statement.csv",
        imported_by="test",
    )
    assert report.matched == 1


async def test_final_notice_blocks_tokens_and_payment_unblocks_them(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    clock = FixedClock(utc("2026-02-02T08:00"))
    async with open_world(runtime, client, login_as) as world:
        invoice = await invoiced(world, clock)
        async with connected(world.url, Station16) as station:
            assert await dun(runtime, clock, "2026-02-23") == [1]
            assert await dun(runtime, clock, "2026-03-09") == [2]
            assert await authorize(station, ACTIVE_TAG) == "Accepted"  # level 2 blocks nothing
            assert await dun(runtime, clock, "2026-03-23") == [3]  # the final notice
            assert await authorize(station, ACTIVE_TAG) == "Blocked"
            await dispute(runtime, clock, invoice, True)
            assert await authorize(station, ACTIVE_TAG) == "Accepted"
            await dispute(runtime, clock, invoice, False)
            assert await authorize(station, ACTIVE_TAG) == "Blocked"
            assert await authorize(station, BLOCKED_TAG) == "Blocked"
            await pay_by_transfer(runtime, clock, invoice)
            assert await authorize(station, ACTIVE_TAG) == "Accepted"
            assert await authorize(station, BLOCKED_TAG) == "Blocked"  # a person's block stays
        async with runtime.uow() as uow:  # announced with the events they tell of
            events = await uow.outbox.due([Channel.EVENT], utc("2100-01-01T00:00"), 100)
        assert sorted(e.notice.topic for e in events) == [
            "dunning.notice",
            "dunning.notice",
            "dunning.notice",
            "invoice.issued",
            "payment.received",
        ]
        history = await world.get(f"/invoices/{invoice.id}/dunning")
        assert [(e["level"], e["tokens_blocked"]) for e in history if e["kind"] == "notice"] == [
            (1, False),
            (2, False),
            (3, True),
        ]
