"""The accounts pages (issue 16): ``GET /office/accounts`` (search, kind, pagination, CSV) and
``GET /office/accounts/{id}``: the account, its tokens (block/unblock:
``account_token_pages``), its cards (brand and last four only), its wallet and recent wallet
movements, and its statement, with links to its sessions and invoices.

The same use cases and roles as the REST routes: ``customers.list_accounts`` /
``get_account`` / ``list_tokens`` (``/api/v1/accounts``, ``/tokens``: every office role),
``payment_views.account_cards``, ``view_wallet`` and ``wallet_history``
(``/accounts/{id}/payment-methods``, ``/wallet``, ``/wallet/history``: ``ManagePayments``,
which in the office is finance; admin always: an operator sees that they are not theirs) and
``ledger.account_statement`` (``/accounts/{id}/statement``). A search that is an account id
opens that account's row (``get_account``), as the invoices list reads its ``q``.

No card data (DESIGN §2): a stored card is shown by its brand and last four digits, nothing
else of it (not its PSP token) reaches the page.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.text import money_figure
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    PAGE_SIZE,
    choice_filter,
    csv_download,
    page_links,
)
from chargeledger.office.pages import error_page, render
from chargeledger.office.views import local_time
from chargeledger.services import customers
from chargeledger.services.billing import ledger
from chargeledger.services.paging import Page
from chargeledger.services.payments import views as payment_views
from chargeledger.services.payments.wallets import view_wallet, wallet_history
from chargeledger.services.transactions import reading

router = APIRouter()
LIST = "/office/accounts"
TOKENS_SHOWN = 100
WALLET_LINES_SHOWN = 20  # the most recent movements
STATEMENT_LINES_SHOWN = 50  # the most recent lines of each ledger account
# ``ManagePayments`` (cards, wallet) and ``BlockTokens``, as far as they may open the office.
PAYMENT_ROLES = frozenset({Role.FINANCE})
TOKEN_ROLES = frozenset({Role.FINANCE, Role.OPERATOR})
Text = Annotated[str | None, Query(max_length=200)]
COLUMNS = (
    "Account",
    "Name",
    "Kind",
    "E-mail",
    "Reference",
    "Currency",
    "Billing",
    "Created",
)


def row(account: Account, zone: str) -> list[str]:
    """One account as the table and the CSV show it (``COLUMNS``)."""
    return [
        str(account.id),
        account.name,
        account.kind.value,
        account.email,
        account.reference or "",
        str(account.currency),
        f"{account.billing_mode.value} {account.billing_cycle.value}",
        local_time(account.created_at, zone),
    ]


async def _one(
    rt: Runtime, principal: Principal, account_id: uuid.UUID, kind: AccountKind | None
) -> Page[Account]:
    """The account a search by id names, as a page (none if it is not there or not of
    ``kind``)."""
    try:
        account = await reading(rt.uow, customers.get_account, principal, account_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return Page(items=[], next_offset=None)
    shown = kind is None or account.kind is kind
    return Page(items=[account] if shown else [], next_offset=None)


@router.get("/accounts")
async def accounts_list(
    request: Request,
    rt: RuntimeDep,
    q: Text = None,
    kind: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    search, kind_text = (q or "").strip(), kind or ""

    def link(**extra: object) -> str:
        fields = {"q": search, "kind": kind_text, **extra}
        return f"{LIST}?{urlencode({k: v for k, v in fields.items() if v not in ('', None)})}"

    error: InvalidInputError | None = None
    try:
        kind_filter = choice_filter(AccountKind, kind_text, "kind")
    except InvalidInputError as exc:
        error, kind_filter = exc, None
    by_id: uuid.UUID | None = None
    try:
        by_id = uuid.UUID(search) if search else None
    except ValueError:
        by_id = None

    async def page_at(at: int, size: int) -> Page[Account]:
        if by_id is not None:
            return await _one(rt, visitor.principal, by_id, kind_filter)
        return await reading(
            rt.uow,
            customers.list_accounts,
            visitor.principal,
            kind=kind_filter,
            search=search or None,
            limit=size,
            offset=at,
        )

    if format == "csv" and error is None:
        today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
        return csv_download(
            f"accounts-{today}",
            COLUMNS,
            lambda at: page_at(at, CSV_BATCH),
            lambda account: row(account, zone),
        )
    page: Page[Account] = Page(items=[], next_offset=None)
    if error is None:
        page = await page_at(offset, PAGE_SIZE)
    return render(
        "accounts.html",
        422 if error else 200,
        title="Accounts",
        **visitor.context("accounts"),
        q=search,
        kind=kind_text,
        kinds=[k.value for k in AccountKind],
        error=error,
        columns=COLUMNS,
        rows=[(a, row(a, zone)) for a in page.items],
        zone=zone,
        **page_links(link, offset, page.next_offset),
    )


def not_found(visitor: Visitor, error: ChargeledgerError) -> Response:
    return error_page(
        error.http_status,
        error.code,
        "No such account",
        error.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the accounts",
    )


@router.get("/accounts/{account_id}")
async def account_detail(
    account_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    done: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    return await account_page(rt, visitor, account_id, done=done)


async def account_page(
    rt: Runtime,
    visitor: Visitor,
    account_id: uuid.UUID,
    *,
    status_code: int = 200,
    done: str | None = None,
    token_error: dict[str, Any] | None = None,
) -> Response:
    """The detail page (also after a refused token change, ``token_error`` shown)."""
    zone, principal = rt.settings.operator_time_zone, visitor.principal
    try:
        account = await reading(rt.uow, customers.get_account, principal, account_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    now = rt.clock.now()
    tokens = await reading(
        rt.uow, customers.list_tokens, principal, account_id=account_id, limit=TOKENS_SHOWN
    )
    statements = await reading(rt.uow, ledger.account_statement, principal, account_id, None, None)
    payments: dict[str, Any] | None = None
    if principal.role in PAYMENT_ROLES | {Role.ADMIN}:
        payments = await _payments(rt, account)
    currency = str(account.currency)
    return render(
        "account.html",
        status_code,
        title=f"Account {account.name}",
        **visitor.context("accounts"),
        account=account,
        cells=dict(zip(COLUMNS, row(account, zone), strict=True)),
        tokens=[(t, t.status_at(now).value, local_time(t.expires_at, zone)) for t in tokens.items],
        may_block=principal.role in TOKEN_ROLES | {Role.ADMIN},
        payments=payments,
        statements=[
            (s, s.lines[-STATEMENT_LINES_SHOWN:], len(s.lines) > STATEMENT_LINES_SHOWN)
            for s in statements
        ],
        figure=lambda amount, code=currency: money_figure(amount, code),
        sessions_link=f"/office/sessions?{urlencode({'q': str(account.id)})}",
        invoices_link=f"/office/invoices?{urlencode({'q': str(account.id)})}",
        done=done,
        token_error=token_error,
        zone=zone,
    )


async def _payments(rt: Runtime, account: Account) -> dict[str, Any]:
    """Cards (brand and last four only), wallet and its recent movements (driver's view:
    + money in, - money out, as ``GET …/wallet/history``)."""
    cards = await reading(rt.uow, payment_views.account_cards, account.id)
    wallet = await reading(rt.uow, view_wallet, account, rt.payments.wallet_floor)
    history = await reading(rt.uow, wallet_history, account.id)
    recent = history[-WALLET_LINES_SHOWN:][::-1]
    return {
        "cards": [
            {"brand": c.brand, "last4": c.last4, "default": c.is_default, "active": c.active}
            for c in cards
        ],
        "wallet": wallet,
        "movements": [
            (
                entry.booked_on.isoformat(),
                entry.kind.value,
                entry.description,
                -posting.units.amount,
            )
            for entry, posting in recent
        ],
    }
