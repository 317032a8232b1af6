"""Every error leaves the API as ``{"error": {"code", "message", ...}}`` with a stable code.

Unhandled exceptions become the 500 body in the access log middleware (``access_log.py``),
which logs them once with the request id.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from chargeledger.api.schemas.common import CODED_ERRORS
from chargeledger.errors import ChargeledgerError, RetryLaterError

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


# The methods a 405's ``Allow`` may name (HEAD and OPTIONS are not routes of this API).
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChargeledgerError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    if isinstance(exc, RetryLaterError):
        headers = {"Retry-After": str(exc.retry_after)}  # RFC 9110 §10.2.3: whole seconds
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.http_status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"field": "", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    # A bound in the schema reports the code the domain gives the same mistake.
    kind = str(first.get("type", ""))
    code = kind if kind in CODED_ERRORS else "invalid_request"
    return JSONResponse(
        error_body(code, message, field=first["field"] or None, details={"errors": problems}),
        status_code=422,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (RFC 9110 §15.5.6: a 405 lists them all).

    The router alone names only the methods of the first route whose path matched, so a path
    served by two routes (``GET`` and ``PUT .../wallet``) would advertise half of them.
    """
    scope = request.scope
    probe = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**probe, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers or None
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ChargeledgerError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
