"""The ASGI application: ``create_app()`` is what ``chargeledger serve`` runs."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from chargeledger import __version__
from chargeledger.api.auth import assert_every_route_declares_roles
from chargeledger.api.errors import install_error_handlers
from chargeledger.api.routers import (
    accounts,
    checkout,
    evses,
    identity,
    invoices,
    ledger,
    payments,
    sessions,
    sites,
    stations,
    tariffs,
    tokens,
    webhooks,
)
from chargeledger.api.security_headers import SecurityHeaders
from chargeledger.bootstrap import Runtime, build_runtime, configure_logging
from chargeledger.config import Settings

log = logging.getLogger("chargeledger.api")

API_ROUTERS = tuple(
    m.router
    for m in (
        identity,
        sites,
        stations,
        evses,
        accounts,
        tokens,
        sessions,
        tariffs,
        invoices,
        ledger,
        payments,
    )
)
# Authenticated by other means: PSP webhooks by their signature; the QR checkout is public.
PUBLIC_ROUTERS = (webhooks.router, checkout.router)


def create_app(
    runtime: Runtime | None = None, *, migrate: bool = True, jobs: bool = True
) -> FastAPI:
    """Build the app. Without a runtime it reads settings from the environment, migrates the
    database on start (DESIGN §4: ``serve`` migrates on start) and closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        if owned:
            settings = Settings.from_env()
            configure_logging(settings)
            app.state.runtime = build_runtime(settings)
        if migrate:
            before, after = await app.state.runtime.migrate()
            log.info(
                "database ready",
                extra={
                    "revision_before": before,
                    "revision": after,
                    "backend": app.state.runtime.database_backend,
                },
            )
        tasks = app.state.runtime.start_jobs() if jobs else []
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            if owned:
                await app.state.runtime.aclose()

    app = FastAPI(
        title="chargeledger",
        version=__version__,
        summary="Billing and payments back office for EV charging station operators",
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, relaxed_paths=[path for path in docs if path])
    assert_every_route_declares_roles(API_ROUTERS)
    for router in (*API_ROUTERS, *PUBLIC_ROUTERS):
        app.include_router(router)

    @app.get("/healthz", tags=["health"], summary="Liveness and database check")
    async def healthz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        ok = await rt.ping()
        body = {
            "status": "ok" if ok else "degraded",
            "database": rt.database_backend,
            "version": __version__,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    return app
