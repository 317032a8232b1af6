"""OCPI 2.2.1 on the wire (§4): the response envelope, status codes, errors and paging.

Every answer of the OCPI routes is the envelope ``{data, status_code, status_message,
timestamp}`` (§4.1.7), also when something failed: a partner's client reads ``status_code``,
not our REST API's ``{"error": ...}``. HTTP statuses follow §4.1.3 and the status codes
chapter: 401 for an unknown token, 404 for an unknown object, 405 for a second registration,
400 for parameters we cannot use; ``status_code`` then says which (2001, 2003, ...).
``X-Request-ID`` and ``X-Correlation-ID`` are answered as they came (§4.1.1). Where there is no
data (a refusal, a DELETE) ``data`` is an empty list: the spec leaves it open, and clients
built on typed models (extrawest-ocpi's, for one) refuse a missing or null ``data``.

Numbers leave as JSON numbers with every digit of their Decimal (``domain.exact_json``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from chargeledger.domain.exact_json import dumps, utc_text
from chargeledger.errors import (
    AuthenticationError,
    ChargeledgerError,
    InvalidInputError,
    NotFoundError,
)

SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
UNKNOWN_LOCATION = 2003
SERVER_ERROR = 3000
UNABLE_TO_USE_CLIENT_API = 3001
UNSUPPORTED_VERSION = 3002

# Codes of our errors that have an OCPI status of their own.
_OCPI_STATUS = {
    "partner_unreachable": UNABLE_TO_USE_CLIENT_API,
    "unsupported_ocpi_version": UNSUPPORTED_VERSION,
    "location_not_found": UNKNOWN_LOCATION,
}
_ECHOED = ("X-Request-ID", "X-Correlation-ID")


def wire_time(value: datetime) -> str:
    """§16.2 DateTime: UTC with Z, to the second (at most 25 characters)."""
    return utc_text(value)


def envelope(
    request: Request,
    data: Any,
    *,
    status_code: int = SUCCESS,
    message: str = "Success",
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "data": data,
        "status_code": status_code,
        "status_message": message,
        "timestamp": wire_time(datetime.now(UTC)),
    }
    text = dumps(body)
    answer = Response(text, status_code=http_status, media_type="application/json")
    for name in _ECHOED:
        if name in request.headers:
            answer.headers[name] = request.headers[name][:255]
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    return answer


def error_envelope(request: Request, exc: Exception) -> Response:
    """Our errors as OCPI answers (module docstring)."""
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return envelope(
            request, [], status_code=INVALID_PARAMETERS, message=message, http_status=400
        )
    if not isinstance(exc, ChargeledgerError):
        raise exc
    status = _OCPI_STATUS.get(exc.code)
    http = exc.http_status
    if isinstance(exc, AuthenticationError):
        status, http = status or CLIENT_ERROR, 401
    elif isinstance(exc, NotFoundError):
        status, http = status or CLIENT_ERROR, 404
    elif isinstance(exc, InvalidInputError):
        status, http = status or INVALID_PARAMETERS, 400
    elif status is None:
        status = CLIENT_ERROR if http < 500 else SERVER_ERROR
    if status in (UNABLE_TO_USE_CLIENT_API, UNSUPPORTED_VERSION):
        http = 200  # our server works; the partner's could not be used (§ status codes 3xxx)
    return envelope(
        request, [], status_code=status, message=f"{exc.code}: {exc.message}", http_status=http
    )


class OcpiRoute(APIRoute):
    """A route whose every failure is an OCPI envelope (see ``error_envelope``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except (ChargeledgerError, RequestValidationError) as exc:
                return error_envelope(request, exc)

        return answer


def page_headers(
    request: Request, total: int, offset: int, limit: int, shown: int
) -> dict[str, str]:
    """§4.1.5 paginated answers: ``X-Total-Count``, ``X-Limit`` and a ``Link`` to the next
    page (with the request's own filters) while there is one."""
    headers = {"X-Total-Count": str(total), "X-Limit": str(limit)}
    if offset + shown < total:
        following = request.url.include_query_params(offset=offset + shown, limit=limit)
        headers["Link"] = f'<{following}>; rel="next"'
    return headers


def paged(items: Sequence[Any], offset: int, limit: int) -> list[Any]:
    return list(items[offset : offset + limit])
