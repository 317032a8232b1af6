"""Fixtures the integration tests of the OCPP edge share. A module with a ``world`` of its own
(a billing world, an office world) keeps it: a module's fixture overrides this one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from tests.conftest import LoginAs
from tests.integration.ocpi_world import emsp, ocpi_client, ocpi_runtime, served
from tests.integration.ocpp_support import World, open_world

__all__ = [
    "emsp",
    "ocpi_client",
    "ocpi_runtime",
    "served",
    "world",
]  # the OCPI tests' fixtures, shared


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    """The served app with the OCPP world's catalogue: stations, tokens and a tariff."""
    async with open_world(runtime, client, login_as) as served:
        yield served
