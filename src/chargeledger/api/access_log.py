"""The access log and request ids (issue 11 item 18): a pure ASGI middleware, outermost.

Every HTTP response is logged once, as the client got it (413s of the body limit and 500s
included), with method, path, status, duration and the request id. The id is the client's
``X-Request-ID`` when it is safe to log (at most 128 of ``A-Z a-z 0-9 . _ : + / = -``),
otherwise a new one; it is echoed on every response. An unhandled exception becomes the API's
500 body here, and its traceback is logged exactly once, with the request id: nothing is
re-raised to the server, which would log it a second time.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargeledger.api.errors import error_body

log = logging.getLogger("chargeledger.api")

HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


# A fresh id is this process's random prefix and a count: unique across processes and
# restarts as a uuid4 is, without the system call for 16 random bytes that ``uuid4`` makes on
# every request (issue 17). The id names a request in the logs; it is not a secret and needs
# no unpredictability.
_PROCESS_PREFIX = secrets.token_hex(8)
_issued = itertools.count(1)


def _new_prefix_after_fork() -> None:
    """A forked worker must not repeat its parent's ids."""
    global _PROCESS_PREFIX, _issued
    _PROCESS_PREFIX, _issued = secrets.token_hex(8), itertools.count(1)


os.register_at_fork(after_in_child=_new_prefix_after_fork)


def request_id(scope: Scope) -> str:
    """The client's id if it is safe to echo and log, else a fresh one (32 hex digits)."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return text
            break
    return f"{_PROCESS_PREFIX}{next(_issued):016x}"


def internal_error(rid: str) -> JSONResponse:
    return JSONResponse(
        error_body(
            "internal_error",
            "an unexpected error occurred; quote the request id when you report it",
            details={"request_id": rid},
        ),
        status_code=500,
    )


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        began = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        where = {"request_id": rid, "method": scope["method"], "path": scope["path"]}
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra=where)
            if status is None:  # else the server ends the half-sent response
                await internal_error(rid)(scope, receive, send_with_id)
        finally:
            duration = round((time.perf_counter() - began) * 1000, 2)
            log.info("request", extra={**where, "status": status or 500, "duration_ms": duration})
