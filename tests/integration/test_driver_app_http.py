"""The driver app's files over HTTP (issue 16): the shell at ``/app/`` under a strict
Content-Security-Policy (own scripts and style only, no inline script, API calls to us only),
the web app manifest and the service worker with their media types, every file the page, the
modules and the worker name is served, nothing comes from a third party; the theme's text
colours have the contrast WCAG 2.1 SC 1.4.3 asks (4.5:1)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from chargeledger.driver_app.router import ASSETS

APP_POLICY = {
    "default-src": {"'none'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'"},
    "connect-src": {"'self'"},
    "manifest-src": {"'self'"},
    "worker-src": {"'self'"},
    "form-action": {"'none'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'none'"},
}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # static files: the storage is not involved


def policy(response: httpx.Response) -> dict[str, set[str]]:
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: set(d[1:]) for d in directives if d}


async def test_app_redirects_to_the_shell_under_the_workers_scope(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/app")
    assert answer.status_code == 308
    assert answer.headers["location"] == "/app/"


async def test_the_shell_has_a_strict_policy_and_no_inline_script_or_style(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/app/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert policy(page) == APP_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""]  # one script, a module file, nothing inline
    assert '<script type="module" src="/app/app.js">' in html
    assert not re.search(r"\son\w+=", html)  # no inline event handlers
    assert "style=" not in html
    assert "<style" not in html
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in html
    # every input has its label
    for field in re.findall(r'<(?:input|select)\b[^>]*\bid="([^"]+)"', html):
        assert html.count(f'<label for="{field}">') == 1, field


async def test_every_file_is_ours_with_its_type_and_the_policy(client: httpx.AsyncClient) -> None:
    page = (await client.get("/app/")).text
    named = set(re.findall(r'(?:src|href)="/app/([^"]+)"', page))
    modules: set[str] = set()
    for name, media_type in ASSETS.items():
        answer = await client.get(f"/app/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"].split(";")[0] == media_type, name
        assert policy(answer) == APP_POLICY, name  # the worker runs under its script's policy
        text = answer.text.replace(SVG_NAMESPACE, "")
        assert "http://" not in text, name  # no third party, no CDN
        assert "https://" not in text, name
        modules |= set(re.findall(r'from "\./([^"]+)"', text))
    assert named <= set(ASSETS)
    assert modules <= set(ASSETS)
    missing = await client.get("/app/secrets.py")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "asset_not_found"


async def test_the_manifest_makes_the_app_installable(client: httpx.AsyncClient) -> None:
    answer = await client.get("/app/manifest.webmanifest")
    assert answer.headers["content-type"] == "application/manifest+json; charset=utf-8"
    manifest = json.loads(answer.text)
    assert manifest["start_url"] == manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["name"]
    assert manifest["short_name"]
    for icon in manifest["icons"]:
        served = await client.get(icon["src"])
        assert served.status_code == 200
        assert served.headers["content-type"] == icon["type"] == "image/svg+xml"


async def test_the_service_worker_caches_every_file_of_the_shell(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/app/sw.js")
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"  # a new worker is seen at once
    shell = re.search(r"const SHELL = \[(.*?)\];", answer.text, re.S)
    assert shell is not None
    paths = set(re.findall(r'"(/app/[^"]*)"', shell.group(1)))
    assert paths == {"/app/"} | {f"/app/{name}" for name in ASSETS if name != "sw.js"}
    for path in paths:
        assert (await client.get(path)).status_code == 200, path


async def test_the_app_is_not_part_of_the_api_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/app")]


def luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_the_themes_text_has_enough_contrast(client: httpx.AsyncClient) -> None:
    css = (await client.get("/app/app.css")).text
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", css))
    white = "#ffffff"
    assert colours["on-brand"] == white
    pairs = {  # text on background, as app.css uses them
        "ink on white": (colours["ink"], white),
        "muted on white": (colours["muted"], white),
        "errors on white": (colours["bad"], white),
        "available on white": (colours["ok"], white),
        "bar and buttons": (colours["on-brand"], colours["brand"]),
    }
    for name, (text, background) in pairs.items():
        assert contrast(text, background) >= 4.5, name
