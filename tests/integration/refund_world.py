"""A captured app-card session to refund, built through the real services (no OCPP): one DC
station with the flat tariff (0.49/kWh + 0.35 per session, VAT 19 %), a postpaid account whose
app token has a stored sandbox card, an 80 kWh session held, stopped and settled.

80 kWh cost 39.20 + 0.35 = 39.55 net, 47.06 gross: the captured amount and its receipt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import BillingMode, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
)
from chargeledger.domain.charging import Measurand, MeterSample
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import DocumentKind, Invoice
from chargeledger.domain.ledger import EntryKind
from chargeledger.domain.payments import EventKind, Payment, PaymentState, fold
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import catalog, tariffs
from chargeledger.services.billing.invoicing import session_receipt
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payments.context import HoldPolicy
from chargeledger.services.payments.methods import session_payment
from chargeledger.services.payments.session_payments import secure_session, settle_session
from tests.integration.billing_world import SELLER
from tests.integration.payment_world import add_customer, card_for

CAPTURED = Decimal("47.06")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Captured:
    payment: Payment
    receipt: Invoice
    provider_ref: str


async def captured_session(runtime: Runtime, tag: str = "APPREFUND1") -> Captured:
    """An app-card session of 80 kWh, captured for 47.06 with its receipt issued."""
    runtime.payments.seller = SELLER
    runtime.payments.time_zone = "Europe/Berlin"
    runtime.payments.hold = HoldPolicy(kwh=Decimal(80))  # the whole session fits the first hold
    clock = runtime.clock
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name="Refund depot",
                address=Address("Ring 1", "10115", "Berlin", "DE"),
                latitude=Decimal("52.5"),
                longitude=Decimal("13.4"),
                time_zone="Europe/Berlin",
            ),
        )
        fields = {
            "site_id": site.id,
            "charge_point_id": f"RF-{uuid.uuid4().hex[:8]}",
            "vendor": "Test",
            "model": "T1",
            "security_profile": 3,
        }
        station = await catalog.create_station(uow, clock, runtime.station_secrets, fields, None)
        plug = Connector(
            1,
            ConnectorStandard.IEC_62196_T2_COMBO,
            ConnectorFormat.CABLE,
            PowerType.DC,
            Decimal(150),
        )
        await catalog.create_evse(uow, clock, Evse(station.id, 1, (plug,)))
        stored = await tariffs.import_tariff(uow, clock, flat_with_session_fee(Decimal(19)))
        await tariffs.assign_tariff(
            uow, clock, stored.id, TariffScope.STATION, str(station.id), runtime.settings.vat_rates
        )
        await uow.commit()
    account = await add_customer(runtime, "Refund Driver", tag, TokenType.APP, BillingMode.POSTPAID)
    await card_for(runtime, account)
    start = capture.StartRequest(
        evse_id=1, connector_id=1, id_tag=tag, started_at=T0, meter_start_wh=Decimal(0)
    )
    async with runtime.uow() as uow:
        session = await capture.start_session(uow, clock, station, start)
        await uow.commit()
    await secure_session(runtime.payments, session.id)
    async with runtime.uow() as uow:
        register = MeterSample(
            T0 + timedelta(minutes=30), Measurand.ENERGY_IMPORT_REGISTER, Decimal(40_000), "Wh"
        )
        await capture.add_meter_values(uow, clock, session, [register])
        await uow.commit()
    async with runtime.uow() as uow:
        current = await uow.sessions.get(session.id)
        assert current is not None
        await capture.stop_session(
            uow,
            clock,
            current,
            stopped_at=T0 + timedelta(hours=1),
            meter_stop_wh=Decimal(80_000),
            reason="Local",
        )
        await uow.commit()
    await settle_session(runtime.payments, session.id)
    await runtime.quiesce()
    async with runtime.uow() as uow:
        payment = await session_payment(uow, session)
        receipt = await session_receipt(uow, session.id)
        assert payment is not None
        assert receipt is not None
        state = fold(await uow.payments.events(payment.id))
    assert (state.captured, receipt.gross_total) == (CAPTURED, CAPTURED), state
    assert state.provider_ref is not None
    return Captured(payment, receipt, state.provider_ref)


@dataclass(frozen=True)
class Refunds:
    """What a payment's refunds left behind, on our side and at the PSP."""

    state: PaymentState
    events: list[Decimal]  # the amount of each ``refunded`` event
    at_psp: list[Decimal]  # the amount of each refund the PSP made
    credit_notes: list[Invoice]
    ledger_refunds: int  # refund journal entries of the payment


async def refunds_of(runtime: Runtime, captured: Captured) -> Refunds:
    await runtime.quiesce()
    sandbox = runtime.sandbox
    assert sandbox is not None
    # The PSP's own record of the payment.
    [hold] = [h for h in await sandbox.holds() if h.provider_ref == captured.provider_ref]
    async with runtime.uow() as uow:
        events = await uow.payments.events(captured.payment.id)
        notes = await uow.billing.credit_notes_of(captured.receipt.id)
        entries = await uow.ledger.entries()
    prefix = f"{captured.payment.id}:"
    return Refunds(
        state=fold(events),
        events=[e.amount for e in events if e.kind is EventKind.REFUNDED],
        at_psp=[amount for _, amount in hold.refunds],
        credit_notes=[n for n in notes if n.kind is DocumentKind.CREDIT_NOTE],
        ledger_refunds=sum(
            1 for e in entries if e.kind is EntryKind.REFUND and e.source_id.startswith(prefix)
        ),
    )
