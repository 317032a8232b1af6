"""``/healthz``: liveness with the database's answer (DESIGN §4; issue 17 for its cost).

Load balancers and ``chargeledger serve``'s operators read it as "this process serves and its
database answers": 200 ``ok``, or 503 ``degraded`` when the database does not answer. The
database's answer is at most ``PING_MAX_AGE_SECONDS`` old: one ping at a time serves every
probe that arrives meanwhile, so a load balancer polling hard, or a flood of probes, costs the
database one ``SELECT 1`` a second instead of one per probe. An outage shows within that bound,
and so does the recovery. ``HealthProbes`` answers probes in front of the router; the route
(the app's first) documents it and answers wherever the middleware is not in place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from chargeledger import __version__
from chargeledger.bootstrap import Runtime

PATH = "/healthz"
PING_MAX_AGE_SECONDS = 1.0


class RecentAnswer:
    """The answer of an async yes/no check, reused while it is younger than ``max_age``
    seconds; when it is older, the first caller runs the check and the others await that one
    run (shielded: a caller that goes away does not cancel it for the rest)."""

    def __init__(self, max_age: float, now: Callable[[], float] = time.monotonic) -> None:
        self._max_age = max_age
        self._now = now
        self._answer: bool | None = None
        self._answered_at = 0.0
        self._running: asyncio.Future[bool] | None = None

    async def __call__(self, check: Callable[[], Awaitable[bool]]) -> bool:
        if self._answer is not None and self._now() - self._answered_at < self._max_age:
            return self._answer
        if self._running is None:
            self._running = asyncio.ensure_future(self._ask(check))
        return await asyncio.shield(self._running)

    async def _ask(self, check: Callable[[], Awaitable[bool]]) -> bool:
        try:
            answer = await check()
            self._answer, self._answered_at = answer, self._now()
            return answer
        finally:
            self._running = None


class Health:
    """The app's ``/healthz`` answer: status code and body, the database's answer shared."""

    def __init__(self) -> None:
        self._database = RecentAnswer(PING_MAX_AGE_SECONDS)

    async def answer(self, runtime: Runtime) -> JSONResponse:
        ok = await self._database(runtime.ping)
        body = {
            "status": "ok" if ok else "degraded",
            "database": runtime.database_backend,
            "version": __version__,
        }
        return JSONResponse(body, status_code=200 if ok else 503)


def health_router(health: Health) -> APIRouter:
    """``/healthz`` as a route: what the OpenAPI document shows, and the answer wherever
    ``HealthProbes`` does not stand in front of the router."""
    router = APIRouter()

    @router.get(
        PATH,
        tags=["health"],
        summary="Liveness and database check",
        responses={503: {"description": "The database does not answer"}},
    )
    async def healthz(request: Request) -> JSONResponse:
        return await health.answer(request.app.state.runtime)

    return router


class HealthProbes:
    """Pure ASGI middleware answering ``GET /healthz`` in front of the router, with the same
    answer as the route. Placed inside the access log and the security headers, so a probe is
    logged and gets the headers like any request, but it skips the routing, dependency and
    exception layers, which were most of a probe's cost (issue 17)."""

    def __init__(self, app: ASGIApp, health: Health) -> None:
        self.app = app
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            response = await self.health.answer(scope["app"].state.runtime)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
