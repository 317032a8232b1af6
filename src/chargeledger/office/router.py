"""The back office's routes under ``/office`` (issue 16): login, logout, the overview and
the office's own static files; the page groups (``sessions_pages``, ``quarantine_pages``,
``invoices_pages``, ``export_pages``, ``bank_import_pages`` …: every ``*_pages`` module
imported below) are included here, each a router of its own, every page behind
``guard.admit``. Thin: authentication is ``services.identity`` (as ``POST
/api/v1/auth/token``), figures come from ``services.office_overview``.

Errors are pages, not JSON: a refused POST (no or a wrong CSRF token) is a 403 page with the
code ``csrf_failed``; a role that may not see the office a 403 page ``permission_denied``; a
throttled login a 429 page with ``Retry-After``. A request without a valid session is sent to
the login page (303).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.auth import issue_access_token
from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.identity import client_host
from chargeledger.errors import AuthenticationError, NotFoundError, RetryLaterError
from chargeledger.office import (
    account_token_pages,
    accounts_pages,
    bank_entry_pages,
    bank_import_pages,
    bank_pages,
    contract_pages,
    contract_sign_pages,
    credit_note_pages,
    dispute_pages,
    dispute_resolve_pages,
    dunning_pages,
    export_pages,
    invoice_run_pages,
    invoices_pages,
    ledger_pages,
    payments_pages,
    quarantine_pages,
    refund_pages,
    reports_pages,
    session,
    sessions_pages,
    station_command_pages,
    station_page,
    stations_pages,
    tariff_assign_pages,
    tariffs_pages,
)
from chargeledger.office.guard import LOGIN, admit, csrf_failed, to_login
from chargeledger.office.overview_page import aging_context, overview_context
from chargeledger.office.pages import ASSETS, asset, error_page, render
from chargeledger.services import identity

router = APIRouter(prefix=session.PREFIX, include_in_schema=False)

WRONG_LOGIN = "Wrong user name or password."
FormText = Annotated[str, Form(max_length=320)]
OptionalFormText = Annotated[str | None, Form(max_length=200)]


@router.get("/static/{name}")
async def office_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no file {name!r}", code="asset_not_found")
    charset = "; charset=utf-8" if media_type.startswith("text/") else ""
    return Response(
        asset(name),
        media_type=media_type + charset,
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/login")
async def login_form(request: Request, rt: RuntimeDep) -> Response:
    response = Response()
    nonce = session.login_nonce(request, response)
    page = render(
        "login.html",
        title="Log in",
        principal=None,
        csrf=session.login_csrf(rt, nonce),
        error=None,
        username="",
    )
    page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
    return page


@router.post("/login")
async def login(
    request: Request,
    rt: RuntimeDep,
    username: FormText = "",
    password: FormText = "",
    csrf: OptionalFormText = None,
) -> Response:
    nonce = request.cookies.get(session.cookie_name(request, session.LOGIN_NONCE))
    if not nonce or not session.csrf_matches(session.login_csrf(rt, nonce), csrf):
        return csrf_failed()
    try:
        user = await identity.authenticate_user(
            rt.uow, rt.hasher, rt.logins, username, password, client_host(request)
        )
    except AuthenticationError:
        return render(
            "login.html",
            401,
            title="Log in",
            principal=None,
            csrf=session.login_csrf(rt, nonce),
            error=WRONG_LOGIN,
            username=username,
        )
    except RetryLaterError as exc:
        return error_page(
            exc.http_status,
            exc.code,
            "Too many attempts" if exc.http_status == 429 else "Please wait",
            f"Too many login attempts. Try again in {exc.retry_after} seconds."
            if exc.http_status == 429
            else f"The server is busy. Try again in {exc.retry_after} seconds.",
            {"Retry-After": str(exc.retry_after)},
            back=LOGIN,
            back_label="Back to the login",
        )
    token, lifetime = issue_access_token(rt, user)
    response = RedirectResponse(session.PREFIX, status_code=303)
    session.start_session(request, response, token, lifetime)
    return response


@router.post("/logout")
async def logout(request: Request, rt: RuntimeDep, csrf: OptionalFormText = None) -> Response:
    token = session.session_token(request)
    if token is None:
        return to_login()
    try:
        expected = session.session_csrf(rt, token)
    except AuthenticationError:
        # An expired or forged cookie: it has no CSRF token to check and gives no access;
        # clearing it is all a logout can do, whoever asked.
        expected = None
    if expected is not None and not session.csrf_matches(expected, csrf):
        return csrf_failed()
    response = to_login()
    session.end_session(request, response)
    return response


@router.get("")
async def overview(request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    context = await overview_context(rt)
    context |= await aging_context(rt, visitor.principal)
    return render("overview.html", title="Overview", **visitor.context("overview"), **context)


router.include_router(sessions_pages.router)
router.include_router(quarantine_pages.router)
router.include_router(invoices_pages.router)
router.include_router(credit_note_pages.router)
router.include_router(invoice_run_pages.router)
router.include_router(payments_pages.router)
router.include_router(refund_pages.router)
router.include_router(ledger_pages.router)
router.include_router(reports_pages.router)
router.include_router(dispute_pages.router)
router.include_router(dispute_resolve_pages.router)
router.include_router(bank_pages.router)
router.include_router(bank_entry_pages.router)
router.include_router(dunning_pages.router)
router.include_router(contract_pages.router)
router.include_router(contract_sign_pages.router)
router.include_router(stations_pages.router)
router.include_router(station_page.router)
router.include_router(station_command_pages.router)
router.include_router(tariffs_pages.router)
router.include_router(tariff_assign_pages.router)
router.include_router(accounts_pages.router)
router.include_router(account_token_pages.router)
router.include_router(export_pages.router)
router.include_router(bank_import_pages.router)
