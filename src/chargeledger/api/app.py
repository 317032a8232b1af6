"""The ASGI application: ``create_app()`` is what ``chargeledger serve`` runs."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chargeledger import __version__
from chargeledger.api.access_log import AccessLogMiddleware
from chargeledger.api.auth import assert_every_route_declares_roles, document_security
from chargeledger.api.body_limit import (
    BodyLimitMiddleware,
    PayloadTooLargeError,
    payload_too_large_handler,
)
from chargeledger.api.errors import install_error_handlers
from chargeledger.api.health import Health, HealthProbes, health_router
from chargeledger.api.ocpi import OCPI_ROUTERS
from chargeledger.api.routers import (
    accounts,
    audit,
    bank,
    checkout,
    contract_performance,
    contracts,
    disputes,
    driver_charging,
    dunning,
    evses,
    identity,
    invoices,
    ledger,
    locations,
    meter_keys,
    outbox,
    payments,
    payouts,
    reports,
    repricings,
    reservations,
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
from chargeledger.config.collector import collect_less_often
from chargeledger.driver_app.router import router as driver_app_router
from chargeledger.office.router import router as office_router

log = logging.getLogger("chargeledger.api")

# Routes are matched in this order, and every router tried before the one that matches costs
# a request about 8 us (issue 17): the routers of the requests that come most often, while
# sessions charge (the office's and the fleets' session lists, the driver app's live view),
# come first. No two routers have a path in common, so the order decides nothing else.
API_ROUTERS = tuple(
    m.router
    for m in (
        sessions,
        driver_charging,
        identity,
        sites,
        stations,
        evses,
        locations,
        reservations,
        meter_keys,
        accounts,
        tokens,
        repricings,
        tariffs,
        invoices,
        ledger,
        payments,
        bank,
        payouts,
        reports,
        outbox,
        dunning,
        contracts,
        contract_performance,
        disputes,
        audit,
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
        if jobs:  # a serving node: it joins the others on PostgreSQL (issue 18)
            await app.state.runtime.bus.start()
        tasks = app.state.runtime.start_jobs() if jobs else []
        if owned:
            # What the process built to start lives as long as it does: frozen out of the
            # cyclic collector's full passes, which otherwise walk all of it every few large
            # pages (issue 16: the office's slowest requests, ~170 ms more, were those passes).
            gc.freeze()
            # Collections of the young generations less often (issue 17, config/collector.py):
            # with the default 700 objects, what a message holds while it waits for its
            # group's commit is promoted to the oldest generation, whose growth then starts
            # full passes over every connection's objects (13 of 0.35-1.2 s in a 20 s
            # reconnect storm of 2,000 stations in bench/ocpp_scale.py; none with these).
            collect_less_often()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # A job cancelled inside a database call unwinds through that call: the engine is
            # closed only once every job has stopped, or the process can hang on exit.
            await asyncio.gather(*tasks, return_exceptions=True)
            await app.state.runtime.bus.aclose()
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
    app.add_exception_handler(PayloadTooLargeError, payload_too_large_handler)
    assert_every_route_declares_roles(API_ROUTERS)
    # First: probes are the most frequent request, and routes are matched in order.
    health = Health()
    app.include_router(health_router(health))
    for router in (*API_ROUTERS, *PUBLIC_ROUTERS):
        app.include_router(router)
    # The operator back office's pages (issue 16): a session cookie, not the API's roles
    # declarations; its own role rule is office/guard.OFFICE_ROLES.
    app.include_router(office_router)
    # Roaming partners (issue 18): OCPI's own tokens and envelopes, not the API's roles.
    for router in OCPI_ROUTERS:
        app.include_router(router)
    # The driver app (issue 16): static files only; the page calls the API above with a token.
    app.include_router(driver_app_router)
    document_security(app, API_ROUTERS)

    # Outermost last: the access log sees every answer, the body limit's 413s included, and
    # the security headers go on every answer, the access log's own 500s included.
    app.add_middleware(BodyLimitMiddleware, default_limit=lambda: _settings(app).max_body_bytes)
    # Probes are answered here, inside the access log and the headers (api/health.py).
    app.add_middleware(HealthProbes, health=health)
    app.add_middleware(AccessLogMiddleware)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, relaxed_paths=[path for path in docs if path])

    return app


def _settings(app: FastAPI) -> Settings:
    runtime: Runtime = app.state.runtime
    return runtime.settings
