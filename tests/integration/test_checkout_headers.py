"""Security headers of the QR checkout page and of every response (issue 11 item 4).

The page is public and asks for a card: it must not be framable (clickjacking of "Pay and
start charging"), run nothing it did not bring itself (a strict Content-Security-Policy, no
inline script: its script and style are files), not be sniffed into another type, not leak
its URL in a Referer, and pin HTTPS (HSTS) once it was reached over TLS - also behind a
proxy whose ``X-Forwarded-Proto`` uvicorn trusts. Over the real app (ASGI) and a real
uvicorn server on loopback, with the sandbox PSP configured.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime
from tests.integration.ocpp_server import running_server
from tests.integration.ocpp_support import CP16
from tests.integration.payment_world import priced_network

PAY = f"/pay/{CP16}/1"
SANDBOX_POLICY = {
    "default-src": {"'none'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'"},
    "connect-src": {"'self'"},
    "form-action": {"'none'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'none'"},
}


def policy(response: httpx.Response) -> dict[str, set[str]]:
    """The Content-Security-Policy as directive -> sources."""
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: set(d[1:]) for d in directives if d}


@pytest.fixture
async def priced(runtime: Runtime) -> Runtime:
    await priced_network(runtime)
    return runtime


def assert_common(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_checkout_page_has_a_strict_policy_and_no_inline_script(
    priced: Runtime, client: httpx.AsyncClient
) -> None:
    page = await client.get(PAY)
    assert page.status_code == 200, page.text
    assert_common(page)
    assert policy(page) == SANDBOX_POLICY
    assert page.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in page.headers  # plain HTTP: HSTS means nothing
    html = page.text
    assert re.findall(r"<script\b[^>]*>", html) == [
        '<script src="/static/checkout/checkout.js" defer>'
    ]
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers either
    assert "js.stripe.com" not in html
    assert 'data-gateway="sandbox"' in html
    assert 'data-tokens-url="/sandbox-psp/v1/tokens"' in html
    for path, media_type in (
        ("/static/checkout/checkout.js", "text/javascript"),
        ("/static/checkout/checkout.css", "text/css"),
    ):
        asset = await client.get(path)
        assert asset.status_code == 200, asset.text
        assert asset.headers["content-type"].startswith(media_type)
        assert_common(asset)
    missing = await client.get("/static/checkout/checkout.html")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "asset_not_found")


async def test_every_response_gets_the_safe_headers(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """JSON (and its errors) may load and run nothing and be framed by no one; the API docs
    (Swagger UI runs inline scripts from a CDN) are only kept out of frames."""
    for path in ("/healthz", "/api/v1/sites", "/pay/checkouts/not-a-uuid"):
        response = await client.get(path)
        assert_common(response)
        assert policy(response)["default-src"] == {"'none'"}
        assert policy(response)["frame-ancestors"] == {"'none'"}
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert_common(docs)
    assert policy(docs) == {"frame-ancestors": {"'none'"}}


async def test_hsts_only_over_tls(priced: Runtime, client: httpx.AsyncClient) -> None:
    """Over https, and behind a proxy uvicorn trusts (its own proxy-headers middleware, as
    ``serve`` runs it); an untrusted client claiming https gets none."""
    app = create_app(priced, migrate=False)
    over_tls = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=over_tls, base_url="https://pay.example") as http:
        page = await http.get(PAY)
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert (await http.get("/healthz")).headers["strict-transport-security"]
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    for client_host, expected in (("127.0.0.1", True), ("203.0.113.9", False)):
        transport = httpx.ASGITransport(app=proxied, client=(client_host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://pay.example") as http:
            page = await http.get(PAY, headers={"X-Forwarded-Proto": "https"})
            assert page.status_code == 200
            assert ("strict-transport-security" in page.headers) is expected, client_host


@pytest.fixture
async def served(priced: Runtime) -> AsyncIterator[str]:
    async with running_server(priced) as url:
        yield url.removeprefix("ws://").removesuffix("/ocpp")


async def test_hsts_behind_a_local_proxy_of_a_real_uvicorn_server(served: str) -> None:
    """uvicorn trusts X-Forwarded-Proto from 127.0.0.1 by default (FORWARDED_ALLOW_IPS)."""
    async with httpx.AsyncClient(base_url=f"http://{served}") as http:
        direct = await http.get(PAY)
        proxied = await http.get(PAY, headers={"X-Forwarded-Proto": "https"})
    assert direct.status_code == proxied.status_code == 200
    assert "strict-transport-security" not in direct.headers
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"
    assert policy(proxied) == SANDBOX_POLICY
