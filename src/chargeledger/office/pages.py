"""Rendering of the back office's pages: Jinja2 templates with autoescape always on, every
page under the office's Content-Security-Policy (``api.security_headers.OFFICE_POLICY``) and
never cached (they show money and personal data)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from chargeledger.api.security_headers import OFFICE_POLICY

PAGE_HEADERS = {"Content-Security-Policy": OFFICE_POLICY, "Cache-Control": "no-store"}
ASSETS = {"office.css": "text/css", "favicon.svg": "image/svg+xml"}


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("chargeledger.office", "templates"),
        autoescape=True,  # every template, whatever its name (not select_autoescape)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    template: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def error_page(
    status_code: int,
    code: str,
    title: str,
    message: str,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page for a refused request, with its stable error code (also in ``X-Error-Code``)."""
    context.setdefault("principal", None)
    context.setdefault("csrf", "")
    return render(
        "error.html",
        status_code,
        {"X-Error-Code": code, **(headers or {})},
        code=code,
        title=title,
        message=message,
        **context,
    )


@functools.cache
def asset(name: str) -> bytes:
    return resources.files("chargeledger.office").joinpath("static", name).read_bytes()
