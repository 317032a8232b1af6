"""Request bodies have a size limit (DESIGN §6, issue 11 item 3): above it the answer is 413
``payload_too_large`` and the server stops reading. The bodies here are real streams that
count how much of them the app pulled, over the real app and database."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.config import Settings
from chargeledger.domain.identity import Role
from chargeledger.errors import ConfigurationError
from tests.conftest import LoginAs
from tests.integration.test_api_catalog import site_body

MIB = 1024 * 1024
CHUNK = 64 * 1024


class CountingBody:
    """An upload of ``chunks`` chunks that counts the bytes the server pulled from it."""

    def __init__(self, chunks: int, chunk: bytes = b" " * CHUNK) -> None:
        self.chunks, self.chunk, self.pulled = chunks, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += len(self.chunk)
            yield self.chunk


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": f"the request body is larger than the {limit} bytes this endpoint takes",
        "details": {"limit_bytes": limit},
    }
    assert response.headers["connection"] == "close"
    assert response.headers["x-request-id"]


async def test_a_declared_length_above_the_limit_is_refused_unread(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The issue's case: a 400 MB unauthenticated POST. Nothing of it is read."""
    body = CountingBody(chunks=400 * MIB // CHUNK)
    headers = {"Content-Length": str(400 * MIB), "Content-Type": "application/json"}
    response = await client.post("/api/v1/sites", content=body, headers=headers)
    assert_too_large(response, runtime.settings.max_body_bytes)
    assert body.pulled == 0


async def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs
) -> None:
    admin = await login_as(Role.ADMIN)
    body = CountingBody(chunks=100)  # 6.4 MB, chunked: no Content-Length
    response = await client.post(
        "/api/v1/sites", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    limit = runtime.settings.max_body_bytes
    assert_too_large(response, limit)
    assert body.pulled <= limit + CHUNK  # the chunk that passed the limit, and no more
    assert (await client.get("/api/v1/sites", headers=admin)).json()["items"] == []


async def test_a_lying_content_length_does_not_lift_the_limit(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs
) -> None:
    admin = await login_as(Role.ADMIN)
    body = CountingBody(chunks=100)
    headers = {**admin, "Content-Length": "120", "Content-Type": "application/json"}
    response = await client.post("/api/v1/sites", content=body, headers=headers)
    assert_too_large(response, runtime.settings.max_body_bytes)
    assert body.pulled <= runtime.settings.max_body_bytes + CHUNK


async def test_the_limit_is_a_setting_and_a_route_may_declare_its_own(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs
) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, max_body_bytes=2000)
    admin = await login_as(Role.ADMIN)
    small = site_body()
    created = await client.post("/api/v1/sites", json=small, headers=admin)
    assert created.status_code == 201, created.text
    padded = site_body("Depot Süd", operator_name="x" * 2500)
    assert_too_large(await client.post("/api/v1/sites", json=padded, headers=admin), 2000)

    # The webhook route takes up to 256 KiB whatever the default: 100 kB is read (and then
    # refused for its missing signature), 300 kB is not.
    event = json.dumps({"id": "evt_pad", "type": "x", "created": 0, "pad": "x" * 100_000})
    read = await client.post("/api/v1/webhooks/sandbox", content=event)
    assert read.status_code == 400, read.text
    event = json.dumps({"id": "evt_big", "type": "x", "created": 0, "pad": "x" * 300_000})
    assert_too_large(await client.post("/api/v1/webhooks/sandbox", content=event), 256 * 1024)


def test_the_setting_is_read_from_the_environment() -> None:
    env = {"CHARGELEDGER_DATA_DIR": "/tmp/unused"}
    assert Settings.from_env(env).max_body_bytes == MIB
    assert Settings.from_env({**env, "CHARGELEDGER_MAX_BODY_BYTES": "4096"}).max_body_bytes == 4096
    for bad in ("0", "-1", "1MB"):
        with pytest.raises(ConfigurationError, match="MAX_BODY_BYTES"):
            Settings.from_env({**env, "CHARGELEDGER_MAX_BODY_BYTES": bad})
