"""The one gate every back-office page passes (issue 16): session cookie → principal → role
→ CSRF for a POST. A page asks ``admit`` and either gets the visitor or the answer to send.

Why one gate: each page group must refuse exactly as the API refuses (DESIGN §6), and a
page that forgot a step would be a hole. Refusals: no or an expired session → the login page
(303, the stale cookie cleared); a role the page is not for → a 403 page
``permission_denied``; a POST without this session's CSRF token → a 403 page ``csrf_failed``
(OWASP CSRF cheat sheet, signed double-submit; see ``session``).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.auth import principal_from_jwt
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal, Role
from chargeledger.errors import AuthenticationError
from chargeledger.office import session
from chargeledger.office.pages import error_page

# Who may open the back office (the roles of the API's reports and operations routes).
OFFICE_ROLES = frozenset({Role.ADMIN, Role.FINANCE, Role.OPERATOR})
LOGIN = f"{session.PREFIX}/login"
NOT_A_POST = object()  # ``admit``'s ``csrf`` for a GET: nothing to check


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is looking, and the CSRF token every form of their pages carries."""

    principal: Principal
    csrf: str

    def context(self, active: str) -> dict[str, Any]:
        """What ``base.html`` needs: the principal, the logout form's token, the nav entry."""
        return {"principal": self.principal, "csrf": self.csrf, "active": active}


def csrf_failed() -> Response:
    return error_page(
        403,
        "csrf_failed",
        "Request refused",
        "This form was not sent from your current session. Reload the page and try again.",
    )


def to_login() -> Response:
    return RedirectResponse(LOGIN, status_code=303)


async def admit(
    request: Request,
    rt: Runtime,
    roles: Set[Role] = OFFICE_ROLES,
    *,
    csrf: object = NOT_A_POST,
) -> Visitor | Response:
    """The visitor, or the refusal to answer with (see the module docstring). ``roles``: the
    page's, the same as its API route's (admin is always one). ``csrf``: the form's token,
    for a POST."""
    token = session.session_token(request)
    if token is None:
        return to_login()
    try:
        async with rt.uow() as uow:
            principal = await principal_from_jwt(rt, uow, token)
    except AuthenticationError:
        response = to_login()
        session.end_session(request, response)
        return response
    expected = session.session_csrf(rt, token)
    if csrf is not NOT_A_POST and not session.csrf_matches(expected, csrf):
        return csrf_failed()
    if principal.role not in roles | {Role.ADMIN}:
        return error_page(
            403,
            "permission_denied",
            "Not for your role",
            f"This page is for {', '.join(sorted(r.value for r in roles))}; role "
            f"{principal.role.value} may not open it.",
            principal=principal,
            csrf=expected,
            back=LOGIN,
            back_label="Log in as someone else",
        )
    return Visitor(principal, expected)
