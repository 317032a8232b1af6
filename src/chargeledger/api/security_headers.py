"""Security headers on every HTTP response (issue 11 item 4), and the policies of the checkout
page and of the back office's pages (``OFFICE_POLICY``, issue 16).

Every response gets ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``
(a checkout's URL is its secret; it must not travel to other sites), ``X-Frame-Options:
DENY`` and, unless the route set its own, a Content-Security-Policy that lets the response
load and run nothing and be framed by no one. Two kinds of responses get only
``frame-ancestors 'none'``: the interactive API docs (Swagger UI and ReDoc run inline scripts
from a CDN) and PDFs (browsers' PDF viewers are plugins a ``default-src 'none'`` would block).
``Strict-Transport-Security`` is sent only on requests that came over TLS: scheme ``https``,
which is also what uvicorn's proxy headers make of ``X-Forwarded-Proto: https`` from a
trusted proxy (``FORWARDED_ALLOW_IPS``); over plain HTTP the header means nothing (RFC 6797
§8.1) and would pin a host that cannot serve TLS.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOTHING = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
NOT_FRAMED = "frame-ancestors 'none'"
HSTS = "max-age=31536000"  # a year; no includeSubDomains: the operator's other hosts are theirs

# The back office's pages (issue 16): our stylesheet and images (the charts are inline SVG, so
# need nothing), no script at all, forms that post only to us, never framed.
OFFICE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

_CHECKOUT = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'none'",  # the script posts; the form itself never submits
    "frame-ancestors": "'none'",  # no clickjacking of "Pay and start charging"
    "base-uri": "'none'",
}
# What Stripe.js and its Elements card field need, per Stripe's integration security guide:
# the script from js.stripe.com (its frames' scripts from subdomains), the card field's
# frames, hooks.stripe.com for 3-D Secure, and api.stripe.com for createPaymentMethod.
_STRIPE = {
    "script-src": "https://js.stripe.com https://*.js.stripe.com",
    "frame-src": "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
    "connect-src": "https://api.stripe.com",
}


def checkout_policy(gateway: str) -> str:
    """The QR checkout page's Content-Security-Policy: its own script and style files only
    (no inline script), plus exactly what Stripe.js needs when Stripe takes the card."""
    directives = dict(_CHECKOUT)
    if gateway == "stripe":
        for name, sources in _STRIPE.items():
            own = directives.get(name)
            directives[name] = f"{own} {sources}" if own and own != "'none'" else sources
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


class SecurityHeaders:
    """Pure ASGI middleware (no request body buffering); ``relaxed_paths`` are the docs."""

    def __init__(self, app: ASGIApp, relaxed_paths: Iterable[str]) -> None:
        self.app = app
        self.relaxed_paths = frozenset(relaxed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = scope.get("scheme") == "https"
        relaxed = scope.get("path") in self.relaxed_paths

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                pdf = headers.get("content-type", "").startswith("application/pdf")
                headers.setdefault(
                    "Content-Security-Policy", NOT_FRAMED if relaxed or pdf else NOTHING
                )
                if over_tls:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)


# The driver app (``/app``, issue 16): its own module scripts and stylesheet only (no inline
# script or style, no third party), API calls to us only, the web app manifest and the service
# worker from us. The map is SVG built in the page's DOM, so needs no image source but ours.
APP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
