"""Ad hoc QR checkout (EU AFIR art. 5: ad hoc payment and the price shown before the start).

The driver scans the EVSE's QR code and lands on ``/pay/{station}/{evse}``: the price per
kWh, per minute and any session fee, incl. VAT, from the tariff the session would get; the
hold that will be placed. The card goes to the PSP's own card field and comes back as a
token; with it we hold the quote of the maximum session, then remote-start the EVSE with a
one-off idTag that names the payment. The stop captures the price and issues the receipt,
which the same page offers for download.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from chargeledger.domain.billing import supply_vat, vat_note
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import Session
from chargeledger.domain.evidence import SignedBySession
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.payment_routes import AD_HOC_ID_TAG_PREFIX
from chargeledger.domain.payments import (
    Operation,
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentState,
    PaymentStatus,
)
from chargeledger.domain.station_link import CommandKind, StationCommand
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.domain.tariffs.display import price_display
from chargeledger.errors import NotFoundError
from chargeledger.money import Money
from chargeledger.services.billing.invoice_documents import signed_data_of
from chargeledger.services.billing.invoicing import session_receipt
from chargeledger.services.catalog import get_site
from chargeledger.services.charging.station_commands import send_command
from chargeledger.services.payments._operations import payment_lock, run_operation, state_of
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.methods import payment_session
from chargeledger.services.payments.session_payments import hold_for
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.tariffs import tariff_for_session

ID_TAG_PREFIX = AD_HOC_ID_TAG_PREFIX  # + 16 hex digits: 18 characters (1.6 CiString20)


@dataclass(frozen=True, slots=True)
class CheckoutOffer:
    station: Station
    evse_id: int
    site_name: str
    address: str
    tariff: StoredTariff
    price_lines: list[str]
    hold: Money
    time_zone: str


@dataclass(frozen=True, slots=True)
class CheckoutProgress:
    payment: Payment
    state: PaymentState
    session: Session | None
    receipt: Invoice | None
    start_status: str | None = None
    # The signed meter values of the receipt's session, for the annex of its PDF (issue 15).
    receipt_signed: SignedBySession = field(default_factory=dict)


async def checkout_offer(
    uow: UnitOfWork, ctx: PaymentContext, charge_point_id: str, evse_id: int
) -> CheckoutOffer:
    station = await uow.stations.get_by_charge_point_id(charge_point_id)
    evse = None
    if station is not None:
        evse = await uow.evses.get_by_station_evse(station.id, evse_id)
    if station is None or evse is None:
        raise NotFoundError(f"no EVSE {charge_point_id}/{evse_id}", code="evse_not_found")
    site = await get_site(uow, station.site_id)
    now = ctx.clock.now()
    stored = await tariff_for_session(uow, station, evse_id, 1, None, now)
    if stored is None:
        raise NotFoundError("no tariff applies to this EVSE", code="no_tariff")
    address = site.address
    # An ad hoc payer is nobody's account: the site's standard VAT, as on the receipt.
    vat = supply_vat(ctx.rates, address.country, site.time_zone, now, None)
    return CheckoutOffer(
        station=station,
        evse_id=evse_id,
        site_name=site.name,
        address=f"{address.street}, {address.postal_code} {address.city}",
        tariff=stored,
        price_lines=price_display(stored.tariff, vat.percent, vat_note(vat)),
        hold=hold_for(ctx, stored.tariff, now, site, None),
        time_zone=site.time_zone,
    )


async def start_checkout(
    ctx: PaymentContext, charge_point_id: str, evse_id: int, card_token: str
) -> CheckoutProgress:
    """Hold the maximum session's price on the tokenised card, then start the EVSE."""
    async with ctx.uow() as uow:
        offer = await checkout_offer(uow, ctx, charge_point_id, evse_id)
        payment = Payment(
            purpose=PaymentPurpose.SESSION,
            method=PaymentMethodKind.CARD,
            gateway=ctx.default_gateway,
            currency=offer.hold.currency,
            id_tag=f"{ID_TAG_PREFIX}{secrets.token_hex(8).upper()}",
            method_token=card_token,
            evse=f"{charge_point_id}/{evse_id}",
        )
        await uow.payments.add(payment, ctx.clock.now())
        await uow.commit()
    hold = offer.hold
    async with payment_lock(ctx, payment.id):
        result = await run_operation(
            ctx,
            payment,
            Operation.AUTHORISE,
            hold.amount,
            lambda gw, key: gw.authorise(
                amount=hold,
                method_token=card_token,
                idempotency_key=key,
                reference=str(payment.id),
            ),
        )
    start_status = None
    if result is not None and not result.decline_code and ctx.bus is not None:
        command = StationCommand(CommandKind.REMOTE_START, evse_id=evse_id, id_tag=payment.id_tag)
        try:
            start_status = (await send_command(ctx.uow, ctx.bus, offer.station.id, command)).status
        except Exception:
            start_status = "Unreachable"
        if start_status != "Accepted":
            await _release(ctx, payment, result.provider_ref or "")
    progress = await checkout_progress(ctx, payment.id)
    return CheckoutProgress(
        progress.payment, progress.state, progress.session, progress.receipt, start_status
    )


async def _release(ctx: PaymentContext, payment: Payment, provider_ref: str) -> None:
    """The station did not start: the hold goes back at once (not after ``UNUSED_HOLD``)."""
    async with payment_lock(ctx, payment.id):
        await run_operation(
            ctx,
            payment,
            Operation.RELEASE,
            Decimal(0),
            lambda gw, key: gw.release(provider_ref=provider_ref, idempotency_key=key),
        )


async def checkout_progress(ctx: PaymentContext, payment_id: uuid.UUID) -> CheckoutProgress:
    async with ctx.uow() as uow:
        payment = await uow.payments.get(payment_id)
        if payment is None or payment.method is not PaymentMethodKind.CARD:
            raise NotFoundError("no such checkout", code="checkout_not_found")
        state = await state_of(uow, payment)
        session = await payment_session(uow, payment)
        receipt = None if session is None else await session_receipt(uow, session.id)
        signed = {} if receipt is None else await signed_data_of(uow, receipt)
    return CheckoutProgress(payment, state, session, receipt, receipt_signed=signed)


async def authorised_checkout(uow: UnitOfWork, id_tag: str) -> Payment | None:
    """The checkout an ad hoc idTag belongs to, while its hold stands (Authorize)."""
    if not id_tag.startswith(ID_TAG_PREFIX):
        return None
    payment = await uow.payments.by_id_tag(id_tag)
    if payment is None:
        return None
    state = await state_of(uow, payment)
    return payment if state.status is PaymentStatus.AUTHORISED else None
