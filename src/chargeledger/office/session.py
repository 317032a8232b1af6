"""The back office's session cookie and CSRF tokens (issue 16).

The cookie holds the same signed JWT ``POST /api/v1/auth/token`` issues, for as long; the
principal is resolved from it exactly as from a bearer token (``api.auth.principal_from_jwt``),
so a deactivated user or a changed role takes effect on the next page. The cookie is HttpOnly
and SameSite=Strict; over https it is ``Secure`` and named ``__Host-…``, which browsers accept
only with ``Path=/`` (RFC 6265bis §4.1.3.2), over plain HTTP it is scoped to ``Path=/office``.

CSRF (OWASP CSRF cheat sheet, "signed double-submit"): every POST form carries
HMAC-SHA256(server secret, purpose ‖ session id) — the JWT's ``jti`` once logged in, a random
nonce in a short-lived cookie on the login form — and a POST without the right one is refused.
The server secret is the JWT signing key the runtime keeps.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from chargeledger.api.auth import access_token_claims
from chargeledger.bootstrap import Runtime

PREFIX = "/office"
SESSION = "office_session"
LOGIN_NONCE = "office_login"
LOGIN_NONCE_SECONDS = 3600


def over_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, name: str) -> str:
    return f"__Host-{name}" if over_tls(request) else name


def _set(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    tls = over_tls(request)
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/" if tls else PREFIX,
        secure=tls,
        httponly=True,
        samesite="strict",
    )


def _clear(request: Request, response: Response, name: str) -> None:
    tls = over_tls(request)
    response.delete_cookie(
        cookie_name(request, name),
        path="/" if tls else PREFIX,
        secure=tls,
        httponly=True,
        samesite="strict",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION)) or None


def start_session(request: Request, response: Response, token: str, lifetime: int) -> None:
    _set(request, response, SESSION, token, lifetime)
    _clear(request, response, LOGIN_NONCE)


def end_session(request: Request, response: Response) -> None:
    _clear(request, response, SESSION)


def login_nonce(request: Request, response: Response) -> str:
    """The login form's nonce: the one in the request's cookie, or a new one set on it."""
    nonce = request.cookies.get(cookie_name(request, LOGIN_NONCE))
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        _set(request, response, LOGIN_NONCE, nonce, LOGIN_NONCE_SECONDS)
    return nonce


def csrf_token(runtime: Runtime, purpose: str, session_id: str) -> str:
    key = runtime.jwt_secret.encode()
    message = f"office-csrf:{purpose}:{session_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def session_csrf(runtime: Runtime, token: str) -> str:
    """The CSRF token of a logged-in session (the token must already be verified)."""
    claims = access_token_claims(runtime, token)
    return csrf_token(runtime, "session", str(claims.get("jti") or token))


def login_csrf(runtime: Runtime, nonce: str) -> str:
    return csrf_token(runtime, "login", nonce)


def csrf_matches(expected: str, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(expected.encode(), sent.encode())
