"""OCPI 2.2.1 as a CPO (issue 18): the edge roaming partners call, under ``/ocpi``."""

from __future__ import annotations

from chargeledger.api.ocpi.cdrs import router as cdrs_router
from chargeledger.api.ocpi.commands import router as commands_router
from chargeledger.api.ocpi.modules import router as modules_router
from chargeledger.api.ocpi.registration import router as registration_router
from chargeledger.api.ocpi.sessions import router as sessions_router

OCPI_ROUTERS = (
    registration_router,
    modules_router,
    sessions_router,
    cdrs_router,
    commands_router,
)
