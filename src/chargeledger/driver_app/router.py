"""The driver app's routes under ``/app`` (issue 16): the shell page, its module scripts and
stylesheet, the web app manifest, the icon and the service worker. No data is rendered here:
the page calls ``/api/v1/...`` with the driver's bearer token, as any API client does.

Every answer carries ``APP_POLICY`` (``api.security_headers``); the service worker's too, since
a worker runs under the policy of its own script. The page lives at ``/app/`` (``/app``
redirects there) so that the worker at ``/app/sw.js`` has the scope ``/app/`` that covers it
(Service Workers §scope: a worker controls the paths under its script's directory). The files
are revalidated on every load (``no-cache``): the worker serves them when offline.
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from chargeledger.api.security_headers import APP_POLICY
from chargeledger.errors import NotFoundError

PREFIX = "/app"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

# What may be asked for, with its media type (W3C Web App Manifest §1.3 for the manifest's).
ASSETS = {
    "app.css": "text/css",
    "app.js": "text/javascript",
    "api.js": "text/javascript",
    "locate.js": "text/javascript",
    "map.js": "text/javascript",
    "sessions.js": "text/javascript",
    "charge.js": "text/javascript",
    "reserve.js": "text/javascript",
    "wallet.js": "text/javascript",
    "problem.js": "text/javascript",
    "sw.js": "text/javascript",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
}
HEADERS = {"Content-Security-Policy": APP_POLICY, "Cache-Control": "no-cache"}


@functools.cache
def _file(name: str) -> bytes:
    return resources.files("chargeledger.driver_app").joinpath("static", name).read_bytes()


def _answer(name: str, media_type: str) -> Response:
    charset = "; charset=utf-8" if not media_type.startswith("image/") else ""
    return Response(_file(name), media_type=media_type + charset, headers=HEADERS)


@router.get("")
async def app_root() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=308)


@router.get("/")
async def app_shell() -> Response:
    return _answer("index.html", "text/html")


@router.get("/{name}")
async def app_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no file {name!r}", code="asset_not_found")
    return _answer(name, media_type)
