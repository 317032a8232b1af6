"""Revision 0010 stores each session's payment route; for the sessions stored before it, the
backfill must give the route the code decided until then from the account's state: the same
one ``decide_payment_route`` gives at the start. Sessions are started through the service,
the column dropped (downgrade to 0009) and upgraded again, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from alembic import command
from sqlalchemy import Connection

from chargeledger.adapters.db import tables
from chargeledger.adapters.db.migrate import alembic_config
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import BillingMode, TokenType
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.services.charging import session_capture as capture
from tests.integration.ocpp_server import seed_network
from tests.integration.payment_world import add_customer, card_for
from tests.integration.test_migrations import diff_against, engine_of

APP_WITH_CARD, APP_WITHOUT_CARD = "APP0000001", "APP0000002"
PREPAID_RFID, POSTPAID_RFID = "04PREPAID1", "04POSTPAID"


async def test_the_backfill_gives_every_stored_session_the_route_decided_at_its_start(
    runtime: Runtime,
) -> None:
    network = await seed_network(runtime)
    station = network.stations["CP16-AC"]
    app = await add_customer(runtime, "App", APP_WITH_CARD, TokenType.APP, BillingMode.POSTPAID)
    await card_for(runtime, app)
    await add_customer(runtime, "No card", APP_WITHOUT_CARD, TokenType.APP, BillingMode.POSTPAID)
    prepaid = await add_customer(
        runtime, "Prepaid", PREPAID_RFID, TokenType.RFID, BillingMode.PREPAID
    )
    await card_for(runtime, prepaid)  # a card does not make a prepaid account pay by card
    await add_customer(runtime, "Postpaid", POSTPAID_RFID, TokenType.RFID, BillingMode.POSTPAID)
    expected = {
        "QR0123456789ABCDEF": PaymentRoute.CHECKOUT_CARD,
        "qr0123456789abcdef": PaymentRoute.WALK_IN,  # the checkout's prefix is upper-case
        "04NOBODY01": PaymentRoute.WALK_IN,
        None: PaymentRoute.WALK_IN,
        APP_WITH_CARD: PaymentRoute.APP_CARD,
        APP_WITHOUT_CARD: PaymentRoute.INVOICE,
        PREPAID_RFID: PaymentRoute.WALLET,
        POSTPAID_RFID: PaymentRoute.INVOICE,
    }
    decided = {}
    async with runtime.uow() as uow:
        for minutes, id_tag in enumerate(expected):
            request = capture.StartRequest(
                evse_id=1 + minutes % 2,
                connector_id=1,
                id_tag=id_tag,
                started_at=runtime.clock.now() + timedelta(minutes=minutes),
                meter_start_wh=Decimal(1000),
            )
            session = await capture.start_session(uow, runtime.clock, station, request)
            decided[session.id] = session.id_tag
        await uow.commit()
    assert await routes(runtime, decided) == expected

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0009")

    async with engine_of(runtime).begin() as connection:
        await connection.run_sync(downgrade)
    before, _ = await runtime.migrate()
    assert before == "0009"
    assert await routes(runtime, decided) == expected
    assert await diff_against(runtime, tables.metadata) == []


async def routes(
    runtime: Runtime, sessions: dict[uuid.UUID, str | None]
) -> dict[str | None, PaymentRoute]:
    """The stored route of each session, by the idTag it started with."""
    found = {}
    async with runtime.uow() as uow:
        for session_id, id_tag in sessions.items():
            stored = await uow.sessions.get(session_id)
            assert stored is not None
            found[id_tag] = stored.payment_route
    return found
