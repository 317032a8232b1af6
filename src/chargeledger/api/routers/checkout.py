"""The ad hoc QR checkout: ``/pay/{station}/{evse}`` (EU AFIR art. 5), public by design.

The page shows the price before the start and takes the card through the configured PSP's
card field: the sandbox's ``/sandbox-psp/v1/tokens`` (a ``tok_`` token), or a Stripe.js
Elements card field that creates a PaymentMethod at Stripe (a ``pm_`` id). The card number
goes to the PSP only, our server receives the token. Starting is idempotent per
``Idempotency-Key`` (the page sends one per attempt), so a double tap holds once.

The page runs no inline script: its script and style are files (``/static/checkout/``), and
its Content-Security-Policy allows those and, with Stripe, exactly what Stripe.js needs
(``security_headers.checkout_policy``). Payment pages are never cached (``no-store``).
"""

from __future__ import annotations

import functools
import uuid
from decimal import Decimal
from html import escape
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.idempotency import idempotent
from chargeledger.api.schemas.common import (
    JSON_ERROR_RESPONSES,
    CardMonth,
    CardYear,
    EvseNumber,
    Input,
)
from chargeledger.api.security_headers import checkout_policy
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.text import exact_amount, money_text, plain_number
from chargeledger.errors import ConfigurationError, NotFoundError
from chargeledger.money import Currency
from chargeledger.services.billing.invoice_documents import document_seal
from chargeledger.services.payments.checkout import (
    CheckoutProgress,
    checkout_offer,
    checkout_progress,
    start_checkout,
)
from chargeledger.services.transactions import reading

# The page is HTML and the receipt a PDF; errors are JSON on every route all the same.
router = APIRouter(tags=["checkout"], responses=JSON_ERROR_RESPONSES)
# The EVSE is a number in the path (``{evse:int}``): ``/pay/checkouts/<id>`` is then never
# taken for station "checkouts", EVSE "<id>", so other methods there answer 405, not 422.
Evse = Annotated[EvseNumber, Path()]


class CheckoutIn(Input):
    token: str = Field(min_length=1, max_length=255)


class CardFieldsIn(Input):
    """The PSP's hosted card field (sandbox only): the one place a card number is sent."""

    number: str = Field(min_length=12, max_length=23)
    exp_month: CardMonth
    exp_year: CardYear
    cvc: str = Field(min_length=3, max_length=4)


class CheckoutOut(BaseModel):
    id: uuid.UUID
    status: str
    held: str
    captured: str
    currency: str
    decline_code: str | None
    start: str | None
    session_status: str | None
    energy_kwh: str | None
    receipt_url: str | None

    @classmethod
    def of(cls, progress: CheckoutProgress) -> CheckoutOut:
        """A quarantined session is ``under_review``: no energy figure (its readings are
        what is in doubt) and nothing captured until an operator releases it."""
        session, state = progress.session, progress.state
        energy = None
        session_status = None if session is None else session.status.value
        if session is not None and session.status is SessionStatus.QUARANTINED:
            session_status = "under_review"
        elif session is not None and session.energy_wh is not None:
            energy = plain_number(max(session.energy_wh, Decimal(0)) / 1000, 3)
        receipt = progress.receipt
        return cls(
            id=progress.payment.id,
            status=state.status.value,
            held=_minor_units(state.authorised, progress.payment.currency),
            captured=_minor_units(state.captured, progress.payment.currency),
            currency=progress.payment.currency,
            decline_code=state.decline_code,
            start=progress.start_status,
            session_status=session_status,
            energy_kwh=energy,
            receipt_url=(
                None if receipt is None else f"/pay/checkouts/{progress.payment.id}/receipt.pdf"
            ),
        )


def _minor_units(amount: Decimal, currency: str) -> str:
    """What the driver reads ("Charged 6.25 EUR"): the stored amounts carry four decimals."""
    return exact_amount(amount, currency, Currency.of(currency).minor_units)


NO_STORE = {"Cache-Control": "no-store"}
STRIPE_JS = "https://js.stripe.com/v3"  # always from Stripe, never bundled (Stripe's rule)
ASSETS = {"checkout.js": "text/javascript", "checkout.css": "text/css"}


@functools.cache
def _page(name: str) -> str:
    return resources.files("chargeledger.api.pages").joinpath(name).read_text()


@functools.cache
def _asset(name: str) -> bytes:
    return resources.files("chargeledger.api.pages").joinpath("assets", name).read_bytes()


def _card_field(rt: Runtime) -> dict[str, str]:
    """The configured PSP's card field, its script and what the page's script needs."""
    gateway = rt.payments.default_gateway
    if gateway != "stripe":
        return {
            "{{psp_script}}": "",
            "{{psp_data}}": 'data-gateway="sandbox" data-tokens-url="/sandbox-psp/v1/tokens"',
            "{{card_fields}}": _page("card-sandbox.html"),
        }
    key = rt.settings.payments.stripe_publishable_key
    if not key:
        raise ConfigurationError(
            "set CHARGELEDGER_STRIPE_PUBLISHABLE_KEY for the checkout page",
            code="checkout_not_configured",
        )
    return {
        "{{psp_script}}": f'<script src="{STRIPE_JS}"></script>\n',
        "{{psp_data}}": f'data-gateway="stripe" data-publishable-key="{escape(key)}"',
        "{{card_fields}}": _page("card-stripe.html"),
    }


# Declared before ``/pay/{station}/{evse}``: routes match in order, and ``/pay/checkouts/7``
# would otherwise be taken as station "checkouts", EVSE 7.
@router.get("/pay/checkouts/{payment_id}", summary="How the checkout's session is going")
async def checkout_status(payment_id: uuid.UUID, rt: RuntimeDep, response: Response) -> CheckoutOut:
    response.headers.update(NO_STORE)
    return CheckoutOut.of(await checkout_progress(rt.payments, payment_id))


@router.get("/static/checkout/{name}", include_in_schema=False, summary="The checkout page's files")
async def checkout_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no file {name!r}", code="asset_not_found")
    return Response(
        _asset(name),
        media_type=f"{media_type}; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/pay/{station}/{evse:int}", response_class=HTMLResponse, summary="The QR checkout page"
)
async def checkout_page(station: str, evse: Evse, rt: RuntimeDep) -> HTMLResponse:
    card_field = _card_field(rt)
    async with rt.uow() as uow:
        offer = await checkout_offer(uow, rt.payments, station, evse)
    lines = "".join(f"<li>{escape(line)}</li>" for line in offer.price_lines)
    html = _page("checkout.html")
    for placeholder, value in card_field.items():  # ours first: the rest comes from data
        html = html.replace(placeholder, value)
    html = (
        html.replace("{{station}}", escape(offer.station.charge_point_id))
        .replace("{{evse}}", str(offer.evse_id))
        .replace("{{site}}", escape(offer.site_name))
        .replace("{{address}}", escape(offer.address))
        .replace("{{prices}}", lines)
        .replace("{{hold}}", escape(money_text(offer.hold.amount, offer.hold.currency.code)))
    )
    policy = checkout_policy(rt.payments.default_gateway)
    return HTMLResponse(html, headers={**NO_STORE, "Content-Security-Policy": policy})


@router.post(
    "/pay/{station}/{evse:int}",
    summary="Hold the card and start the EVSE",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckoutOut,
)
async def checkout_start(
    station: str, evse: Evse, body: CheckoutIn, rt: RuntimeDep, request: Request
) -> Response:
    async def work() -> tuple[int, object]:
        progress = await start_checkout(rt.payments, station, evse, body.token)
        return 201, CheckoutOut.of(progress)

    return await idempotent(rt, request, f"checkout:{station}/{evse}", body, work)


@router.get(
    "/pay/checkouts/{payment_id}/receipt.pdf",
    response_class=Response,
    summary="The receipt of an ad hoc session (the payment id is the secret)",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def checkout_receipt(payment_id: uuid.UUID, rt: RuntimeDep) -> Response:
    progress = await checkout_progress(rt.payments, payment_id)
    if progress.receipt is None:
        raise NotFoundError("the receipt is not ready yet", code="receipt_not_ready")
    sealed = await reading(rt.uow, document_seal, progress.receipt)
    return Response(
        rt.documents.pdf(progress.receipt, progress.receipt_signed, sealed),
        media_type="application/pdf",
        headers={
            **NO_STORE,
            "Content-Disposition": f'inline; filename="{progress.receipt.number}.pdf"',
        },
    )


@router.post("/sandbox-psp/v1/tokens", summary="Sandbox PSP: tokenise a test card")
async def sandbox_tokens(body: CardFieldsIn, rt: RuntimeDep) -> dict[str, object]:
    sandbox = rt.sandbox
    if sandbox is None:
        raise NotFoundError("the sandbox PSP is not configured", code="sandbox_not_configured")
    card = await sandbox.tokenise(body.number, body.exp_month, body.exp_year, body.cvc)
    return {"token": card.token, "brand": card.brand, "last4": card.last4}
