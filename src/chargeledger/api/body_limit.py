"""Request body limits (DESIGN §6; issue 11 item 3): a pure ASGI middleware.

Every HTTP request body is limited to ``CHARGELEDGER_MAX_BODY_BYTES`` (1 MiB by default). A
route that takes more, or less, says so with ``openapi_extra=body_limit(n)``, which also
publishes the limit in the OpenAPI document (``x-max-body-bytes``).

The limit is applied where the body is read, after routing has chosen the route: a
``Content-Length`` above it is refused with 413 ``payload_too_large`` before the first byte
is read; a body without one (chunked) or with a lying one is counted as it arrives, and
reading stops at the chunk that passes the limit, so the server never buffers more than the
limit plus the one chunk the transport handed over. The 413 closes the connection
(``Connection: close``), so the server does not read the rest of the body either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargeledger.api.errors import error_body

LIMIT_KEY = "x-max-body-bytes"


def body_limit(max_bytes: int) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose bodies may be ``max_bytes`` long."""
    return {LIMIT_KEY: max_bytes}


class PayloadTooLargeError(StarletteHTTPException):
    """Raised where the body is read; an HTTPException, so body parsing passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        error_body(
            "payload_too_large",
            f"the request body is larger than the {limit} bytes this endpoint takes",
            details={"limit_bytes": limit},
        ),
        status_code=413,
        headers={"Connection": "close"},
    )


async def payload_too_large_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PayloadTooLargeError)
    return too_large(exc.limit)


def _content_length(scope: Scope) -> int | None:
    """The declared length; an unreadable one counts as none (the body is counted instead)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _declared_limit(scope: Scope) -> int | None:
    extra = getattr(scope.get("route"), "openapi_extra", None) or {}
    limit = extra.get(LIMIT_KEY)
    return limit if isinstance(limit, int) else None


class BodyLimitMiddleware:
    """Refuses request bodies above the limit; ``default_limit`` is read per request."""

    def __init__(self, app: ASGIApp, default_limit: Callable[[], int]) -> None:
        self.app = app
        self.default_limit = default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        limit: int | None = None
        started = False

        async def limited_receive() -> Message:
            nonlocal received, limit
            if limit is None:  # first read: routing is done, the route's limit is known
                route_limit = _declared_limit(scope)
                limit = self.default_limit() if route_limit is None else route_limit
                length = _content_length(scope)
                if length is not None and length > limit:
                    raise PayloadTooLargeError(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLargeError(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except PayloadTooLargeError as error:
            if started:
                raise
            await too_large(error.limit)(scope, receive, send)
