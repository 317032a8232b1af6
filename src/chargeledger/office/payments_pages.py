"""The payments pages (issue 16): ``GET /office/payments`` lists holds, captures, top-ups and
invoice payments (filters, pagination, CSV) and ``GET /office/payments/{id}`` shows one with
its event log, the session or invoice it paid, its refunds and, for finance, the refund form
(``refund_pages``).

The same use cases as ``GET /api/v1/payments`` and ``/payments/{id}``
(``payments.views.list_payments``, ``visible_payment``) with the same filter type
(``PaymentFilter``), so the page and the API never disagree; the roles of ``ReadBilling``
that may open the office. Filters: status (folded from the events), method, gateway, the
operator's calendar days of creation ("to" includes its whole day), an account id, a
reference (the payment id, its idTag or the PSP's id) and "with refunds only" (the refunds
list). The CSV is streamed page by page, amounts as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.payment_postings import WALLET_GATEWAY
from chargeledger.domain.payments import EventKind, PaymentMethodKind, PaymentStatus
from chargeledger.domain.text import money_figure, money_text
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    PAGE_SIZE,
    choice_filter,
    csv_download,
    day_filter,
    invalid_filter,
    page_links,
)
from chargeledger.office.pages import error_page, render
from chargeledger.office.views import local_time
from chargeledger.services.billing import invoice_documents
from chargeledger.services.paging import Page
from chargeledger.services.payments import views as payment_views
from chargeledger.services.payments.ports import PaymentFilter
from chargeledger.services.payments.views import PaymentDetail
from chargeledger.services.transactions import reading

router = APIRouter()
LIST = "/office/payments"
REFUND_ROLES = frozenset({Role.FINANCE})  # ``WriteBilling`` (admin is implied by ``admit``)
Text = Annotated[str | None, Query(max_length=200)]
COLUMNS = (
    "Payment",
    "Created",
    "Purpose",
    "Method",
    "Gateway",
    "Status",
    "Currency",
    "Captured",
    "Refunded",
    "Refundable",
    "Account",
    "Session",
    "Invoice",
    "PSP reference",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the filter form asked, as typed (to show it again and to link the next page)."""

    status: str = ""
    method: str = ""
    gateway: str = ""
    start: str = ""
    end: str = ""
    account: str = ""
    q: str = ""
    refunded: str = ""

    def query(self, **extra: object) -> str:
        fields: dict[str, object] = {"status": self.status, "method": self.method}
        fields |= {"gateway": self.gateway, "from": self.start, "to": self.end}
        fields |= {"account": self.account, "q": self.q, "refunded": self.refunded, **extra}
        return urlencode({k: v for k, v in fields.items() if v not in ("", None)})

    def criteria(self, zone: str, gateways: list[str]) -> PaymentFilter:
        """The ``PaymentFilter`` asked for; ``invalid_filter`` naming the field that is wrong."""
        tz = ZoneInfo(zone)
        start = day_filter(self.start, "from")
        end = day_filter(self.end, "to")
        if self.gateway and self.gateway not in gateways:
            raise invalid_filter("gateway", f"gateway: one of {', '.join(gateways)}")
        if self.refunded not in ("", "yes"):
            raise invalid_filter("refunded", "refunded: yes, or empty for every payment")
        return PaymentFilter(
            account_id=_account_id(self.account),
            method=choice_filter(PaymentMethodKind, self.method, "method"),
            gateway=self.gateway or None,
            created_from=None if start is None else datetime.combine(start, time(), tz),
            created_before=None
            if end is None
            else datetime.combine(end + timedelta(days=1), time(), tz),
            reference=self.q.strip() or None,
            status=choice_filter(PaymentStatus, self.status, "status"),
            refunded=self.refunded == "yes",
        )


def _account_id(text: str) -> uuid.UUID | None:
    if not text.strip():
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise invalid_filter("account", "account: an account id (UUID)") from None


def gateway_names(rt: Runtime) -> list[str]:
    """The gateways a payment can have: the configured PSPs and the prepaid wallet."""
    return sorted({*rt.payments.gateways, WALLET_GATEWAY})


def row(detail: PaymentDetail, zone: str) -> list[str]:
    """One payment as the table and the CSV show it (``COLUMNS``)."""
    payment, state = detail.payment, detail.state
    currency = str(payment.currency)
    return [
        str(payment.id),
        local_time(payment.created_at, zone),
        payment.purpose.value,
        payment.method.value,
        payment.gateway,
        state.status.value,
        currency,
        money_figure(state.captured, currency),
        money_figure(state.refunded, currency),
        money_figure(state.refundable, currency),
        "" if payment.account_id is None else str(payment.account_id),
        "" if payment.session_id is None else str(payment.session_id),
        "" if payment.invoice_id is None else str(payment.invoice_id),
        state.provider_ref or "",
    ]


@router.get("/payments")
async def payments_list(
    request: Request,
    rt: RuntimeDep,
    status: Text = None,
    method: Text = None,
    gateway: Text = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    account: Text = None,
    q: Annotated[str | None, Query(max_length=255)] = None,
    refunded: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    typed = (status, method, gateway, start, end, account, q, refunded)
    filters = Filters(*(value or "" for value in typed))
    try:
        criteria = filters.criteria(zone, gateway_names(rt))
    except InvalidInputError as exc:
        return _list_page(visitor, rt, filters, [], None, 0, exc)
    if format == "csv":
        return _csv(rt, visitor.principal, criteria, zone)
    page = await reading(
        rt.uow, payment_views.list_payments, visitor.principal, criteria, PAGE_SIZE, offset
    )
    rows = [row(d, zone) for d in page.items]
    return _list_page(visitor, rt, filters, rows, page.next_offset, offset, None)


def _list_page(
    visitor: Visitor,
    rt: Runtime,
    filters: Filters,
    rows: list[list[str]],
    next_offset: int | None,
    offset: int,
    error: InvalidInputError | None,
) -> Response:
    return render(
        "payments.html",
        422 if error else 200,
        title="Refunds" if filters.refunded else "Payments",
        **visitor.context("payments"),
        filters=filters,
        statuses=[s.value for s in PaymentStatus],
        methods=[m.value for m in PaymentMethodKind],
        gateways=gateway_names(rt),
        columns=COLUMNS,
        rows=rows,
        error=error,
        zone=rt.settings.operator_time_zone,
        **page_links(lambda **extra: f"{LIST}?{filters.query(**extra)}", offset, next_offset),
    )


def _csv(rt: Runtime, principal: Principal, criteria: PaymentFilter, zone: str) -> Response:
    async def page_at(offset: int) -> Page[PaymentDetail]:
        return await reading(
            rt.uow, payment_views.list_payments, principal, criteria, CSV_BATCH, offset
        )

    def line(detail: PaymentDetail) -> list[str]:
        return row(detail, zone)

    today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
    return csv_download(f"payments-{today}", COLUMNS, page_at, line)


def not_found(visitor: Visitor, exc: ChargeledgerError) -> Response:
    return error_page(
        404,
        exc.code,
        "No such payment",
        exc.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the payments",
    )


@router.get("/payments/{payment_id}")
async def payment_page(
    payment_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    refunded: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    return await detail_page(rt, visitor, payment_id, notice=refunded == "1")


async def detail_page(
    rt: Runtime,
    visitor: Visitor,
    payment_id: uuid.UUID,
    *,
    status_code: int = 200,
    refund: dict[str, Any] | None = None,
    notice: bool = False,
) -> Response:
    """The payment's page; ``refund``: the refund form as sent (its key, values and error)."""
    zone = rt.settings.operator_time_zone
    try:
        detail = await reading(rt.uow, payment_views.visible_payment, visitor.principal, payment_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    payment, state = detail.payment, detail.state
    document = None
    if payment.session_id is not None:
        document = await reading(
            rt.uow, invoice_documents.session_document, visitor.principal, payment.session_id
        )
    currency = str(payment.currency)
    events = detail.events or []
    refunds = [e for e in events if e.kind in (EventKind.REFUNDED, EventKind.REFUND_FAILED)]
    may_refund = visitor.principal.role in REFUND_ROLES | {Role.ADMIN}
    return render(
        "payment.html",
        status_code,
        title=f"Payment {str(payment.id)[:8]}",
        **visitor.context("payments"),
        payment=payment,
        state=state,
        cells=dict(zip(COLUMNS, row(detail, zone), strict=True)),
        events=events,
        refunds=refunds,
        document=document,
        zone=zone,
        local_time=local_time,
        money=lambda amount: money_text(amount, currency),
        refundable=money_text(state.refundable, currency),
        may_refund=may_refund and state.refundable > 0,
        refund=refund or {"key": once.new_key(), "values": {}, "error": None},
        notice=notice,
    )
