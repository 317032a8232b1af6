"""Records of every chained type, made through the use cases (issue 15), for the audit chain
tests: the standard billing world's charges and accruals (``billing_world``), January's invoice
run (invoices, receipts and their entries), a credit note, a wallet top-up through the sandbox
PSP (a payment with its events and entry) and a signed meter value; then raw SQL to tamper
with them the way someone with the database's password could."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db.audit_tables import audit_chain
from chargeledger.adapters.db.tables import signed_meter_values
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import ReadingContext
from chargeledger.domain.invoicing import DocumentKind, Invoice
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.services.payments.wallets import top_up
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    World,
    all_documents,
    credit,
    run_month,
    standard_world,
    utc,
)
from tests.integration.payment_world import card_for

OCMF = (
    'OCMF|{"FV":"1.0","GI":"KEBA_KCP30","GS":"17619300","GV":"2.8.5","PG":"T32","MV":"Phoenix",'
    '"MS":"1000001","IS":true,"IL":"VERIFIED","IF":["RFID_PLAIN"],"IT":"ISO14443","ID":"04A1",'
    '"RD":[{"TM":"2026-01-10T13:00:00,000+0000 S","TX":"B","RV":0,"RI":"1-b:1.8.0","RU":"kWh",'
    '"ST":"G"}]}|{"SD":"3045022100aa"}'
)


@dataclass
class AuditWorld:
    runtime: Runtime
    world: World
    invoice: Invoice  # an issued invoice of the run
    credit_note: Invoice
    signed_value_id: int

    @property
    def engine(self) -> AsyncEngine:
        return self.runtime._factory.engine


async def audit_world(runtime: Runtime) -> AuditWorld:
    world = await standard_world(runtime)
    await run_month(world, "2026-01")
    invoice = next(d for d in await all_documents(runtime) if d.kind is DocumentKind.INVOICE)
    note = await credit(world, invoice, net_amount="1.00")
    runtime.payments.seller = SELLER
    runtime.payments.time_zone = OPERATOR_TZ
    prepaid = world.accounts["prepaid"]
    card = await card_for(runtime, prepaid)
    await top_up(runtime.payments, prepaid, Decimal("20.00"), card, uuid.uuid4())
    await runtime.quiesce()
    signed = SignedMeterValue(
        timestamp=utc("2026-01-10T13:40"),
        context=ReadingContext.TRANSACTION_END,
        format="OCMF",
        data=OCMF,
        signing_method="ECDSA-secp256r1-SHA256",
        encoding_method="OCMF",
        public_key="3059301306072a8648ce3d020106082a8648ce3d03010703420004aa",
    )
    async with runtime.uow() as uow:
        await uow.sessions.add_signed_value(world.charges["a1"].session_id, signed)
        await uow.sessions.add_signed_value(world.charges["a1"].session_id, signed)  # replayed
        await uow.commit()
    async with runtime._factory.engine.connect() as connection:
        signed_id = int((await connection.execute(select(signed_meter_values.c.id))).scalar_one())
    return AuditWorld(runtime, world, invoice, note, signed_id)


async def chained(runtime: Runtime) -> dict[str, int]:
    """How many records of each type the chain holds."""
    query = select(audit_chain.c.record_type, func.count()).group_by(audit_chain.c.record_type)
    async with runtime._factory.engine.connect() as connection:
        return {row[0]: int(row[1]) for row in await connection.execute(query)}


async def chain_rows(runtime: Runtime, record_type: str) -> list[Any]:
    query = (
        select(audit_chain)
        .where(audit_chain.c.record_type == record_type)
        .order_by(audit_chain.c.seq)
    )
    async with runtime._factory.engine.connect() as connection:
        return list((await connection.execute(query)).mappings())


async def tamper(runtime: Runtime, *statements: Any) -> None:
    """Raw statements in one transaction of their own, past every repository and use case."""
    async with runtime._factory.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)


def seqs(rows: Sequence[Any]) -> list[int]:
    return [row["seq"] for row in rows]
